/**
 * @module gcp/sts
 * Google STS `POST /v1/token` (RFC 8693 token exchange) against workload identity pools and OIDC
 * providers, as named steps: validate the grant → resolve the audience to a pool and provider → verify the
 * subject token through the one token verifier → map attributes and evaluate the condition → issue the
 * federated access token. Error codes and messages follow Google STS
 * (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token,
 * https://cloud.google.com/iam/docs/troubleshooting-workload-identity-federation); docs/gcp.md lists them.
 */
import type { AppContext } from '../app/context.ts'
import type { Queryable } from '../store/db.ts'
import { TokenError } from '../tokens/errors.ts'
import type { VerifiedToken } from '../tokens/types.ts'
import { GoogleStsError } from './errors.ts'
import {
  compileProvider,
  federate,
  parseProviderAudience,
  principalIdentifier,
  providerAudience,
  type CompiledProvider,
  type FederatedIdentity,
} from './federation.ts'
import {
  getPool,
  getProject,
  getProvider,
  parseJwks,
  type PoolRecord,
  type ProviderRecord,
} from './repo.ts'
import { issueGoogleToken, type FederatedTokenClaims } from './tokens.ts'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const SUBJECT_TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
])
const OTHER_SUBJECT_TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:saml2',
  'urn:ietf:params:aws:token-type:aws4_request',
])
/** Without a pool session duration the token lives as long as the subject token, at most one hour. */
const MAX_DEFAULT_LIFETIME = 3600
const CLOCK_SKEW = 60

export interface StsSuccess {
  body: {
    access_token: string
    issued_token_type: string
    token_type: 'Bearer'
    expires_in: number
  }
  principal: string
  identity: FederatedIdentity
  pool: PoolRecord
  provider: ProviderRecord
  subjectToken: VerifiedToken
}

const INVALID_AUDIENCE =
  'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.'
const INVALID_TARGET =
  'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.'

const compiled = new Map<string, { source: string; provider: CompiledProvider }>()

/** Providers' expressions are parsed once per distinct definition, not per exchange. */
function compiledProvider(provider: ProviderRecord): CompiledProvider {
  const key = `${provider.projectNumber}/${provider.poolId}/${provider.providerId}`
  const source = JSON.stringify([provider.attributeMapping, provider.attributeCondition ?? null])
  const hit = compiled.get(key)
  if (hit !== undefined && hit.source === source) return hit.provider
  const fresh = compileProvider(provider.attributeMapping, provider.attributeCondition)
  if (compiled.size > 1000) compiled.clear()
  compiled.set(key, { source, provider: fresh })
  return fresh
}

function param(form: Record<string, string>, name: string): string {
  const value = form[name]
  if (value === undefined || value === '') {
    throw new GoogleStsError('invalid_request', `Missing required parameter: "${name}".`)
  }
  return value
}

/** Resolves the `audience` to an enabled pool and provider (project by number, or by id as a courtesy). */
export async function resolveProvider(
  db: Queryable,
  audience: string,
): Promise<{ pool: PoolRecord; provider: ProviderRecord }> {
  const parsed = parseProviderAudience(audience)
  if (parsed === undefined) throw new GoogleStsError('invalid_request', INVALID_AUDIENCE)
  const project = await getProject(db, parsed.projectNumber)
  if (project === undefined) throw new GoogleStsError('invalid_target', INVALID_TARGET)
  const pool = await getPool(db, project.projectNumber, parsed.poolId)
  const provider = await getProvider(db, project.projectNumber, parsed.poolId, parsed.providerId)
  if (pool === undefined || provider === undefined || pool.disabled || provider.disabled) {
    throw new GoogleStsError('invalid_target', INVALID_TARGET)
  }
  return { pool, provider }
}

/** Maps the shared verifier's TokenError codes to Google STS errors. */
export function stsErrorForToken(err: TokenError, claims: Record<string, unknown>): GoogleStsError {
  switch (err.code) {
    case 'TOKEN_AUDIENCE_MISMATCH': {
      const aud = Array.isArray(claims['aud'])
        ? claims['aud'].join(',')
        : String(claims['aud'] ?? '')
      return new GoogleStsError(
        'invalid_grant',
        `The audience in ID Token [${aud}] does not match the expected audience.`,
      )
    }
    case 'TOKEN_ISSUER_MISMATCH':
      return new GoogleStsError(
        'invalid_grant',
        `The issuer in ID Token [${String(claims['iss'] ?? '')}] does not match the expected issuer.`,
      )
    case 'TOKEN_EXPIRED':
      return new GoogleStsError(
        'invalid_grant',
        `ID Token issued at ${String(claims['iat'] ?? 'unknown')} is stale to sign-in.`,
      )
    case 'TOKEN_NOT_YET_VALID':
      return new GoogleStsError('invalid_grant', 'The ID Token is not yet valid.')
    case 'ISSUER_UNREACHABLE':
    case 'ISSUER_FORBIDDEN':
      return new GoogleStsError(
        'invalid_grant',
        "Error connecting to the given credential's issuer.",
      )
    case 'TOKEN_SIGNATURE_INVALID':
    case 'TOKEN_KEY_NOT_FOUND':
    case 'TOKEN_ALG_NOT_ALLOWED':
      return new GoogleStsError('invalid_grant', 'Invalid JWT signature.')
    case 'TOKEN_MALFORMED':
      return new GoogleStsError('invalid_grant', 'Unable to parse the ID Token.')
  }
}

