import type { Migration } from '../store/db.ts'

/** The deployment's CA, shared by every replica of one store (one row, name `default`). */
export const certsMigrations: Migration[] = [
  {
    id: 'certs-0001-ca',
    sql: [
      `CREATE TABLE certs_ca (
        name TEXT PRIMARY KEY,
        cert_pem TEXT NOT NULL,
        key_pem TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
    ],
  },
]
