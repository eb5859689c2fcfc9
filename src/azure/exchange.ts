/**
 * @module azure/exchange
 * The Entra client-credentials exchange with a federated (jwt-bearer) client assertion, as named steps:
 * parse the form → find tenant and client → FICs for the assertion's issuer → verify the assertion through
 * the one token verifier → match subject and audience → resource from scope → sign the access token.
 * Every failure is an `EntraError` with Entra's AADSTS code
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes; docs/azure.md).
 */
import { randomUUID } from 'node:crypto'
import { decodeJwt, SignJWT } from 'jose'
import { currentSigningKey, publishedKeys } from '../keys/store.ts'
import type { AppContext } from '../app/context.ts'
import type { Queryable } from '../store/db.ts'
import { TokenError } from '../tokens/errors.ts'
import type { VerifiedToken } from '../tokens/types.ts'
import { EntraError } from './errors.ts'
import { ficsForIssuer, matchFederatedCredential, type FederatedCredential } from './fic.ts'
import {
  findIdentitiesByClientId,
  getIdentity,
  getTenant,
  listFederatedCredentials,
  listTenants,
  type IdentityRecord,
} from './repo.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/**
 * Entra app tokens live 60–90 minutes; `expires_in` 3599 is what real Entra answers
 * (https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes).
 */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3599
/** Seconds of clock skew tolerated on the assertion's exp/nbf (Entra allows about five minutes). */
const ASSERTION_CLOCK_SKEW = 300

/** The key-store issuer name under which a tenant's access-token signing keys live. */
export function signingIssuer(tenantId: string): string {
  return `entra:${tenantId.toLowerCase()}`
}

export interface TokenRequest {
  tenant: string
  form: Record<string, string>
}

export interface TokenSuccess {
  body: { token_type: 'Bearer'; expires_in: number; ext_expires_in: number; access_token: string }
  identity: IdentityRecord
  fic: FederatedCredential
  assertion: VerifiedToken
  resource: string
}

/**
 * The discovery document of a tenant: MSAL requires all four endpoint keys
 * (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
 */
export function openidConfiguration(authority: string, tenant: string): Record<string, unknown> {
  const base = `${authority}/${tenant}`
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${authority}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'nbf',
      'tid',
      'oid',
      'azp',
      'azpacr',
      'ver',
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'podtrust.local',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  }
}

/**
 * The `adfs` authority: MSAL skips instance discovery for it, so env-only `WorkloadIdentityCredential`
 * (AZURE_TENANT_ID=adfs) works without code changes
 * (https://learn.microsoft.com/entra/identity-platform/msal-client-application-configuration). It carries no tenant:
 * the client id must be unique across tenants.
 */
export const ADFS = 'adfs'

async function identityForAdfs(
  db: Queryable,
  clientId: string,
): Promise<IdentityRecord | undefined> {
  const found = await findIdentitiesByClientId(db, clientId)
  if (found.length > 1) {
    throw new EntraError(
      700016,
      `Application with identifier '${clientId}' exists in several tenants; use the tenant authority instead of '${ADFS}'.`,
    )
  }
  return found[0]
}

