/**
 * @module setup/module
 * The self-hosted issuer kit's `ProtocolModule`: its table only (it serves no routes; the CLI drives it).
 */
import type { ProtocolModule } from '../app/module.ts'
import { setupMigrations } from './migrations.ts'

export const setupModule: ProtocolModule = {
  name: 'setup',
  migrations: setupMigrations,
}
