/**
 * @module gcp/iamcredentials
 * IAM Credentials `generateAccessToken` (service account impersonation by a federated principal) and
 * `generateIdToken`. The caller's Bearer token must be a federated token from our STS; the target
 * service account must grant the principal `roles/iam.workloadIdentityUser` (or
 * `roles/iam.serviceAccountTokenCreator`, which carries the same permission) through a `principal://` or
 * `principalSet://` member. Errors use Google's API envelope
 * (https://cloud.google.com/apis/design/errors).
 */
import { SignJWT } from 'jose'
import { currentSigningKey } from '../keys/store.ts'
import type { AppContext } from '../app/context.ts'
import { GoogleApiError } from './errors.ts'
import { memberMatches } from './federation.ts'
import { getBindings, getServiceAccount, type ServiceAccountRecord } from './repo.ts'
import {
  GOOGLE_ID_TOKEN_ISSUER,
  issueGoogleToken,
  verifyActiveGoogleToken,
  type FederatedTokenClaims,
} from './tokens.ts'

export const GET_ACCESS_TOKEN_PERMISSION = 'iam.serviceAccounts.getAccessToken'
export const GET_OPENID_TOKEN_PERMISSION = 'iam.serviceAccounts.getOpenIdToken'
/** Roles that grant the impersonation permissions (a subset of Google's predefined roles). */
const ROLE_PERMISSIONS: Record<string, readonly string[]> = {
  'roles/iam.workloadIdentityUser': [GET_ACCESS_TOKEN_PERMISSION, GET_OPENID_TOKEN_PERMISSION],
  'roles/iam.serviceAccountTokenCreator': [
    GET_ACCESS_TOKEN_PERMISSION,
    GET_OPENID_TOKEN_PERMISSION,
  ],
  'roles/iam.serviceAccountOpenIdTokenCreator': [GET_OPENID_TOKEN_PERMISSION],
}
const DEFAULT_LIFETIME = 3600
/** Without the org policy constraint that extends it, Google caps the lifetime at one hour. */
const MAX_LIFETIME = 3600

/** `2026-11-23T01:13:01Z`: whole seconds, as python google-auth requires. */
export function googleTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

function denied(permission: string): GoogleApiError {
  return new GoogleApiError(
    'PERMISSION_DENIED',
    `Permission '${permission}' denied on resource (or it may not exist).`,
    {
      reason: 'IAM_PERMISSION_DENIED',
      metadata: { permission },
    },
  )
}

export async function authenticateFederated(
  ctx: AppContext,
  authorization: string | undefined,
): Promise<FederatedTokenClaims> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
  const claims =
    match === null ? undefined : await verifyActiveGoogleToken(ctx.db, match[1]!, ctx.now())
  if (claims === undefined || claims.kind !== 'federated') {
    throw new GoogleApiError(
      'UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      { reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED' },
    )
  }
  return claims
}

/** Finds the service account and checks `permission` for the federated caller. */
export async function authorizeImpersonation(
  ctx: AppContext,
  caller: FederatedTokenClaims,
  project: string,
  account: string,
  permission: string,
): Promise<ServiceAccountRecord> {
  const sa = await getServiceAccount(ctx.db, account)
  // An unknown account is indistinguishable from a denied one, as at Google.
  if (sa === undefined || (project !== '-' && project !== sa.projectId)) throw denied(permission)
  const pool = { projectNumber: caller.projectNumber, poolId: caller.poolId }
  const identity = { subject: caller.subject, groups: caller.groups, attributes: caller.attributes }
  const bindings = await getBindings(ctx.db, sa.email)
  const allowed = bindings.some(
    (b) =>
      (ROLE_PERMISSIONS[b.role] ?? []).includes(permission) &&
      b.members.some((m) => memberMatches(m, pool, identity)),
  )
  if (!allowed) throw denied(permission)
  if (sa.disabled) {
    throw new GoogleApiError('PERMISSION_DENIED', `Service account ${sa.email} is disabled.`, {
      reason: 'IAM_PERMISSION_DENIED',
      metadata: { permission },
    })
  }
  return sa
}

