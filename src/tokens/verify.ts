/**
 * @module tokens/verify
 * The one verification path every token exchange uses (STS, EKS Auth, Entra, Google STS). Issuers this
 * podtrust serves are verified in-process from the key store, without HTTP; others through discovery + JWKS
 * (see remote.ts). Algorithms are pinned: the header's `alg` must be an allowed asymmetric algorithm, and
 * must agree with the selected key's `alg` and type, so a public key can never be used as an HMAC secret.
 */
import type { JWK, JSONWebKeySet, JWTPayload } from 'jose'
import { decodeCompactJws } from './decode.ts'
import { publishedKeys } from '../keys/store.ts'
import type { Db } from '../store/db.ts'
import { TokenError } from './errors.ts'
import { getIssuerByUrl } from './issuer.ts'
import { JwsKeyError, publicKeyFor, verifyCompactSignature } from './jws.ts'
import type { JwsAlgorithm } from './jws.ts'
import { createRemoteKeySource } from './remote.ts'
import type { RemoteOptions } from './remote.ts'
import { ALLOWED_TOKEN_ALGORITHMS } from './types.ts'
import type { TokenVerifier, VerifiedToken, VerifyOptions } from './types.ts'

export interface TokenVerifierOptions {
  db: Db
  now: () => Date
  /** Dev only: fetch issuers on loopback over plain http. */
  allowHttpLoopback?: boolean
  /** Fetch issuers on private, CGNAT and link-local addresses. */
  allowPrivateNetworks?: boolean
  fetch?: typeof fetch
  /** Bounds and cache tuning for remote issuers (see RemoteOptions). */
  remote?: Partial<
    Omit<RemoteOptions, 'now' | 'fetch' | 'allowHttpLoopback' | 'allowPrivateNetworks'>
  >
}

/** How long the local issuers' key sets are reused; a removed key or issuer stops verifying within it. */
const LOCAL_KEYS_TTL_MS = 1000
/** An unknown kid re-reads the store at most this often per issuer. */
const LOCAL_REFRESH_MIN_MS = 50
const MAX_LOCAL_CACHE = 256

const KTY_FOR_ALG: Record<string, string> = { RS: 'RSA', ES: 'EC' }
const CRV_FOR_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

function malformed(message: string, cause?: unknown): TokenError {
  return new TokenError('TOKEN_MALFORMED', message, cause === undefined ? {} : { cause })
}

