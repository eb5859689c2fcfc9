/**
 * @module keys/store
 * Per-issuer signing keys in the store, and their rotation. A key is published in the issuer's JWKS as soon
 * as it exists, signs only from its `activateAt` (so relying parties that cache the JWKS see it first), and
 * stays published after a newer key takes over until every token it signed has expired.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { CryptoKey, JWK, KeyObject } from 'jose'
import type { Queryable } from '../store/db.ts'
import { withStoreLock } from '../store/db.ts'
import { KeyError } from './errors.ts'

export type SigningAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512'
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
]

/** The longest lifetime of a token podtrust signs, in seconds: a retired key stays published this long. */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400
/** Extra time a retired key stays published beyond its last token's expiry: relying parties' clock skew. */
const RETIRE_SKEW_SECONDS = 300
/** Default delay between publishing a rotated key and signing with it, in seconds (the JWKS max-age). */
export const DEFAULT_ACTIVATION_DELAY_SECONDS = 60

export interface SigningKeyInfo {
  kid: string
  issuer: string
  alg: SigningAlgorithm
  createdAt: Date
  activateAt: Date
  /** When the key leaves the JWKS; undefined while it is the current key. */
  expireAt: Date | undefined
}

export interface SigningKey extends SigningKeyInfo {
  privateKey: KeyObject | CryptoKey
}

interface KeyRow {
  kid: string
  issuer: string
  alg: string
  public_jwk: string
  private_jwk: string
  created_at: number
  activate_at: number
  expire_at: number | null
}

const imported = new Map<string, Promise<KeyObject | CryptoKey | Uint8Array>>()

async function createKeyMaterial(
  alg: SigningAlgorithm,
): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  // RFC 7638 thumbprint: stable, derived from the public key only (kube-apiserver derives its kid likewise).
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
  return { kid, publicJwk: { ...publicJwk, kid, alg, use: 'sig' }, privateJwk }
}

async function insertKey(
  tx: Queryable,
  issuer: string,
  alg: SigningAlgorithm,
  createdAt: Date,
  activateAt: Date,
  material?: Awaited<ReturnType<typeof createKeyMaterial>>,
): Promise<SigningKeyInfo> {
  const m = material ?? (await createKeyMaterial(alg))
  await tx.run(
    `INSERT INTO signing_keys (kid, issuer, alg, public_jwk, private_jwk, created_at, activate_at, expire_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
    [
      m.kid,
      issuer,
      alg,
      JSON.stringify(m.publicJwk),
      JSON.stringify(m.privateJwk),
      createdAt.getTime(),
      activateAt.getTime(),
    ],
  )
  return { kid: m.kid, issuer, alg, createdAt, activateAt, expireAt: undefined }
}

function info(row: KeyRow): SigningKeyInfo {
  return {
    kid: row.kid,
    issuer: row.issuer,
    alg: row.alg as SigningAlgorithm,
    createdAt: new Date(Number(row.created_at)),
    activateAt: new Date(Number(row.activate_at)),
    expireAt: row.expire_at === null ? undefined : new Date(Number(row.expire_at)),
  }
}

/** Every key of an issuer, newest activation first (for `podtrust keys list`). */
export async function listSigningKeys(db: Queryable, issuer: string): Promise<SigningKeyInfo[]> {
  const rows = await db.all<KeyRow>(
    'SELECT * FROM signing_keys WHERE issuer = ? ORDER BY activate_at DESC, created_at DESC',
    [issuer],
  )
  return rows.map(info)
}

/** The public JWKs an issuer publishes at `now`: every key not yet past its expiry. */
export async function publishedKeys(db: Queryable, issuer: string, now: Date): Promise<JWK[]> {
  const rows = await db.all<KeyRow>(
    `SELECT * FROM signing_keys WHERE issuer = ? AND (expire_at IS NULL OR expire_at > ?)
     ORDER BY activate_at DESC, created_at DESC`,
    [issuer, now.getTime()],
  )
  return rows.map((r) => JSON.parse(r.public_jwk) as JWK)
}

/**
 * The key that signs at `now`: the newest whose activation has come. The first key of an issuer is created
 * here, active at once (nobody can have cached a JWKS of an issuer without keys).
 */
export async function currentSigningKey(
  db: Queryable,
  issuer: string,
  now: Date,
): Promise<SigningKey> {
  let row = await db.get<KeyRow>(
    `SELECT * FROM signing_keys WHERE issuer = ? AND activate_at <= ? AND (expire_at IS NULL OR expire_at > ?)
     ORDER BY activate_at DESC, created_at DESC LIMIT 1`,
    [issuer, now.getTime(), now.getTime()],
  )
  if (row === undefined) {
    const any = await db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM signing_keys WHERE issuer = ?',
      [issuer],
    )
    if (Number(any?.n ?? 0) > 0) {
      // Keys exist but none is active yet (a clock set before the first key's activation): use the oldest.
      row = await db.get<KeyRow>(
        'SELECT * FROM signing_keys WHERE issuer = ? ORDER BY activate_at ASC LIMIT 1',
        [issuer],
      )
    } else {
      await insertKeyIfMissing(db, issuer, now)
      row = await db.get<KeyRow>(
        'SELECT * FROM signing_keys WHERE issuer = ? ORDER BY activate_at DESC LIMIT 1',
        [issuer],
      )
    }
  }
  if (row === undefined)
    throw new KeyError('KEY_NOT_FOUND', `no signing key for issuer \`${issuer}\``)
  const cacheKey = `${row.kid}`
  let priv = imported.get(cacheKey)
  if (priv === undefined) {
    priv = importJWK(JSON.parse(row.private_jwk) as JWK, row.alg)
    imported.set(cacheKey, priv)
  }
  const privateKey = (await priv) as KeyObject | CryptoKey
  return { ...info(row), privateKey }
}

