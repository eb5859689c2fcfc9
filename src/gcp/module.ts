/**
 * @module gcp/module
 * The Google-compatible endpoints, on both listeners:
 * - `POST /v1/token` — STS token exchange; `POST /v1/introspect` — RFC 7662 introspection (gcloud's
 *   `token_info_url`); gcloud's Basic client authentication is accepted and ignored.
 * - `POST /v1/projects/-/serviceAccounts/{sa}:generateAccessToken` and `:generateIdToken`; `:getIamPolicy`.
 * - `GET /v1/projects/{numberOrId}` — the Resource Manager answer node's client may look up.
 * - `GET|POST /tokeninfo` — Google's OAuth token info for our tokens.
 * - `/google/.well-known/openid-configuration` and `/google/oauth2/v3/certs` — to verify generated ID tokens.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AuditEvent } from '../audit/types.ts'
import { publishedKeys } from '../keys/store.ts'
import type { AppContext } from '../app/context.ts'
import type { ProtocolModule } from '../app/module.ts'
import { gcpConfigSection } from './config.ts'
import { gcpMigrations } from './migrations.ts'
import { GoogleApiError, GoogleStsError } from './errors.ts'
import { generateAccessToken, generateIdToken } from './iamcredentials.ts'
import { getBindings, getProject, getServiceAccount } from './repo.ts'
import { exchangeToken, type StsSuccess } from './sts.ts'
import { GOOGLE_ID_TOKEN_ISSUER, verifyActiveGoogleToken } from './tokens.ts'

export const STS_EVENT_SOURCE = 'sts.googleapis.com'
const MAX_BODY_BYTES = 64 * 1024
export const IAM_CREDENTIALS_EVENT_SOURCE = 'iamcredentials.googleapis.com'

/** Form or JSON body as string fields (Google STS accepts both encodings). */
async function readParams(c: Context): Promise<Record<string, string>> {
  const type = (c.req.header('content-type') ?? '').toLowerCase()
  const text = await c.req.text()
  const out: Record<string, string> = {}
  if (type.startsWith('application/json')) {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) {
          if (typeof v === 'string') out[k] = v
          // RFC 8693 JSON bodies carry `options` as an object; keep it as text.
          else if (typeof v === 'object' && v !== null) out[k] = JSON.stringify(v)
        }
      }
    } catch {
      throw new GoogleStsError('invalid_request', 'Invalid JSON payload received.')
    }
    return out
  }
  for (const [k, v] of new URLSearchParams(text)) if (!(k in out)) out[k] = v
  return out
}

async function readJson(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new GoogleApiError('INVALID_ARGUMENT', 'Invalid JSON payload received.')
}

function sourceIp(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress ?? '127.0.0.1'
}

function baseEvent(
  ctx: AppContext,
  c: Context,
  source: string,
  name: string,
  requestId: string,
): AuditEvent {
  return {
    eventVersion: '1.08',
    eventTime: ctx
      .now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z'),
    eventSource: source,
    eventName: name,
    awsRegion: ctx.settings.region,
    sourceIPAddress: sourceIp(c),
    userAgent: c.req.header('user-agent') ?? '',
    userIdentity: { type: 'WebIdentityUser' },
    requestParameters: null,
    responseElements: null,
    requestID: requestId,
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    additionalEventData: { cloud: 'gcp' },
  }
}

function stsAudit(
  ctx: AppContext,
  c: Context,
  form: Record<string, string>,
  requestId: string,
  outcome: { success: StsSuccess } | { error: GoogleStsError },
): AuditEvent {
  const event = baseEvent(ctx, c, STS_EVENT_SOURCE, 'ExchangeToken', requestId)
  event.requestParameters = {
    audience: form['audience'] ?? null,
    grantType: form['grant_type'] ?? null,
    subjectTokenType: form['subject_token_type'] ?? null,
    requestedTokenType: form['requested_token_type'] ?? null,
    scope: form['scope'] ?? null,
  }
  if ('success' in outcome) {
    const s = outcome.success
    event.userIdentity = {
      type: 'WebIdentityUser',
      principalId: s.principal,
      userName: s.identity.subject,
      identityProvider: s.provider.issuerUri,
    }
    event.responseElements = {
      principal: s.principal,
      expiresIn: s.body.expires_in,
      attributes: s.identity.attributes,
    }
  } else {
    event.errorCode = outcome.error.code
    event.errorMessage = outcome.error.message
  }
  return event
}