/**
 * @example
 * const verifier = createTokenVerifier({ db, now: () => new Date() })
 * const v = await verifier.verify(jwt, { issuer: 'https://127.0.0.1:7443', audiences: ['sts.amazonaws.com'], now: new Date() })
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const remote = createRemoteKeySource({
    ...options.remote,
    now: options.now,
    allowHttpLoopback: options.allowHttpLoopback ?? false,
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  })

  // The keys of issuers this podtrust serves, read from the store at most once per LOCAL_KEYS_TTL_MS (and
  // per clock second, so an injected clock that jumps sees keys expire); undefined marks a remote issuer.
  const localCache = new Map<string, { jwks: JSONWebKeySet | undefined; at: number; now: number }>()
  const localKeys = async (
    issuerUrl: string,
    now: Date,
    refresh: boolean,
  ): Promise<JSONWebKeySet | undefined> => {
    const hit = localCache.get(issuerUrl)
    const age = performance.now() - (hit?.at ?? -Infinity)
    if (
      hit !== undefined &&
      Math.abs(hit.now - now.getTime()) < 1000 &&
      age < (refresh ? LOCAL_REFRESH_MIN_MS : LOCAL_KEYS_TTL_MS)
    ) {
      return hit.jwks
    }
    const local = await getIssuerByUrl(options.db, issuerUrl)
    const jwks =
      local === undefined ? undefined : { keys: await publishedKeys(options.db, local.name, now) }
    if (localCache.size >= MAX_LOCAL_CACHE) localCache.clear()
    localCache.set(issuerUrl, { jwks, at: performance.now(), now: now.getTime() })
    return jwks
  }

  return {
    async verify(rawToken: string, opts: VerifyOptions): Promise<VerifiedToken> {
      // SDKs read the token file verbatim; a trailing newline is not part of the JWT.
      const token = rawToken.trim()
      // Decoded once per exchange: the caller's decode is reused only for this very token.
      const { header, payload } =
        opts.decoded !== undefined && opts.decoded.token === token
          ? opts.decoded
          : decodeCompactJws(token)
      const alg = header.alg
      if (
        typeof alg !== 'string' ||
        !(ALLOWED_TOKEN_ALGORITHMS as readonly string[]).includes(alg)
      ) {
        throw new TokenError(
          'TOKEN_ALG_NOT_ALLOWED',
          `token algorithm \`${String(alg)}\` is not allowed`,
        )
      }
      if (header.crit !== undefined)
        throw malformed('token header has unsupported `crit` parameters')
      if (payload.iss !== opts.issuer) {
        throw new TokenError(
          'TOKEN_ISSUER_MISMATCH',
          `"iss" claim does not match issuer \`${opts.issuer}\``,
          {
            claim: 'iss',
            reason: payload.iss === undefined ? 'missing' : 'invalid',
          },
        )
      }
      const kid = typeof header.kid === 'string' ? header.kid : undefined

      // Where the keys come from: uploaded with the registration, this podtrust's store, or the issuer's
      // discovery. A kid missing from a cached set re-reads it once (rate-limited by each source).
      const caBundle = opts.caBundle === undefined ? {} : { caBundle: opts.caBundle }
      const uploaded = opts.jwks
      const local =
        uploaded === undefined ? await localKeys(opts.issuer, opts.now, false) : undefined
      const keysOf = async (refresh: boolean): Promise<JSONWebKeySet> =>
        uploaded ??
        (local !== undefined
          ? refresh
            ? ((await localKeys(opts.issuer, opts.now, true)) ?? local)
            : local
          : remote.getKeys(opts.issuer, refresh ? { refresh: true, ...caBundle } : caBundle))
      let jwk = selectKey(await keysOf(false), kid)
      if (jwk === undefined && kid !== undefined && uploaded === undefined) {
        jwk = selectKey(await keysOf(true), kid)
      }
      if (jwk === undefined) {
        throw new TokenError(
          'TOKEN_KEY_NOT_FOUND',
          kid === undefined
            ? 'token has no `kid` and the issuer has several keys'
            : `no key \`${kid}\` in the issuer's JWKS`,
        )
      }
      checkKeyMatchesAlg(jwk, alg)
      let key: ReturnType<typeof publicKeyFor>
      try {
        key = publicKeyFor(jwk, alg as JwsAlgorithm)
      } catch (e) {
        if (!(e instanceof JwsKeyError)) throw e
        throw new TokenError('TOKEN_KEY_NOT_FOUND', `issuer key \`${kid ?? ''}\` cannot be used`, {
          cause: e,
        })
      }
      if (!verifyCompactSignature(token, key, alg as JwsAlgorithm)) {
        throw new TokenError('TOKEN_SIGNATURE_INVALID', 'token signature is invalid')
      }
      validateClaims(payload, opts)
      const claims = payload
      if (typeof claims.sub !== 'string' || claims.sub === '') {
        throw new TokenError('TOKEN_MALFORMED', 'missing required "sub" claim', {
          claim: 'sub',
          reason: 'missing',
        })
      }
      const aud =
        claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      return { issuer: opts.issuer, subject: claims.sub, audience: aud, alg, kid, claims }
    },
  }
}

function selectKey(jwks: JSONWebKeySet, kid: string | undefined): JWK | undefined {
  const sigKeys = jwks.keys.filter((k) => k.use === undefined || k.use === 'sig')
  if (kid !== undefined) return sigKeys.find((k) => k.kid === kid)
  // No kid: only an issuer with exactly one key is unambiguous (what AWS accepts, per observed behaviour).
  return sigKeys.length === 1 ? sigKeys[0] : undefined
}

function checkKeyMatchesAlg(jwk: JWK, alg: string): void {
  const ok =
    (jwk.alg === undefined || jwk.alg === alg) &&
    jwk.kty === KTY_FOR_ALG[alg.slice(0, 2)] &&
    (CRV_FOR_ALG[alg] === undefined || jwk.crv === CRV_FOR_ALG[alg])
  if (!ok) {
    throw new TokenError(
      'TOKEN_ALG_NOT_ALLOWED',
      `token algorithm \`${alg}\` does not match key \`${jwk.kid ?? ''}\``,
    )
  }
}

type TimeClaim = 'iat' | 'nbf' | 'exp'

/** `iat` may lead our clock by the exchange's tolerance, and at least this much (issuers' clocks drift). */
export const IAT_MIN_LEEWAY_SEC = 60

