import type { Migration } from '../store/db.ts'

/**
 * Entra-compatible directory: tenants, identities (app registrations and user-assigned managed identities,
 * keyed by client id within a tenant) and their federated identity credentials.
 */
export const azureMigrations: Migration[] = [
  {
    id: 'azure-0001-directory',
    sql: [
      `CREATE TABLE azure_tenants (
        tenant_id TEXT PRIMARY KEY,
        display_name TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE azure_identities (
        tenant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, client_id)
      )`,
      `CREATE TABLE azure_federated_credentials (
        tenant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        name TEXT NOT NULL,
        issuer TEXT NOT NULL,
        subject TEXT,
        claims_expression TEXT,
        audience TEXT NOT NULL,
        description TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, client_id, name)
      )`,
    ],
  },
]
