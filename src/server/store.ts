/**
 * @module server/store
 * Opens the store with the app's migrations (every module's, assembled in src/server/modules.ts): what the
 * server, the CLI and tests call. `store/open.ts` itself knows no module.
 *
 * @example const db = await openDb({ dataDir: '.podtrust' })
 */
import type { Db } from '../store/db.ts'
import { openDb as openStoreDb, type OpenDbOptions } from '../store/open.ts'
import { appMigrations } from './modules.ts'

export type AppDbOptions = Omit<OpenDbOptions, 'migrations'> &
  Partial<Pick<OpenDbOptions, 'migrations'>>

export function openDb(options: AppDbOptions): Promise<Db> {
  return openStoreDb({ ...options, migrations: options.migrations ?? appMigrations })
}
