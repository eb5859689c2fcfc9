/**
 * @module azure/module
 * The Entra-compatible endpoints: per-tenant OpenID discovery and JWKS, the v2.0 token endpoint
 * (client credentials with a federated client assertion) and a harmless instance-discovery answer.
 * Clients use it over the TLS listener (@azure/identity refuses http authority hosts); URLs in discovery
 * follow the origin the client used, so `https://127.0.0.1:PORT` and `https://localhost:PORT` both work.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AuditEvent } from '../audit/types.ts'
import type { AppContext, ServerSettings } from '../app/context.ts'
import type { ProtocolModule } from '../app/module.ts'
import { azureConfigSection } from './config.ts'
import { azureMigrations } from './migrations.ts'
import { EntraError, entraErrorBody } from './errors.ts'
import {
  adfsConfiguration,
  allTenantKeys,
  exchangeClientAssertion,
  openidConfiguration,
  requireTenant,
  tenantKeys,
  type TokenSuccess,
} from './exchange.ts'

export const ENTRA_EVENT_SOURCE = 'login.microsoftonline.com'
const MAX_BODY_BYTES = 64 * 1024

/**
 * The authority clients reached us at: scheme + host (+ port), no trailing slash — but only a configured one.
 * The Host header is the client's to choose: reflected as is, it would put an attacker's host into the
 * discovery document (token endpoint, issuer) and the token's `iss`. A host that is not one of the server's
 * configured names (or a port that is not one of its listeners) gets the configured TLS (else plain) URL.
 */
export function authorityOf(c: Context, settings?: ServerSettings): string {
  const url = new URL(c.req.url)
  if (settings === undefined) return url.origin
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const ourPort = port === settings.port || port === settings.httpsPort
  if (ourPort && (settings.publicHosts ?? ['127.0.0.1', 'localhost', '::1']).includes(host))
    return url.origin
  return settings.httpsBaseUrl ?? settings.baseUrl
}

/** Form fields as strings; anything else (files) is ignored. Unknown fields are ignored, as Entra does. */
export async function readForm(c: Context): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? ''
  const out: Record<string, string> = {}
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return out
  const params = new URLSearchParams(await c.req.text())
  for (const [k, v] of params) if (!(k in out)) out[k] = v
  return out
}

function sendError(c: Context, err: EntraError, ctx: AppContext, correlationId: string): Response {
  const body = entraErrorBody(err, {
    traceId: randomUUID(),
    correlationId,
    now: ctx.now(),
    authorityHost: authorityOf(c, ctx.settings),
  })
  return c.json(body, err.status as 400 | 401)
}

function auditEvent(
  ctx: AppContext,
  c: Context,
  input: {
    tenant: string
    clientId: string | undefined
    scope: string | undefined
    requestId: string
    success?: TokenSuccess
    error?: EntraError
  },
): AuditEvent {
  const now = ctx.now()
  const assertion = input.success?.assertion
  const event: AuditEvent = {
    eventVersion: '1.08',
    eventTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: ENTRA_EVENT_SOURCE,
    eventName: 'token',
    awsRegion: ctx.settings.region,
    sourceIPAddress: sourceIp(c),
    userAgent: c.req.header('user-agent') ?? '',
    userIdentity: {
      type: 'WebIdentityUser',
      ...(assertion === undefined
        ? {}
        : {
            principalId: `${assertion.issuer}:${assertion.audience.join(',')}:${assertion.subject}`,
            userName: assertion.subject,
            identityProvider: assertion.issuer,
          }),
    },
    requestParameters: {
      tenantId: input.tenant,
      clientId: input.clientId ?? null,
      scope: input.scope ?? null,
      grantType: 'client_credentials',
    },
    responseElements:
      input.success === undefined
        ? null
        : {
            objectId: input.success.identity.objectId,
            federatedCredential: input.success.fic.name,
            resource: input.success.resource,
            expiresIn: input.success.body.expires_in,
          },
    requestID: input.requestId,
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    additionalEventData: { cloud: 'azure' },
  }
  if (input.error !== undefined) {
    event.errorCode = `AADSTS${input.error.aadsts}`
    event.errorMessage = input.error.message
  }
  return event
}

function sourceIp(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress ?? '127.0.0.1'
}

export const azureModule: ProtocolModule = {
  name: 'azure',
  migrations: azureMigrations,
  configSections: [azureConfigSection],
  mount(app: Hono, ctx: AppContext) {
    app.get('/common/discovery/instance', (c) => {
      // Real MSAL never asks us (it asks login.microsoftonline.com), but answering like Entra is harmless.
      const host = new URL(authorityOf(c, ctx.settings)).host
      return c.json({
        tenant_discovery_endpoint: `${authorityOf(c, ctx.settings)}/{tenant}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      })
    })

    app.get('/adfs/.well-known/openid-configuration', (c) =>
      c.json(adfsConfiguration(authorityOf(c, ctx.settings))),
    )
    app.get('/adfs/discovery/keys', async (c) =>
      c.json({ keys: await allTenantKeys(ctx.db, ctx.now()) }),
    )

    app.get('/:tenant/v2.0/.well-known/openid-configuration', async (c) => {
      const tenant = c.req.param('tenant')
      try {
        const tenantId = await requireTenant(ctx.db, tenant)
        return c.json(openidConfiguration(authorityOf(c, ctx.settings), tenantId))
      } catch (err) {
        if (err instanceof EntraError) return sendError(c, err, ctx, randomUUID())
        throw err
      }
    })

    app.get('/:tenant/discovery/v2.0/keys', async (c) => {
      const tenant = c.req.param('tenant')
      try {
        const tenantId = await requireTenant(ctx.db, tenant)
        return c.json({ keys: await tenantKeys(ctx.db, tenantId, ctx.now()) })
      } catch (err) {
        if (err instanceof EntraError) return sendError(c, err, ctx, randomUUID())
        throw err
      }
    })

    // Assertions are a few KB; a bounded body keeps a flood of large posts from exhausting memory.
    const limit = bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        sendError(c, new EntraError(900144, 'The request body is too large.'), ctx, randomUUID()),
    })
    app.post('/:tenant/oauth2/v2.0/token', limit, async (c) => {
      const tenant = c.req.param('tenant')
      const form = await readForm(c)
      const correlationId =
        c.req.query('client-request-id') ?? c.req.header('client-request-id') ?? randomUUID()
      const base = {
        tenant,
        clientId: form['client_id'],
        scope: form['scope'],
        requestId: correlationId,
      }
      try {
        const success = await exchangeClientAssertion(
          ctx,
          { tenant, form },
          authorityOf(c, ctx.settings),
        )
        await ctx.audit.record(auditEvent(ctx, c, { ...base, success }))
        c.header('cache-control', 'no-store, no-cache')
        c.header('client-request-id', correlationId)
        return c.json(success.body)
      } catch (err) {
        if (!(err instanceof EntraError)) throw err
        await ctx.audit.record(auditEvent(ctx, c, { ...base, error: err }))
        return sendError(c, err, ctx, correlationId)
      }
    })
  },
}
