import type { Migration } from '../store/db.ts'

/**
 * Signing keys, per issuer. A key is published in the JWKS from `created_at`, signs from `activate_at`
 * (so verifiers see it before any token carries its kid), and leaves the JWKS at `expire_at` (set when a
 * newer key takes over: its activation plus the longest token lifetime).
 */
export const keysMigrations: Migration[] = [
  {
    id: 'keys-0001-signing-keys',
    sql: [
      `CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        activate_at BIGINT NOT NULL,
        expire_at BIGINT
      )`,
      'CREATE INDEX signing_keys_issuer ON signing_keys (issuer, activate_at)',
    ],
  },
]