function stsErrorResponse(c: Context, err: GoogleStsError): Response {
  return c.json({ error: err.code, error_description: err.message }, 400)
}

function apiErrorResponse(c: Context, err: GoogleApiError): Response {
  return c.json(err.toJSON(), err.httpStatus as 400 | 401 | 403 | 404)
}

const SA_METHOD =
  /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):(generateAccessToken|generateIdToken|getIamPolicy)$/

export const gcpModule: ProtocolModule = {
  name: 'gcp',
  migrations: gcpMigrations,
  configSections: [gcpConfigSection],
  mount(app: Hono, ctx: AppContext) {
    // Subject tokens are a few KB; bounded bodies keep large posts from exhausting memory.
    const stsLimit = bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        stsErrorResponse(
          c,
          new GoogleStsError('invalid_request', 'The request body is too large.'),
        ),
    })
    const apiLimit = bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        apiErrorResponse(
          c,
          new GoogleApiError('INVALID_ARGUMENT', 'The request body is too large.'),
        ),
    })
    app.post('/v1/token', stsLimit, async (c) => {
      const requestId = randomUUID()
      let form: Record<string, string> = {}
      try {
        form = await readParams(c)
        const success = await exchangeToken(ctx, form)
        await ctx.audit.record(stsAudit(ctx, c, form, requestId, { success }))
        c.header('cache-control', 'no-store')
        return c.json(success.body)
      } catch (err) {
        if (!(err instanceof GoogleStsError)) throw err
        await ctx.audit.record(stsAudit(ctx, c, form, requestId, { error: err }))
        return stsErrorResponse(c, err)
      }
    })

    app.post('/v1/introspect', stsLimit, async (c) => {
      let form: Record<string, string>
      try {
        form = await readParams(c)
      } catch (err) {
        if (err instanceof GoogleStsError) return stsErrorResponse(c, err)
        throw err
      }
      const token = form['token']
      if (token === undefined || token === '') {
        return stsErrorResponse(
          c,
          new GoogleStsError('invalid_request', 'Missing required parameter: "token".'),
        )
      }
      const claims = await verifyActiveGoogleToken(ctx.db, token, ctx.now())
      if (claims === undefined) return c.json({ active: false })
      const username = claims.kind === 'federated' ? claims.principal : claims.email
      return c.json({
        active: true,
        username,
        sub: username,
        scope: claims.scope,
        exp: claims.exp,
        iat: claims.iat,
        token_type: 'Bearer',
        client_id: claims.kind === 'federated' ? claims.principal : claims.uniqueId,
      })
    })

    const tokenInfo = async (c: Context): Promise<Response> => {
      const fromQuery = c.req.query('access_token')
      const token =
        fromQuery ??
        (c.req.method === 'POST'
          ? (await readParams(c).catch(() => ({}) as Record<string, string>))['access_token']
          : undefined)
      const now = ctx.now()
      const claims =
        token === undefined ? undefined : await verifyActiveGoogleToken(ctx.db, token, now)
      if (claims === undefined)
        return c.json({ error: 'invalid_token', error_description: 'Invalid Value' }, 400)
      const expiresIn = Math.max(0, claims.exp - Math.floor(now.getTime() / 1000))
      if (claims.kind === 'federated') {
        return c.json({
          sub: claims.principal,
          scope: claims.scope,
          exp: String(claims.exp),
          expires_in: String(expiresIn),
          access_type: 'online',
        })
      }
      return c.json({
        azp: claims.uniqueId,
        aud: claims.uniqueId,
        sub: claims.uniqueId,
        scope: claims.scope,
        exp: String(claims.exp),
        expires_in: String(expiresIn),
        email: claims.email,
        email_verified: 'true',
        access_type: 'online',
      })
    }
    app.get('/tokeninfo', tokenInfo)
    app.post('/tokeninfo', stsLimit, tokenInfo)

    app.get('/google/.well-known/openid-configuration', (c) => {
      const origin = new URL(c.req.url).origin
      return c.json({
        issuer: `${origin}/google`,
        jwks_uri: `${origin}/google/oauth2/v3/certs`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['id_token'],
      })
    })
    app.get('/google/oauth2/v3/certs', async (c) =>
      c.json({ keys: await publishedKeys(ctx.db, GOOGLE_ID_TOKEN_ISSUER, ctx.now()) }),
    )

    app.get('/v1/projects/:project', async (c, next) => {
      const project = await getProject(ctx.db, c.req.param('project'))
      if (project === undefined) return next()
      return c.json({
        projectNumber: project.projectNumber,
        projectId: project.projectId,
        lifecycleState: 'ACTIVE',
        name: project.projectId,
        parent: { type: 'organization', id: '0' },
      })
    })

    app.post('/v1/projects/*', apiLimit, async (c, next) => {
      const match = SA_METHOD.exec(safeDecode(c.req.path))
      if (match === null) return next()
      const [, project, account, method] = match as unknown as [string, string, string, string]
      const requestId = randomUUID()
      const event = baseEvent(
        ctx,
        c,
        IAM_CREDENTIALS_EVENT_SOURCE,
        method === 'generateAccessToken'
          ? 'GenerateAccessToken'
          : method === 'generateIdToken'
            ? 'GenerateIdToken'
            : 'GetIamPolicy',
        requestId,
      )
      event.requestParameters = { name: `projects/${project}/serviceAccounts/${account}` }
      try {
        if (method === 'getIamPolicy') {
          // Read-only: the bindings the config declared (gcloud's first call of add-iam-policy-binding).
          await authenticateAny(ctx, c.req.header('authorization'))
          const sa = await getServiceAccount(ctx.db, account)
          if (sa === undefined) {
            throw new GoogleApiError('NOT_FOUND', `Unknown service account`)
          }
          return c.json({
            version: 1,
            etag: 'BwYAAAAAAAA=',
            bindings: await getBindings(ctx.db, sa.email),
          })
        }
        const body = await readJson(c)
        if (method === 'generateAccessToken') {
          const result = await generateAccessToken(ctx, {
            authorization: c.req.header('authorization'),
            project,
            account,
            body,
          })
          event.userIdentity = {
            type: 'WebIdentityUser',
            principalId: result.caller.principal,
            userName: result.caller.subject,
          }
          event.requestParameters['lifetime'] = `${result.lifetime}s`
          event.responseElements = {
            serviceAccount: result.serviceAccount.email,
            expireTime: result.body.expireTime,
          }
          await ctx.audit.record(event)
          return c.json(result.body)
        }
        const origin = new URL(c.req.url).origin
        const result = await generateIdToken(ctx, {
          authorization: c.req.header('authorization'),
          project,
          account,
          body,
          issuer: `${origin}/google`,
        })
        event.userIdentity = {
          type: 'WebIdentityUser',
          principalId: result.caller.principal,
          userName: result.caller.subject,
        }
        event.responseElements = { serviceAccount: result.serviceAccount.email }
        await ctx.audit.record(event)
        return c.json(result.body)
      } catch (err) {
        if (!(err instanceof GoogleApiError)) throw err
        if (method !== 'getIamPolicy') {
          event.errorCode = err.code
          event.errorMessage = err.message
          await ctx.audit.record(event)
        }
        return apiErrorResponse(c, err)
      }
    })
  },
}

async function authenticateAny(ctx: AppContext, authorization: string | undefined): Promise<void> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
  const claims =
    match === null ? undefined : await verifyActiveGoogleToken(ctx.db, match[1]!, ctx.now())
  if (claims === undefined) {
    throw new GoogleApiError('UNAUTHENTICATED', 'Request had invalid authentication credentials.')
  }
}

/** `%40` in a service-account email is legal; a malformed escape must not become a server error. */
function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
