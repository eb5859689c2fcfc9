/**
 * @module dbproxy/mysql/session
 * MySQL protocol sessions (placeholder until the MySQL adapter lands): refuses with ER_ACCESS_DENIED.
 */
import type { Socket } from 'node:net'
import type { BackendUrl, DbInstance } from '../instances.ts'
import { closeSocket } from '../wire.ts'

export interface MysqlSessionDeps {
  backendFor(
    instance: DbInstance,
    dbUser: string,
  ): { url: BackendUrl; password: string | undefined }
}

export async function serveMysqlClient(socket: Socket, _deps: MysqlSessionDeps): Promise<void> {
  closeSocket(socket)
}