/** Creates an issuer's first key unless another process or request just did (the kid is random). */
export async function insertKeyIfMissing(db: Queryable, issuer: string, now: Date): Promise<void> {
  const present = (q: Queryable) =>
    q.get('SELECT kid FROM signing_keys WHERE issuer = ? LIMIT 1', [issuer])
  if ((await present(db)) !== undefined) return
  // Replicas starting together must not each create a first key (two active keys, tokens signed by both):
  // check again under the issuer's lock. The key is generated before the lock, so the lock (SQLite's write
  // lock included) is held for two statements only.
  const material = await createKeyMaterial('RS256')
  await withStoreLock(db, `first-key:${issuer}`, async (tx) => {
    if ((await present(tx)) === undefined) await insertKey(tx, issuer, 'RS256', now, now, material)
  })
}

export interface RotateOptions {
  now: Date
  alg?: SigningAlgorithm
  /** Seconds between publishing the new key and signing with it (default 60). */
  activationDelaySeconds?: number
}

export interface RotateResult {
  key: SigningKeyInfo
  /** Older keys now retiring: they stay in the JWKS until `expireAt`. */
  retiring: SigningKeyInfo[]
}

/**
 * Publishes a new key that signs from `now + activationDelaySeconds`; every older key without an expiry gets
 * one: the new key's activation plus the longest token lifetime (plus skew), since it may sign until then.
 */
export async function rotateSigningKey(
  db: Queryable,
  issuer: string,
  options: RotateOptions,
): Promise<RotateResult> {
  const delay = options.activationDelaySeconds ?? DEFAULT_ACTIVATION_DELAY_SECONDS
  if (!Number.isInteger(delay) || delay < 0 || delay > 86_400) {
    throw new KeyError(
      'KEY_ROTATION_INVALID',
      'activation delay must be an integer from 0 to 86400 seconds',
    )
  }
  const activateAt = new Date(options.now.getTime() + delay * 1000)
  const expireAt = activateAt.getTime() + (MAX_TOKEN_LIFETIME_SECONDS + RETIRE_SKEW_SECONDS) * 1000
  await db.run('UPDATE signing_keys SET expire_at = ? WHERE issuer = ? AND expire_at IS NULL', [
    expireAt,
    issuer,
  ])
  // Keys whose tokens have all expired are gone for good.
  await db.run(
    'DELETE FROM signing_keys WHERE issuer = ? AND expire_at IS NOT NULL AND expire_at <= ?',
    [issuer, options.now.getTime()],
  )
  const key = await insertKey(db, issuer, options.alg ?? 'RS256', options.now, activateAt)
  const retiring = (await listSigningKeys(db, issuer)).filter((k) => k.kid !== key.kid)
  return { key, retiring }
}
