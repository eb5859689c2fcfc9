import type { Migration } from '../store/db.ts'

/** Database instances served by the IAM-auth database proxy (one row per instance; lists as JSON text). */
export const dbproxyMigrations: Migration[] = [
  {
    id: 'dbproxy-0001-instances',
    sql: [
      `CREATE TABLE dbproxy_instances (
        name TEXT PRIMARY KEY,
        resource_id TEXT NOT NULL UNIQUE,
        engine TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        backend TEXT NOT NULL,
        iam_users TEXT,
        backend_passwords TEXT,
        region TEXT,
        account_id TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX dbproxy_instances_endpoint ON dbproxy_instances (endpoint)`,
    ],
  },
]
