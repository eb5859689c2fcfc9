/**
 * @module dbproxy/module
 * The database proxy's part of the app: its table (`dbproxy_instances`) and its config section
 * (`databases:`). It mounts no HTTP routes; its listener (`startDbProxy`) is started by `podtrust up
 * --db-proxy-port` and `podtrust dbproxy` on the app's context.
 */
import type { ProtocolModule } from '../app/module.ts'
import type { ConfigSection } from '../config/section.ts'
import { databasesSection } from './config.ts'
import { dbproxyMigrations } from './migrations.ts'

export const dbproxyModule: ProtocolModule = {
  name: 'dbproxy',
  migrations: dbproxyMigrations,
  configSections: [databasesSection as ConfigSection],
}
