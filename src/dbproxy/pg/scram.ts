/**
 * @module dbproxy/pg/scram
 * SCRAM-SHA-256 client (RFC 5802, RFC 7677) for the proxy's connections to the backend PostgreSQL
 * (https://www.postgresql.org/docs/current/sasl-authentication.html). Written on node:crypto rather than
 * reusing `pg`'s internal `lib/crypto/sasl` module, which is not part of pg's public API. No channel binding
 * (`n,,`): the backend link is plain TCP or TLS the proxy itself verifies. Pure apart from the nonce.
 *
 * PBKDF2 (4096 iterations by default) dominates a connect; the derived keys are cached per
 * (password, salt, iterations), since a role's salt stays the same until its password changes.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

export const SCRAM_SHA_256 = 'SCRAM-SHA-256'

export class ScramError extends Error {}

interface DerivedKeys {
  clientKey: Buffer
  serverKey: Buffer
}

const KEY_CACHE_LIMIT = 256
const keyCache = new Map<string, DerivedKeys>()

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest()
}

function deriveKeys(password: string, salt: Buffer, iterations: number): DerivedKeys {
  const cacheKey = createHash('sha256')
    .update(password, 'utf8')
    .update('\u0000')
    .update(salt)
    .update(`\u0000${iterations}`)
    .digest('hex')
  const hit = keyCache.get(cacheKey)
  if (hit !== undefined) return hit
  // RFC 5802 §2.2 Hi() is PBKDF2 with HMAC as the PRF and one block of output.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256')
  const keys = { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') }
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value
    if (oldest !== undefined) keyCache.delete(oldest)
  }
  keyCache.set(cacheKey, keys)
  return keys
}

function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C')
}

/** One client-side SCRAM-SHA-256 exchange: first → final(serverFirst) → verify(serverFinal). */
export class ScramClient {
  readonly #password: string
  readonly #clientNonce: string
  readonly #clientFirstBare: string
  #expectedServerSignature: Buffer | undefined

  /** `username` is sent as-is in `n=`; PostgreSQL ignores it and uses the start-up user (libpq sends ''). */
  constructor(password: string, options: { username?: string; nonce?: string } = {}) {
    this.#password = password
    this.#clientNonce = options.nonce ?? randomBytes(18).toString('base64')
    this.#clientFirstBare = `n=${saslName(options.username ?? '')},r=${this.#clientNonce}`
  }

  /** client-first-message: GS2 header `n,,` + bare message. */
  first(): string {
    return `n,,${this.#clientFirstBare}`
  }

  /** client-final-message for the server-first-message. */
  final(serverFirst: string): string {
    const attrs = parseAttributes(serverFirst)
    const nonce = attrs.get('r')
    const saltText = attrs.get('s')
    const iterText = attrs.get('i')
    if (nonce === undefined || saltText === undefined || iterText === undefined)
      throw new ScramError('malformed SCRAM server-first-message')
    if (!nonce.startsWith(this.#clientNonce) || nonce.length <= this.#clientNonce.length)
      throw new ScramError('SCRAM server nonce does not extend the client nonce')
    if (!/^\d+$/.test(iterText) || Number(iterText) < 1 || Number(iterText) > 10_000_000)
      throw new ScramError('invalid SCRAM iteration count')
    const salt = Buffer.from(saltText, 'base64')
    const { clientKey, serverKey } = deriveKeys(this.#password, salt, Number(iterText))
    const storedKey = createHash('sha256').update(clientKey).digest()
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`
    const clientSignature = hmac(storedKey, authMessage)
    const proof = Buffer.alloc(clientKey.length)
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!
    this.#expectedServerSignature = hmac(serverKey, authMessage)
    return `${withoutProof},p=${proof.toString('base64')}`
  }

  /** Checks the server-final-message's `v=` (the server proved it knows the password too). */
  verify(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal)
    if (attrs.has('e')) throw new ScramError(`SCRAM error: ${attrs.get('e')}`)
    const v = attrs.get('v')
    const expected = this.#expectedServerSignature
    if (v === undefined || expected === undefined)
      throw new ScramError('malformed SCRAM server-final-message')
    const got = Buffer.from(v, 'base64')
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      throw new ScramError('SCRAM server signature does not match')
  }
}

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=') continue
    out.set(part[0]!, part.slice(2))
  }
  return out
}