export function parseLifetime(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_LIFETIME
  const m = typeof value === 'string' ? /^(\d+)(?:\.\d+)?s$/.exec(value) : null
  if (m === null)
    throw new GoogleApiError(
      'INVALID_ARGUMENT',
      `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), "${String(value)}"`,
    )
  const seconds = Number(m[1])
  if (seconds < 1 || seconds > MAX_LIFETIME) {
    throw new GoogleApiError(
      'INVALID_ARGUMENT',
      `The lifetime must be between 1s and ${MAX_LIFETIME}s.`,
    )
  }
  return seconds
}

function checkDelegates(value: unknown): void {
  if (value === undefined || value === null) return
  if (!Array.isArray(value))
    throw new GoogleApiError('INVALID_ARGUMENT', "Invalid value at 'delegates'")
  if (value.length > 0) {
    throw new GoogleApiError(
      'INVALID_ARGUMENT',
      'Delegation chains are not supported by this server.',
    )
  }
}

export interface GenerateAccessTokenResult {
  body: { accessToken: string; expireTime: string }
  serviceAccount: ServiceAccountRecord
  caller: FederatedTokenClaims
  lifetime: number
}

export async function generateAccessToken(
  ctx: AppContext,
  input: {
    authorization: string | undefined
    project: string
    account: string
    body: Record<string, unknown>
  },
): Promise<GenerateAccessTokenResult> {
  const caller = await authenticateFederated(ctx, input.authorization)
  const sa = await authorizeImpersonation(
    ctx,
    caller,
    input.project,
    input.account,
    GET_ACCESS_TOKEN_PERMISSION,
  )
  const scope = input.body['scope']
  if (
    !Array.isArray(scope) ||
    scope.length === 0 ||
    !scope.every((s) => typeof s === 'string' && s !== '')
  ) {
    throw new GoogleApiError('INVALID_ARGUMENT', 'Scope required.')
  }
  checkDelegates(input.body['delegates'])
  const lifetime = parseLifetime(input.body['lifetime'])
  const now = ctx.now()
  const iat = Math.floor(now.getTime() / 1000)
  const accessToken = await issueGoogleToken(
    ctx.db,
    {
      kind: 'service_account',
      email: sa.email,
      uniqueId: sa.uniqueId,
      delegate: caller.principal,
      scope: (scope as string[]).join(' '),
      iat,
      exp: iat + lifetime,
    },
    now,
  )
  return {
    body: { accessToken, expireTime: googleTimestamp(new Date((iat + lifetime) * 1000)) },
    serviceAccount: sa,
    caller,
    lifetime,
  }
}

export async function generateIdToken(
  ctx: AppContext,
  input: {
    authorization: string | undefined
    project: string
    account: string
    body: Record<string, unknown>
    issuer: string
  },
): Promise<{
  body: { token: string }
  serviceAccount: ServiceAccountRecord
  caller: FederatedTokenClaims
}> {
  const caller = await authenticateFederated(ctx, input.authorization)
  const sa = await authorizeImpersonation(
    ctx,
    caller,
    input.project,
    input.account,
    GET_OPENID_TOKEN_PERMISSION,
  )
  const audience = input.body['audience']
  if (typeof audience !== 'string' || audience === '') {
    throw new GoogleApiError('INVALID_ARGUMENT', 'Audience required.')
  }
  checkDelegates(input.body['delegates'])
  const now = ctx.now()
  const key = await currentSigningKey(ctx.db, GOOGLE_ID_TOKEN_ISSUER, now)
  const iat = Math.floor(now.getTime() / 1000)
  const claims: Record<string, unknown> = { azp: sa.uniqueId, sub: sa.uniqueId }
  if (input.body['includeEmail'] === true) {
    claims['email'] = sa.email
    claims['email_verified'] = true
  }
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(input.issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key.privateKey)
  return { body: { token }, serviceAccount: sa, caller }
}
