/**
 * @module gateway/module
 * The gateway's module export: its tables (bucket and queue policies, listener/backend settings) and its
 * `gateway` config section. It mounts no routes on the control-plane server: the data plane listens on its
 * own port (`startGateway`, started by `podtrust up --gateway-port` or `podtrust gateway`).
 */
import type { ProtocolModule } from '../app/module.ts'
import type { ConfigSection } from '../config/section.ts'
import { gatewayConfigSection } from './config.ts'
import { gatewayMigrations } from './migrations.ts'

export const gatewayModule: ProtocolModule = {
  name: 'gateway',
  migrations: gatewayMigrations,
  configSections: [gatewayConfigSection as ConfigSection],
}
