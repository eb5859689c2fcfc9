/**
 * @module server/request-scope
 * Per-request values the composition root's middleware sets and its audit wrapper reads (the arrival time,
 * for decision latency), without threading them through every protocol module.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

export interface RequestScope {
  /** `process.hrtime.bigint()` when the request arrived. */
  startedAt: bigint
}

export const requestScope = new AsyncLocalStorage<RequestScope>()
