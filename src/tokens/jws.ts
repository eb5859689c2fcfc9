/**
 * @module tokens/jws
 * Signature verification of a compact JWS with a pinned asymmetric algorithm, on node:crypto. jose decodes
 * and imports keys elsewhere; its verify runs through WebCrypto, which on Node costs ~190 µs more per RS256
 * token than a synchronous `crypto.verify` (measured: 220 vs 34 µs), the largest single cost of an STS
 * exchange. Imported keys are cached per JWK, so a key is parsed once, not once per token. A signature that
 * verified is remembered for the exact token and key object (pods present the same projected token on every
 * refresh until the kubelet rotates it, as kube-apiserver's token cache assumes); claims are still checked on
 * every call by the caller, and a rotated-out key no longer resolves, so the memory never outlives trust.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { JWK } from 'jose'

/** Per allowed algorithm: the digest, the key type, and for EC the curve (node's name) and JWS's r‖s encoding. */
const ALGORITHMS = {
  RS256: { hash: 'sha256', keyType: 'rsa' },
  RS384: { hash: 'sha384', keyType: 'rsa' },
  RS512: { hash: 'sha512', keyType: 'rsa' },
  ES256: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', keyType: 'ec', curve: 'secp384r1' },
  ES512: { hash: 'sha512', keyType: 'ec', curve: 'secp521r1' },
} as const satisfies Record<string, { hash: string; keyType: string; curve?: string }>

export type JwsAlgorithm = keyof typeof ALGORITHMS

/** RSA keys below this size are refused, as jose and RFC 7518 §3.3 require. */
const MIN_RSA_BITS = 2048
/** Bound on cached keys: an issuer publishes a handful; remote JWKS sets are size-bounded upstream. */
const MAX_CACHED_KEYS = 1024

const keyCache = new Map<string, KeyObject>()

/** Tokens whose signature verified, with the key that verified it; bounded in entries and token size. */
const verifiedTokens = new Map<string, KeyObject>()
const MAX_VERIFIED_TOKENS = 4096
const MAX_REMEMBERED_TOKEN_CHARS = 4096

export class JwsKeyError extends Error {}

function cacheKey(jwk: JWK): string {
  return `${jwk.kty ?? ''}|${jwk.crv ?? ''}|${jwk.n ?? ''}|${jwk.e ?? ''}|${jwk.x ?? ''}|${jwk.y ?? ''}`
}

/**
 * The public key of `jwk` for `alg`, checked for type, curve and size. Throws `JwsKeyError` when the key
 * cannot serve that algorithm (the caller has already matched `alg` against the JWK's own `alg`).
 */
export function publicKeyFor(jwk: JWK, alg: JwsAlgorithm): KeyObject {
  const spec = ALGORITHMS[alg]
  const id = cacheKey(jwk)
  let key = keyCache.get(id)
  if (key === undefined) {
    if (jwk.d !== undefined) throw new JwsKeyError('a private JWK is not a verification key')
    try {
      key = createPublicKey({
        key: { kty: jwk.kty, crv: jwk.crv, n: jwk.n, e: jwk.e, x: jwk.x, y: jwk.y } as never,
        format: 'jwk',
      })
    } catch (cause) {
      throw new JwsKeyError('the JWK is not a valid public key', { cause })
    }
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(id, key)
  }
  if (key.asymmetricKeyType !== spec.keyType) {
    throw new JwsKeyError(`a ${key.asymmetricKeyType ?? 'non-asymmetric'} key cannot verify ${alg}`)
  }
  const details = key.asymmetricKeyDetails ?? {}
  if (spec.keyType === 'rsa' && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new JwsKeyError(`${alg} requires an RSA key of at least ${MIN_RSA_BITS} bits`)
  }
  if ('curve' in spec && details.namedCurve !== spec.curve) {
    throw new JwsKeyError(`${alg} requires curve ${spec.curve}`)
  }
  return key
}

/** Whether `token` (compact, three parts) carries a valid `alg` signature by `key`. Never throws on bad input. */
export function verifyCompactSignature(token: string, key: KeyObject, alg: JwsAlgorithm): boolean {
  if (verifiedTokens.get(token) === key) return true
  const valid = verifySignatureBytes(token, key, alg)
  if (valid && token.length <= MAX_REMEMBERED_TOKEN_CHARS) {
    if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) {
      verifiedTokens.delete(verifiedTokens.keys().next().value as string)
    }
    verifiedTokens.set(token, key)
  }
  return valid
}

function verifySignatureBytes(token: string, key: KeyObject, alg: JwsAlgorithm): boolean {
  const spec = ALGORITHMS[alg]
  const lastDot = token.lastIndexOf('.')
  if (lastDot <= 0) return false
  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url')
  const signingInput = Buffer.from(token.slice(0, lastDot), 'ascii')
  try {
    return cryptoVerify(
      spec.hash,
      signingInput,
      spec.keyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      signature,
    )
  } catch {
    return false
  }
}
