/**
 * @module store/migrations
 * The registry of every module's migrations, in the order they run. Each module owns its list (ids prefixed
 * with the module name, e.g. `iam-0001-roles`); adding one is one import and one spread, appended below.
 */
import type { Migration } from './db.ts'
import { keysMigrations } from '../keys/migrations.ts'
import { tokensMigrations } from '../tokens/migrations.ts'
import { auditMigrations } from '../audit/migrations.ts'
import { eksMigrations } from '../aws/eks/migrations.ts'
import { iamMigrations } from '../aws/iam/migrations.ts'
import { azureMigrations } from '../azure/migrations.ts'
import { gcpMigrations } from '../gcp/migrations.ts'
import { identityMigrations } from '../identity/migrations.ts'
import { dbproxyMigrations } from '../dbproxy/migrations.ts'

export const migrations: Migration[] = [
  ...keysMigrations,
  ...tokensMigrations,
  ...auditMigrations,
  ...eksMigrations,
  ...iamMigrations,
  ...azureMigrations,
  ...gcpMigrations,
  ...identityMigrations,
  ...dbproxyMigrations,
]
