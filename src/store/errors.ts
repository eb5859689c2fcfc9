/**
 * @module store/errors
 * Errors of the store layer: opening an engine, parsing a store URL, running migrations.
 */
import { PodtrustError } from '../errors.ts'

export const storeErrorCodes = [
  'STORE_URL_INVALID',
  'STORE_OPEN_FAILED',
  'STORE_MIGRATION_FAILED',
  'STORE_WRITE_FAILED',
  'STORE_UNAVAILABLE',
] as const

export type StoreErrorCode = (typeof storeErrorCodes)[number]

export class StoreError extends PodtrustError<StoreErrorCode> {}

/**
 * True when `err` is the store being unreachable for now (a lost connection, a refused or timed-out connect,
 * the server shutting down, a statement timeout): protocols answer their retryable "try again" error
 * (AWS `503 ServiceUnavailable`), never a 500, and the request can be retried on any replica.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof StoreError && e.code === 'STORE_UNAVAILABLE') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
