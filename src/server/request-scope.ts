/**
 * @module server/request-scope
 * Per-request values the composition root's middleware sets and its audit wrapper reads (the arrival time,
 * for decision latency), without threading them through every protocol module.
 */
import { createAsyncScope } from '../store/async-scope.ts'

export interface RequestScope {
  /** `process.hrtime.bigint()` when the request arrived. */
  startedAt: bigint
}

/** On only while a scoped request is in flight (store/async-scope.ts: promise hooks cost every request). */
export const requestScope = createAsyncScope<RequestScope>()
