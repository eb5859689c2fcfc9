import type { Migration } from '../store/db.ts'

/** The session-token keyring: AEAD keys with ids; the newest active key seals, every kept key opens. */
export const identityMigrations: Migration[] = [
  {
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