export function decodeClaimsUnverified(token: string): Record<string, unknown> {
  const part = token.trim().split('.')[1]
  if (part === undefined) return {}
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

export async function exchangeToken(
  ctx: AppContext,
  form: Record<string, string>,
): Promise<StsSuccess> {
  const now = ctx.now()
  const grantType = param(form, 'grant_type')
  if (grantType !== TOKEN_EXCHANGE_GRANT) {
    throw new GoogleStsError(
      'unsupported_grant_type',
      `Unsupported grant type "${grantType}". Expected "${TOKEN_EXCHANGE_GRANT}".`,
    )
  }
  const requested = form['requested_token_type']
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw new GoogleStsError(
      'invalid_request',
      `Invalid value for "requested_token_type": "${requested}". Expected "${ACCESS_TOKEN_TYPE}".`,
    )
  }
  const subjectTokenType = param(form, 'subject_token_type')
  if (!SUBJECT_TOKEN_TYPES.has(subjectTokenType)) {
    throw new GoogleStsError(
      'invalid_request',
      OTHER_SUBJECT_TOKEN_TYPES.has(subjectTokenType)
        ? `The subject token type "${subjectTokenType}" is not supported by OIDC providers.`
        : `Invalid value for "subject_token_type": "${subjectTokenType}".`,
    )
  }
  const subjectToken = param(form, 'subject_token').trim()
  const audience = param(form, 'audience')
  if (form['actor_token'] !== undefined) {
    throw new GoogleStsError('invalid_request', 'The "actor_token" parameter is not supported.')
  }
  const { pool, provider } = await resolveProvider(ctx.db, audience)
  const poolRef = { projectNumber: provider.projectNumber, poolId: provider.poolId }
  const defaultAudience = providerAudience(poolRef, provider.providerId)
  const audiences =
    provider.allowedAudiences.length > 0
      ? provider.allowedAudiences
      : [defaultAudience, `https:${defaultAudience}`]
  const jwks = parseJwks(provider.jwksJson)
  let verified: VerifiedToken
  try {
    verified = await ctx.tokens.verify(subjectToken, {
      issuer: provider.issuerUri,
      audiences,
      now,
      clockToleranceSec: CLOCK_SKEW,
      ...(jwks === undefined ? {} : { jwks }),
    })
  } catch (err) {
    if (err instanceof TokenError) throw stsErrorForToken(err, decodeClaimsUnverified(subjectToken))
    throw err
  }
  const result = federate(compiledProvider(provider), verified.claims as Record<string, unknown>)
  if (!result.ok) {
    throw new GoogleStsError(
      result.reason === 'condition_false' || result.reason === 'condition_error'
        ? 'unauthorized_client'
        : 'invalid_grant',
      result.message,
    )
  }
  const iat = Math.floor(now.getTime() / 1000)
  const subjectExp =
    typeof verified.claims.exp === 'number' ? verified.claims.exp : iat + MAX_DEFAULT_LIFETIME
  const lifetime =
    pool.sessionDurationSeconds ?? Math.max(1, Math.min(MAX_DEFAULT_LIFETIME, subjectExp - iat))
  const principal = principalIdentifier(poolRef, result.identity.subject)
  const claims: FederatedTokenClaims = {
    kind: 'federated',
    principal,
    projectNumber: provider.projectNumber,
    poolId: provider.poolId,
    providerId: provider.providerId,
    subject: result.identity.subject,
    groups: result.identity.groups,
    attributes: result.identity.attributes,
    scope: form['scope'] ?? 'https://www.googleapis.com/auth/cloud-platform',
    iat,
    exp: iat + lifetime,
  }
  const accessToken = await issueGoogleToken(ctx.db, claims, now)
  return {
    body: {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: lifetime,
    },
    principal,
    identity: result.identity,
    pool,
    provider,
    subjectToken: verified,
  }
}
