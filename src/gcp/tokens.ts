/**
 * @module gcp/tokens
 * Google-style access tokens podtrust issues: the STS's federated token and IAM Credentials' service
 * account token. Clients treat both as opaque (`ya29.…`); inside they are JWS signed with the key-store
 * issuer `google:sts`, so checking one needs no database row per token.
 */
import { SignJWT, importJWK, jwtVerify, decodeProtectedHeader } from 'jose'
import type { JWK } from 'jose'
import {
  currentSigningKey,
  listSigningKeys,
  publishedKeys,
  rotateSigningKey,
} from '../keys/store.ts'
import type { Queryable } from '../store/db.ts'
import { getPool, getServiceAccount } from './repo.ts'

export const GOOGLE_SIGNING_ISSUER = 'google:sts'
/** ID tokens from generateIdToken: RS256 like Google's, published at /google/oauth2/v3/certs. */
export const GOOGLE_ID_TOKEN_ISSUER = 'google:id-tokens'
const TOKEN_ISSUER = 'https://sts.googleapis.com'
const FEDERATED_PREFIX = 'ya29.d.'
const SERVICE_ACCOUNT_PREFIX = 'ya29.c.'

export interface FederatedTokenClaims {
  kind: 'federated'
  /** `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S`. */
  principal: string
  projectNumber: string
  poolId: string
  providerId: string
  subject: string
  groups: string[]
  attributes: Record<string, string[]>
  scope: string
  iat: number
  exp: number
}

export interface ServiceAccountTokenClaims {
  kind: 'service_account'
  email: string
  uniqueId: string
  /** The federated principal that impersonated the service account. */
  delegate: string
  scope: string
  iat: number
  exp: number
}

export type GoogleTokenClaims = FederatedTokenClaims | ServiceAccountTokenClaims

const initialized = new WeakSet<object>()

/**
 * Access tokens are opaque to clients and only podtrust verifies them, so they use ES256, about six times
 * cheaper to sign than RSA-2048: the issuer's first key is created as ES256 (the key store's default is RS256).
 */
async function ensureAccessTokenKey(db: Queryable, now: Date): Promise<void> {
  if (initialized.has(db)) return
  if ((await listSigningKeys(db, GOOGLE_SIGNING_ISSUER)).length === 0) {
    await rotateSigningKey(db, GOOGLE_SIGNING_ISSUER, {
      now,
      alg: 'ES256',
      activationDelaySeconds: 0,
    })
  }
  initialized.add(db)
}

export async function issueGoogleToken(
  db: Queryable,
  claims: GoogleTokenClaims,
  now: Date,
): Promise<string> {
  await ensureAccessTokenKey(db, now)
  const key = await currentSigningKey(db, GOOGLE_SIGNING_ISSUER, now)
  const { iat, exp, ...rest } = claims
  const jws = await new SignJWT({ ...rest })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey)
  return (claims.kind === 'federated' ? FEDERATED_PREFIX : SERVICE_ACCOUNT_PREFIX) + jws
}

const keyCache = new Map<string, Promise<Awaited<ReturnType<typeof importJWK>>>>()

/** Verifies one of our tokens; undefined when it is not ours, tampered with or expired. */
export async function verifyGoogleToken(
  db: Queryable,
  token: string,
  now: Date,
): Promise<GoogleTokenClaims | undefined> {
  const prefix = token.startsWith(FEDERATED_PREFIX)
    ? FEDERATED_PREFIX
    : token.startsWith(SERVICE_ACCOUNT_PREFIX)
      ? SERVICE_ACCOUNT_PREFIX
      : undefined
  if (prefix === undefined) return undefined
  const jws = token.slice(prefix.length)
  try {
    const header = decodeProtectedHeader(jws)
    if (typeof header.kid !== 'string' || typeof header.alg !== 'string') return undefined
    let key = keyCache.get(header.kid)
    if (key === undefined) {
      const jwk = (await publishedKeys(db, GOOGLE_SIGNING_ISSUER, now)).find(
        (k: JWK) => k.kid === header.kid,
      )
      if (jwk === undefined) return undefined
      key = importJWK(jwk, header.alg)
      keyCache.set(header.kid, key)
    }
    const { payload } = await jwtVerify(jws, await key, {
      issuer: TOKEN_ISSUER,
      algorithms: [header.alg],
      currentDate: now,
    })
    const kind = payload['kind']
    if (kind === 'federated' && prefix === FEDERATED_PREFIX)
      return payload as unknown as FederatedTokenClaims
    if (kind === 'service_account' && prefix === SERVICE_ACCOUNT_PREFIX) {
      return payload as unknown as ServiceAccountTokenClaims
    }
    return undefined
  } catch {
    return undefined
  }
}

/**
 * `verifyGoogleToken`, plus what Google checks on use: a federated token dies with its pool (a disabled
 * or deleted pool's tokens stop working) and a service-account token with its account.
 */
export async function verifyActiveGoogleToken(
  db: Queryable,
  token: string,
  now: Date,
): Promise<GoogleTokenClaims | undefined> {
  const claims = await verifyGoogleToken(db, token, now)
  if (claims === undefined) return undefined
  if (claims.kind === 'federated') {
    const pool = await getPool(db, claims.projectNumber, claims.poolId)
    return pool === undefined || pool.disabled ? undefined : claims
  }
  const sa = await getServiceAccount(db, claims.uniqueId)
  return sa === undefined || sa.disabled ? undefined : claims
}