/** ADFS-style discovery: endpoints under `/adfs`, keys of every tenant (tokens name their tenant in `tid`). */
export function adfsConfiguration(authority: string): Record<string, unknown> {
  const base = `${authority}/${ADFS}`
  return {
    issuer: base,
    authorization_endpoint: `${base}/oauth2/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `${base}/discovery/keys`,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token'],
    subject_types_supported: ['pairwise'],
    scopes_supported: ['openid'],
  }
}

export async function allTenantKeys(db: Queryable, now: Date): Promise<unknown[]> {
  const keys: unknown[] = []
  for (const tenant of await listTenants(db))
    keys.push(...(await tenantKeys(db, tenant.tenantId, now)))
  return keys
}

/** Resolves the tenant or throws AADSTS90002 (what Entra answers for unknown tenants). */
export async function requireTenant(db: Queryable, tenant: string): Promise<string> {
  const record = await getTenant(db, tenant)
  if (record === undefined) {
    throw new EntraError(
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    )
  }
  return record.tenantId
}

export async function tenantKeys(db: Queryable, tenantId: string, now: Date): Promise<unknown[]> {
  // Creates the tenant's first key on demand, so the JWKS is never empty.
  await currentSigningKey(db, signingIssuer(tenantId), now)
  return publishedKeys(db, signingIssuer(tenantId), now)
}

function required(form: Record<string, string>, name: string): string {
  const value = form[name]
  if (value === undefined || value === '') {
    throw new EntraError(
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    )
  }
  return value
}

/**
 * `https://storage.azure.com/.default` → `https://storage.azure.com`; the OIDC scopes MSAL may add are
 * ignored. Client credentials need exactly one resource's `/.default` (AADSTS1002012 otherwise).
 */
export function resourceFromScope(scope: string): string {
  const scopes = scope
    .split(' ')
    .filter((s) => s !== '' && !['openid', 'profile', 'offline_access', 'email'].includes(s))
  const defaults = scopes.filter((s) => s.endsWith('/.default'))
  if (scopes.length !== 1 || defaults.length !== 1) {
    throw new EntraError(
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    )
  }
  const resource = defaults[0]!.slice(0, -'/.default'.length)
  if (resource === '')
    throw new EntraError(70011, `The provided value for the input parameter 'scope' is not valid.`)
  return resource
}

function formatEntraTime(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
}

/** Maps the shared verifier's TokenError codes to Entra's (the table in errors.ts). */
export function entraErrorForToken(
  err: TokenError,
  now: Date,
  claims: { nbf?: number; exp?: number },
): EntraError {
  switch (err.code) {
    case 'TOKEN_EXPIRED':
    case 'TOKEN_NOT_YET_VALID': {
      const from =
        claims.nbf === undefined ? 'unknown' : formatEntraTime(new Date(claims.nbf * 1000))
      const to = claims.exp === undefined ? 'unknown' : formatEntraTime(new Date(claims.exp * 1000))
      return new EntraError(
        700024,
        `Client assertion is not within its valid time range. Current time: ${formatEntraTime(now)}, assertion valid from ${from}, expiry time of assertion ${to}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`,
      )
    }
    case 'ISSUER_UNREACHABLE':
    case 'ISSUER_FORBIDDEN':
      return new EntraError(
        90061,
        'Request to External OIDC endpoint failed. The issuer discovery document or its signing keys could not be retrieved.',
      )
    case 'TOKEN_SIGNATURE_INVALID':
    case 'TOKEN_KEY_NOT_FOUND':
    case 'TOKEN_ALG_NOT_ALLOWED':
      return new EntraError(700027, 'Client assertion failed signature validation.')
    case 'TOKEN_MALFORMED':
    case 'TOKEN_ISSUER_MISMATCH':
    case 'TOKEN_AUDIENCE_MISMATCH':
      return new EntraError(50027, 'JWT token is invalid or malformed.')
  }
}

/**
 * Runs the exchange. `authority` is the public base URL clients used (`https://host:port`), which becomes
 * the access token's issuer prefix, matching the tenant's discovery document.
 */
export async function exchangeClientAssertion(
  ctx: AppContext,
  request: TokenRequest,
  authority: string,
): Promise<TokenSuccess> {
  const now = ctx.now()
  const form = request.form
  const adfs = request.tenant.toLowerCase() === ADFS
  const tenantId = adfs ? undefined : await requireTenant(ctx.db, request.tenant)
  const grantType = required(form, 'grant_type')
  if (grantType !== 'client_credentials') {
    throw new EntraError(70003, `The app requested an unsupported grant type '${grantType}'.`)
  }
  const clientId = required(form, 'client_id').toLowerCase()
  const scope = required(form, 'scope')
  if (form['client_assertion'] === undefined && form['client_secret'] === undefined) {
    throw new EntraError(
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )
  }
  if (form['client_assertion'] === undefined) {
    throw new EntraError(
      7000215,
      'Invalid client secret provided. This directory accepts only federated client assertions.',
    )
  }
  const assertionType = required(form, 'client_assertion_type')
  if (assertionType !== JWT_BEARER) {
    throw new EntraError(
      50027,
      `Invalid client_assertion_type '${assertionType}'. Expected '${JWT_BEARER}'.`,
    )
  }
  const resource = resourceFromScope(scope)
  const identity =
    tenantId === undefined
      ? await identityForAdfs(ctx.db, clientId)
      : await getIdentity(ctx.db, tenantId, clientId)
  if (identity === undefined) {
    throw new EntraError(
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenantId ?? ADFS}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    )
  }
  const fics = await listFederatedCredentials(ctx.db, identity.tenantId, clientId)
  if (fics.length === 0) {
    throw new EntraError(
      70025,
      `The client '${clientId}'(${identity.name}) has no configured federated identity credentials.`,
    )
  }
  const rawAssertion = form['client_assertion']!.trim()
  let unverified: { iss?: unknown; nbf?: unknown; exp?: unknown }
  try {
    unverified = decodeJwt(rawAssertion)
  } catch {
    throw new EntraError(50027, 'JWT token is invalid or malformed.')
  }
  if (typeof unverified.iss !== 'string')
    throw new EntraError(50027, 'JWT token is invalid or malformed.')
  const candidates = ficsForIssuer(fics, unverified.iss)
  let assertion: VerifiedToken
  try {
    assertion = await ctx.tokens.verify(rawAssertion, {
      issuer: unverified.iss,
      now,
      clockToleranceSec: ASSERTION_CLOCK_SKEW,
    })
  } catch (err) {
    if (err instanceof TokenError) {
      throw entraErrorForToken(err, now, {
        ...(typeof unverified.nbf === 'number' ? { nbf: unverified.nbf } : {}),
        ...(typeof unverified.exp === 'number' ? { exp: unverified.exp } : {}),
      })
    }
    throw err
  }
  const fic = matchFederatedCredential(candidates, {
    issuer: assertion.issuer,
    subject: assertion.subject,
    audience: assertion.audience,
    claims: assertion.claims as Record<string, unknown>,
  })
  const accessToken = await signAccessToken(ctx.db, {
    authority,
    tenantId: identity.tenantId,
    identity,
    resource,
    now,
    uti: randomUUID(),
  })
  return {
    body: {
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      access_token: accessToken,
    },
    identity,
    fic,
    assertion,
    resource,
  }
}

/**
 * An app-only v2.0 access token with Entra's claims
 * (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference), signed with the
 * tenant's key.
 */
export async function signAccessToken(
  db: Queryable,
  input: {
    authority: string
    tenantId: string
    identity: IdentityRecord
    resource: string
    now: Date
    uti: string
  },
): Promise<string> {
  const key = await currentSigningKey(db, signingIssuer(input.tenantId), input.now)
  const iat = Math.floor(input.now.getTime() / 1000)
  const claims: Record<string, unknown> = {
    aud: input.resource,
    iss: `${input.authority}/${input.tenantId}/v2.0`,
    iat,
    nbf: iat,
    exp: iat + ACCESS_TOKEN_LIFETIME_SECONDS + 1,
    idp: `${input.authority}/${input.tenantId}/v2.0`,
    oid: input.identity.objectId,
    sub: input.identity.objectId,
    tid: input.tenantId,
    azp: input.identity.clientId,
    azpacr: '2',
    appid: input.identity.clientId,
    appidacr: '2',
    idtyp: 'app',
    ver: '2.0',
    uti: input.uti.replace(/-/g, '').slice(0, 22),
  }
  if (input.identity.kind === 'userAssignedIdentity') {
    claims['xms_mirid'] =
      `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/podtrust/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${input.identity.name}`
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey)
}
