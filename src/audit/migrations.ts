import type { Migration } from '../store/db.ts'

/** The audit log: one row per event; the full CloudTrail-shaped event as JSON, a few columns to filter on. */
export const auditMigrations: Migration[] = [
  {
    id: 'audit-0001-events',
    sql: [
      `CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        event_time BIGINT NOT NULL,
        event_source TEXT NOT NULL,
        event_name TEXT NOT NULL,
        error_code TEXT,
        principal_arn TEXT,
        event TEXT NOT NULL
      )`,
      'CREATE INDEX audit_events_time ON audit_events (event_time)',
    ],
  },
  {
    // Filters of `audit query` and the query API: the caller's address and the role involved.
    id: 'audit-0002-query-columns',
    sql: [
      'ALTER TABLE audit_events ADD COLUMN source_ip TEXT',
      'ALTER TABLE audit_events ADD COLUMN role_arn TEXT',
      'CREATE INDEX audit_events_principal ON audit_events (principal_arn, seq)',
      'CREATE INDEX audit_events_role ON audit_events (role_arn, seq)',
      'CREATE INDEX audit_events_source_ip ON audit_events (source_ip, seq)',
    ],
  },
]
