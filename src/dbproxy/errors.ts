/**
 * @module dbproxy/errors
 * Errors of the database proxy's management side (declaring instances, starting the listener). Connection
 * failures never surface as exceptions to callers: they become the wire protocol's own error packets.
 */
import { PodtrustError } from '../errors.ts'

export type DbProxyErrorCode =
  | 'DB_INSTANCE_INVALID'
  | 'DB_INSTANCE_NOT_FOUND'
  | 'DB_INSTANCE_CONFLICT'
  | 'DB_PROXY_TLS'
  | 'DB_PROXY_LISTEN'

export class DbProxyError extends PodtrustError<DbProxyErrorCode> {}