function timeClaim(payload: JWTPayload, claim: TimeClaim): number | undefined {
  const value = payload[claim]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TokenError('TOKEN_MALFORMED', `"${claim}" claim must be a number`, {
      claim,
      reason: 'invalid',
    })
  }
  return value
}

/**
 * RFC 7519 §4.1 checks, with jose's semantics (the signature is already verified; `iss` was compared
 * before any key lookup), except that `exp` is required: it must lie after now − tolerance, `nbf` not after now + tolerance, `iat` be
 * numeric, and `aud` contain one of `audiences` when they are given.
 */
function validateClaims(payload: JWTPayload, opts: VerifyOptions): void {
  const now = Math.floor(opts.now.getTime() / 1000)
  const tolerance = opts.clockToleranceSec ?? 0
  const iat = timeClaim(payload, 'iat')
  // A token cannot have been issued in the future: beyond the clock-skew leeway it is forged or minted by a
  // wrong clock (and would outlive its intended lifetime). RFC 7519 §4.1.6.
  if (iat !== undefined && iat > now + Math.max(tolerance, IAT_MIN_LEEWAY_SEC)) {
    throw new TokenError('TOKEN_NOT_YET_VALID', 'token was issued in the future ("iat")', {
      claim: 'iat',
      reason: 'invalid',
      at: new Date(iat * 1000),
    })
  }
  const nbf = timeClaim(payload, 'nbf')
  if (nbf !== undefined && nbf > now + tolerance) {
    throw new TokenError('TOKEN_NOT_YET_VALID', 'token is not yet valid', {
      claim: 'nbf',
      reason: 'invalid',
      at: new Date(nbf * 1000),
    })
  }
  const exp = timeClaim(payload, 'exp')
  // Every exchange podtrust mirrors (STS, Entra, Google STS) refuses a token that never expires.
  if (exp === undefined) {
    throw new TokenError('TOKEN_MALFORMED', 'missing required "exp" claim', {
      claim: 'exp',
      reason: 'missing',
    })
  }
  if (exp <= now - tolerance) {
    throw new TokenError('TOKEN_EXPIRED', 'token is expired', {
      claim: 'exp',
      reason: 'invalid',
      at: new Date(exp * 1000),
    })
  }
  if (opts.audiences !== undefined) {
    const aud = payload.aud
    if (aud === undefined) {
      throw new TokenError('TOKEN_AUDIENCE_MISMATCH', 'missing required "aud" claim', {
        claim: 'aud',
        reason: 'missing',
      })
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.some((a) => typeof a === 'string' && opts.audiences!.includes(a))) {
      throw new TokenError('TOKEN_AUDIENCE_MISMATCH', '"aud" claim matches no allowed audience', {
        claim: 'aud',
        reason: 'invalid',
      })
    }
  }
}
