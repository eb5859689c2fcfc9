/**
 * @module aws/iam/migrations
 * Tables of the IAM module. Names are unique per account case-insensitively (AWS rule), so each named
 * entity keeps a `*_lower` key column beside the name as written. Times are epoch milliseconds; tags and
 * string lists are JSON text. AWS managed policies are not stored: they come from the bundled catalog
 * (`managed-policies.ts`), only their attachments are rows.
 */
import type { Migration } from '../../store/db.ts'

export const iamMigrations: Migration[] = [
  {
    id: 'iam-0001-core',
    sql: [
      `CREATE TABLE IF NOT EXISTS iam_accounts (
        account_id TEXT PRIMARY KEY,
        alias TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS iam_roles (
        account_id TEXT NOT NULL,
        role_name_lower TEXT NOT NULL,
        role_name TEXT NOT NULL,
        role_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        assume_role_policy TEXT NOT NULL,
        max_session_duration INTEGER NOT NULL,
        permissions_boundary_arn TEXT,
        description TEXT,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        last_used_region TEXT,
        PRIMARY KEY (account_id, role_name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_users (
        account_id TEXT NOT NULL,
        user_name_lower TEXT NOT NULL,
        user_name TEXT NOT NULL,
        user_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        permissions_boundary_arn TEXT,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, user_name_lower)
      )`,
      // Inline policies of roles and users: principal_type 'role' | 'user'.
      `CREATE TABLE IF NOT EXISTS iam_inline_policies (
        account_id TEXT NOT NULL,
        principal_type TEXT NOT NULL,
        principal_name_lower TEXT NOT NULL,
        policy_name_lower TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        document TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, principal_type, principal_name_lower, policy_name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_policies (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        policy_name_lower TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        policy_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        description TEXT,
        default_version_id TEXT NOT NULL,
        next_version INTEGER NOT NULL,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (account_id, policy_name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_policy_versions (
        policy_arn TEXT NOT NULL,
        version_id TEXT NOT NULL,
        document TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (policy_arn, version_id)
      )`,
      // Managed-policy attachments (customer or AWS managed) to roles and users.
      `CREATE TABLE IF NOT EXISTS iam_attachments (
        account_id TEXT NOT NULL,
        principal_type TEXT NOT NULL,
        principal_name_lower TEXT NOT NULL,
        policy_arn TEXT NOT NULL,
        attached_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, principal_type, principal_name_lower, policy_arn)
      )`,
      `CREATE INDEX IF NOT EXISTS iam_attachments_by_policy ON iam_attachments (policy_arn)`,
      `CREATE TABLE IF NOT EXISTS iam_oidc_providers (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        url TEXT NOT NULL,
        client_ids TEXT NOT NULL,
        thumbprints TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (account_id, url)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_access_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        user_name_lower TEXT NOT NULL,
        secret_access_key TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        last_used_service TEXT,
        last_used_region TEXT
      )`,
      `CREATE INDEX IF NOT EXISTS iam_access_keys_by_user ON iam_access_keys (account_id, user_name_lower)`,
    ],
  },
  {
    // Groups with their members, instance profiles with their role, users' console passwords (scrypt hashes,
    // never the password), and service-linked-role deletion tasks.
    id: 'iam-0002-groups-profiles',
    sql: [
      `CREATE TABLE IF NOT EXISTS iam_groups (
        account_id TEXT NOT NULL,
        group_name_lower TEXT NOT NULL,
        group_name TEXT NOT NULL,
        group_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, group_name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_group_members (
        account_id TEXT NOT NULL,
        group_name_lower TEXT NOT NULL,
        user_name_lower TEXT NOT NULL,
        added_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, group_name_lower, user_name_lower)
      )`,
      `CREATE INDEX IF NOT EXISTS iam_group_members_by_user ON iam_group_members (account_id, user_name_lower)`,
      `CREATE TABLE IF NOT EXISTS iam_instance_profiles (
        account_id TEXT NOT NULL,
        name_lower TEXT NOT NULL,
        name TEXT NOT NULL,
        profile_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        arn TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_instance_profile_roles (
        account_id TEXT NOT NULL,
        profile_name_lower TEXT NOT NULL,
        role_name_lower TEXT NOT NULL,
        PRIMARY KEY (account_id, profile_name_lower, role_name_lower)
      )`,
      `CREATE TABLE IF NOT EXISTS iam_login_profiles (
        account_id TEXT NOT NULL,
        user_name_lower TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        password_reset_required INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, user_name_lower)
      )`,
    ],
  },
  {
    // The account password policy (UpdateAccountPasswordPolicy), as JSON.
    id: 'iam-0003-password-policy',
    sql: [
      `CREATE TABLE IF NOT EXISTS iam_password_policies (
        account_id TEXT PRIMARY KEY,
        policy TEXT NOT NULL
      )`,
    ],
  },
]
