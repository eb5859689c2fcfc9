/**
 * @module server/audit-metrics
 * Wraps the audit sink so that every audited decision is also counted: per service, action, decision
 * (`Allow` or the error code) and identity path, with its latency from the request's arrival; and every
 * audit write that fails (the request then fails closed) is counted too.
 */
import type { AuditEvent, AuditSink, RecordMeta } from '../audit/types.ts'
import { identityPath } from './metrics.ts'
import type { ServerMetrics } from './metrics.ts'
import { requestScope } from './request-scope.ts'

interface DecisionMetrics {
  inc(): void
  observe(seconds: number): void
}

export function meteredAuditSink<S extends AuditSink>(sink: S, metrics: ServerMetrics): S {
  // Bound label sets, as in http-observer.ts (prom-client hashes a label object on every call).
  const bound = new Map<string, DecisionMetrics>()
  const boundOf = (service: string, action: string, decision: string): DecisionMetrics => {
    const key = `${service} ${action} ${decision}`
    let child = bound.get(key)
    if (child === undefined) {
      const path = identityPath(service, action)
      const decisions = metrics.decisions.labels({ service, action, path, decision })
      const duration = metrics.decisionDuration.labels({ service, action, path })
      child = { inc: () => decisions.inc(), observe: (seconds) => duration.observe(seconds) }
      if (bound.size >= 4096) bound.clear()
      bound.set(key, child)
    }
    return child
  }
  const record = async (event: AuditEvent, meta?: RecordMeta): Promise<void> => {
    const child = boundOf(event.eventSource, event.eventName, event.errorCode ?? 'Allow')
    child.inc()
    // The plain node:http routes pass the arrival time; the route table's requests carry it in their scope.
    const startedAt = meta?.startedAt ?? requestScope.getStore()?.startedAt
    if (startedAt !== undefined) child.observe(Number(process.hrtime.bigint() - startedAt) / 1e9)
    try {
      await sink.record(event)
    } catch (err) {
      metrics.auditWriteFailures.inc()
      throw err
    }
  }
  return new Proxy(sink, {
    get(target, prop, receiver) {
      if (prop === 'record') return record
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
}
