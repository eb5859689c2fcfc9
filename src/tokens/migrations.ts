import type { Migration } from '../store/db.ts'

/**
 * Named issuers (`default`, `cluster:NAME`). `url` is stored for `default`; a named issuer without its own
 * URL lives under the default issuer's (`<default>/issuers/NAME`), so it follows the default when that moves.
 */
export const tokensMigrations: Migration[] = [
  {
    id: 'tokens-0001-issuers',
    sql: [
      `CREATE TABLE issuers (
        name TEXT PRIMARY KEY,
        url TEXT,
        created_at BIGINT NOT NULL
      )`,
    ],
  },
]
