import type { JWTPayload, JSONWebKeySet, ProtectedHeaderParameters } from 'jose'

/** Algorithms a service-account token may be signed with; anything else (none, HS*) is refused. */
export const ALLOWED_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
] as const

export type TokenErrorCode =
  | 'TOKEN_MALFORMED'
  | 'TOKEN_ALG_NOT_ALLOWED'
  | 'TOKEN_SIGNATURE_INVALID'
  | 'TOKEN_KEY_NOT_FOUND'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_ISSUER_MISMATCH'
  | 'TOKEN_AUDIENCE_MISMATCH'
  | 'ISSUER_UNREACHABLE'
  | 'ISSUER_FORBIDDEN'

export interface VerifyOptions {
  /** The issuer the token must carry, exactly (the caller found it registered: OIDC provider, FIC, pool). */
  issuer: string
  /** When given, `aud` must contain one of these. */
  audiences?: readonly string[]
  now: Date
  /** Seconds of leeway on exp/nbf/iat. */
  clockToleranceSec?: number
  /** Keys uploaded with the registration (GCP `jwksJson`): used instead of discovery. */
  jwks?: JSONWebKeySet
  /** PEM CA bundle for a private issuer's HTTPS endpoints. */
  caBundle?: string
  /**
   * The caller's `decodeCompactJws` of the trimmed token (it read `iss` to find the registration): used only
   * when `token` is exactly the token verified, so the header and claims are still those the signature covers.
   */
  decoded?: { token: string; header: ProtectedHeaderParameters; payload: JWTPayload }
}

export interface VerifiedToken {
  issuer: string
  subject: string
  audience: string[]
  alg: string
  kid: string | undefined
  claims: JWTPayload
}

/**
 * One verification path for STS, EKS Auth, Entra and Google STS. Issuers served by this podtrust resolve
 * their keys in-process; other issuers through discovery + JWKS over HTTPS, cached, bounded, SSRF-guarded.
 * Rejects with a `TokenError` carrying one of `TokenErrorCode`.
 */
export interface TokenVerifier {
  verify(token: string, options: VerifyOptions): Promise<VerifiedToken>
}
