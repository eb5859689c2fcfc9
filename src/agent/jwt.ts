/**
 * @module agent/jwt
 * The agent's cheap pre-check of a pod token before it spends an EKS Auth call: parse unverified and check
 * `exp` / `nbf` / `iat` (the reference agent does the same; EKS Auth does the real verification).
 */

export interface BasicClaims {
  exp: number | undefined
  iss: string | undefined
}

export class TokenPrecheckError extends Error {
  override name = 'TokenPrecheckError'
}

/** Clock skew tolerated on nbf / iat, in seconds. */
const LEEWAY_SECONDS = 60

export function basicClaimCheck(token: string, now: Date): BasicClaims {
  const parts = token.split('.')
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new TokenPrecheckError('Service account token cannot be parsed')
  }
  let payload: Record<string, unknown>
  try {
    const v = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as unknown
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object')
    payload = v as Record<string, unknown>
  } catch {
    throw new TokenPrecheckError('Service account token cannot be parsed')
  }
  const t = now.getTime() / 1000
  const num = (k: string) => (typeof payload[k] === 'number' ? (payload[k] as number) : undefined)
  const exp = num('exp')
  const nbf = num('nbf')
  const iat = num('iat')
  if (exp !== undefined && exp <= t) {
    throw new TokenPrecheckError(
      'Service account token failed basic claim validations: token is expired',
    )
  }
  if (nbf !== undefined && nbf > t + LEEWAY_SECONDS) {
    throw new TokenPrecheckError(
      'Service account token failed basic claim validations: token is not valid yet',
    )
  }
  if (iat !== undefined && iat > t + LEEWAY_SECONDS) {
    throw new TokenPrecheckError(
      'Service account token failed basic claim validations: token used before issued',
    )
  }
  return { exp, iss: typeof payload['iss'] === 'string' ? payload['iss'] : undefined }
}
