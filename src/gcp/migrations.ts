import type { Migration } from '../store/db.ts'

/**
 * Google workload identity federation: projects (id ↔ number), pools, OIDC providers, service accounts and
 * their IAM bindings (role → members). Maps and lists are stored as JSON text.
 */
export const gcpMigrations: Migration[] = [
  {
    id: 'gcp-0001-federation',
    sql: [
      `CREATE TABLE gcp_projects (
        project_id TEXT PRIMARY KEY,
        project_number TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE gcp_pools (
        project_number TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        display_name TEXT,
        description TEXT,
        disabled INTEGER NOT NULL,
        session_duration_seconds INTEGER,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (project_number, pool_id)
      )`,
      `CREATE TABLE gcp_providers (
        project_number TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        display_name TEXT,
        description TEXT,
        disabled INTEGER NOT NULL,
        issuer_uri TEXT NOT NULL,
        allowed_audiences TEXT NOT NULL,
        jwks_json TEXT,
        attribute_mapping TEXT NOT NULL,
        attribute_condition TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (project_number, pool_id, provider_id)
      )`,
      `CREATE TABLE gcp_service_accounts (
        email TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        unique_id TEXT NOT NULL UNIQUE,
        display_name TEXT,
        disabled INTEGER NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE gcp_bindings (
        email TEXT NOT NULL,
        role TEXT NOT NULL,
        member TEXT NOT NULL,
        PRIMARY KEY (email, role, member)
      )`,
    ],
  },
]
