/**
 * @module keys/session-keys
 * Storage of the session-token keyring (`identity_session_keys`): the AEAD keys that seal podtrust's session
 * tokens, shared by every replica through the store. Rotation adds a key that seals from then on and keeps
 * older keys for opening until every token they sealed has expired. `createSessionKeyring` is the
 * implementation of the identity domain's `SessionKeyring` port the composition root hands out: one per app
 * instance, with its own short cache (no module-level state).
 */
import type { Migration, Queryable } from '../store/db.ts'
import { withStoreLock } from '../store/db.ts'
import { KeyError } from './errors.ts'

type RandomBytes = (size: number) => Uint8Array

export interface KeyringKey {
  kid: string
  secret: Buffer
  createdAt: Date
  retiredAt: Date | undefined
}

export interface Keyring {
  /** The key new tokens are sealed with (the newest non-retired key). */
  active: KeyringKey
  byKid: Map<string, KeyringKey>
}

/** The session-token keyring: AEAD keys with ids; the newest active key seals, every kept key opens. */
export const sessionKeyMigrations: Migration[] = [
  {
    // The id keeps its first owner's prefix: stores record migrations by id.
    id: 'identity-0001-session-keys',
    sql: [
      `CREATE TABLE identity_session_keys (
        kid TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      )`,
    ],
  },
]

interface KeyRow {
  kid: string
  secret: string
  created_at: number | string | bigint
  retired_at: number | string | bigint | null
}

/** How long a retired key still opens tokens: the longest session (GetSessionToken: 36 h) plus slack. */
export const RETIRED_KEY_GRACE_MS = 37 * 3600 * 1000

function toKey(row: KeyRow): KeyringKey {
  return {
    kid: row.kid,
    secret: Buffer.from(row.secret, 'base64'),
    createdAt: new Date(Number(row.created_at)),
    retiredAt: row.retired_at === null ? undefined : new Date(Number(row.retired_at)),
  }
}

function newKid(randomBytes: RandomBytes): string {
  return Buffer.from(randomBytes(6)).toString('hex')
}

const SELECT_KEYS =
  'SELECT kid, secret, created_at, retired_at FROM identity_session_keys ORDER BY created_at ASC, kid ASC'

/** Reads the keyring, creating the first key when there is none. */
export async function loadKeyring(
  db: Queryable,
  now: Date,
  randomBytes: RandomBytes,
): Promise<Keyring> {
  let rows = await db.all<KeyRow>(SELECT_KEYS)
  if (!rows.some((r) => r.retired_at === null)) {
    // One first key even when replicas start together: check again under a store lock.
    await withStoreLock(db, 'session-keyring', async (tx) => {
      const active = await tx.get(
        'SELECT kid FROM identity_session_keys WHERE retired_at IS NULL LIMIT 1',
      )
      if (active !== undefined) return
      await tx.run(
        'INSERT INTO identity_session_keys (kid, secret, created_at, retired_at) VALUES (?, ?, ?, NULL) ON CONFLICT (kid) DO NOTHING',
        [newKid(randomBytes), Buffer.from(randomBytes(32)).toString('base64'), now.getTime()],
      )
    })
    rows = await db.all<KeyRow>(SELECT_KEYS)
  }
  const keys = rows
    .map(toKey)
    .filter(
      (k) =>
        k.retiredAt === undefined || k.retiredAt.getTime() + RETIRED_KEY_GRACE_MS > now.getTime(),
    )
  const active = [...keys].reverse().find((k) => k.retiredAt === undefined)
  if (active === undefined) throw new KeyError('KEY_NOT_FOUND', 'no active session key')
  return { active, byKid: new Map(keys.map((k) => [k.kid, k])) }
}

/**
 * Rotates: a new key seals from now on; the previous ones are retired (still open tokens for the grace
 * period) and keys retired longer than the grace are deleted. Returns the new key id.
 */
export async function rotateKeyring(
  db: Queryable,
  now: Date,
  randomBytes: RandomBytes,
): Promise<string> {
  const kid = newKid(randomBytes)
  await db.run('UPDATE identity_session_keys SET retired_at = ? WHERE retired_at IS NULL', [
    now.getTime(),
  ])
  await db.run(
    'INSERT INTO identity_session_keys (kid, secret, created_at, retired_at) VALUES (?, ?, ?, NULL)',
    [kid, Buffer.from(randomBytes(32)).toString('base64'), now.getTime()],
  )
  await db.run(
    'DELETE FROM identity_session_keys WHERE retired_at IS NOT NULL AND retired_at < ?',
    [now.getTime() - RETIRED_KEY_GRACE_MS],
  )
  return kid
}

/** How long `current` serves a cached keyring (a rotation elsewhere is seen within this). */
const CACHE_MS = 60_000
/** A refresh on an unknown kid is rate-limited to one per second. */
const REFRESH_MIN_MS = 1000

/**
 * The `SessionKeyring` port over a store: the keyring cached for a minute; `refresh` re-reads it (an
 * unknown kid may come from a rotation on another replica), at most once a second.
 *
 * @example const keyring = createSessionKeyring(db, randomBytes); const ring = await keyring.current(now)
 */
export function createSessionKeyring(
  db: Queryable,
  randomBytes: RandomBytes,
): { current(now: Date): Promise<Keyring>; refresh(now: Date): Promise<Keyring> } {
  let cached: { keyring: Keyring; loadedAt: number } | undefined
  const load = async (now: Date): Promise<Keyring> => {
    const keyring = await loadKeyring(db, now, randomBytes)
    cached = { keyring, loadedAt: now.getTime() }
    return keyring
  }
  return {
    current(now) {
      if (cached !== undefined && Math.abs(now.getTime() - cached.loadedAt) < CACHE_MS)
        return Promise.resolve(cached.keyring)
      return load(now)
    },
    refresh(now) {
      if (cached !== undefined && Math.abs(now.getTime() - cached.loadedAt) < REFRESH_MIN_MS)
        return Promise.resolve(cached.keyring)
      return load(now)
    },
  }
}
