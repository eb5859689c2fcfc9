/**
 * @module tokens/verify
 * The one verification path every token exchange uses (STS, EKS Auth, Entra, Google STS). Issuers this
 * podtrust serves are verified in-process from the key store, without HTTP; others through discovery + JWKS
 * (see remote.ts). Algorithms are pinned: the header's `alg` must be an allowed asymmetric algorithm, and
 * must agree with the selected key's `alg` and type, so a public key can never be used as an HMAC secret.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify } from 'jose'
import type { JWK, JSONWebKeySet, JWTPayload } from 'jose'
import { publishedKeys } from '../keys/store.ts'
import type { Db } from '../store/db.ts'
import { TokenError } from './errors.ts'
import { getIssuerByUrl } from './issuer.ts'
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

  return {
    async verify(rawToken: string, opts: VerifyOptions): Promise<VerifiedToken> {
      // SDKs read the token file verbatim; a trailing newline is not part of the JWT.
      const token = rawToken.trim()
      if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
        throw malformed('token is not a compact JWS')
      }
      let header: ReturnType<typeof decodeProtectedHeader>
      let payload: JWTPayload
      try {
        header = decodeProtectedHeader(token)
        payload = decodeJwt(token)
      } catch (e) {
        throw malformed('token header or payload cannot be decoded', e)
      }
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

      let jwks: JSONWebKeySet
      let isRemote = false
      if (opts.jwks !== undefined) jwks = opts.jwks
      else {
        const local = await getIssuerByUrl(options.db, opts.issuer)
        if (local !== undefined)
          jwks = { keys: await publishedKeys(options.db, local.name, opts.now) }
        else {
          isRemote = true
          jwks = await remote.getKeys(
            opts.issuer,
            opts.caBundle === undefined ? {} : { caBundle: opts.caBundle },
          )
        }
      }
      let jwk = selectKey(jwks, kid)
      if (jwk === undefined && isRemote && kid !== undefined) {
        jwks = await remote.getKeys(opts.issuer, {
          refresh: true,
          ...(opts.caBundle === undefined ? {} : { caBundle: opts.caBundle }),
        })
        jwk = selectKey(jwks, kid)
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
      let key: Awaited<ReturnType<typeof importJWK>>
      try {
        key = await importJWK({ ...jwk, alg }, alg)
      } catch (e) {
        throw new TokenError('TOKEN_KEY_NOT_FOUND', `issuer key \`${kid ?? ''}\` cannot be used`, {
          cause: e,
        })
      }

      let claims: JWTPayload
      try {
        const res = await jwtVerify(token, key, {
          algorithms: [alg],
          issuer: opts.issuer,
          ...(opts.audiences === undefined ? {} : { audience: [...opts.audiences] }),
          currentDate: opts.now,
          clockTolerance: opts.clockToleranceSec ?? 0,
        })
        claims = res.payload
      } catch (e) {
        throw mapJoseError(e, payload)
      }
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

function mapJoseError(e: unknown, payload: JWTPayload): TokenError {
  if (e instanceof joseErrors.JWTExpired) {
    return new TokenError('TOKEN_EXPIRED', 'token is expired', {
      cause: e,
      claim: 'exp',
      reason: 'invalid',
      ...(typeof payload.exp === 'number' ? { at: new Date(payload.exp * 1000) } : {}),
    })
  }
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    const missing = /missing required/.test(e.message)
    const reason = missing ? ('missing' as const) : ('invalid' as const)
    switch (e.claim) {
      case 'aud':
        return new TokenError(
          'TOKEN_AUDIENCE_MISMATCH',
          missing ? 'missing required "aud" claim' : '"aud" claim matches no allowed audience',
          { cause: e, claim: 'aud', reason },
        )
      case 'nbf':
        return new TokenError('TOKEN_NOT_YET_VALID', 'token is not yet valid', {
          cause: e,
          claim: 'nbf',
          reason,
          ...(typeof payload.nbf === 'number' ? { at: new Date(payload.nbf * 1000) } : {}),
        })
      case 'iss':
        return new TokenError('TOKEN_ISSUER_MISMATCH', '"iss" claim does not match', {
          cause: e,
          claim: 'iss',
          reason,
        })
      default:
        return new TokenError('TOKEN_MALFORMED', `"${e.claim}" claim is invalid`, {
          cause: e,
          claim: e.claim,
          reason,
        })
    }
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenError('TOKEN_SIGNATURE_INVALID', 'token signature is invalid', { cause: e })
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenError('TOKEN_ALG_NOT_ALLOWED', 'token algorithm is not allowed', { cause: e })
  }
  return malformed('token is invalid', e)
}
