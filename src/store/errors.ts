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
] as const

export type StoreErrorCode = (typeof storeErrorCodes)[number]

export class StoreError extends PodtrustError<StoreErrorCode> {}
