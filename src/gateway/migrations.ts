import type { Migration } from '../store/db.ts'

/** The gateway's tables: the bucket and queue policies it evaluates, and its listener/backend settings. */
export const gatewayMigrations: Migration[] = [
  {
    id: 'gateway-0001-resource-policies',
    sql: [
      `CREATE TABLE gateway_resource_policies (
        service TEXT NOT NULL,
        resource TEXT NOT NULL,
        document TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (service, resource)
      )`,
    ],
  },
  {
    id: 'gateway-0002-settings',
    sql: [
      `CREATE TABLE gateway_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      )`,
    ],
  },
]
