/**
 * @module server/audit-metrics
 * Wraps the audit sink so that every audited decision is also counted: per service, action, decision
 * (`Allow` or the error code) and identity path, with its latency from the request's arrival; and every
 * audit write that fails (the request then fails closed) is counted too.
 */
import type { AuditEvent, AuditSink } from '../audit/types.ts'
import { identityPath } from './metrics.ts'
import type { ServerMetrics } from './metrics.ts'
import { requestScope } from './request-scope.ts'

export function meteredAuditSink<S extends AuditSink>(sink: S, metrics: ServerMetrics): S {
  const record = async (event: AuditEvent): Promise<void> => {
    const path = identityPath(event.eventSource, event.eventName)
    const labels = { service: event.eventSource, action: event.eventName, path }
    metrics.decisions.inc({
      service: labels.service,
      action: labels.action,
      path,
      decision: event.errorCode ?? 'Allow',
    })
    const scope = requestScope.getStore()
    if (scope !== undefined)
      metrics.decisionDuration.observe(
        labels,
        Number(process.hrtime.bigint() - scope.startedAt) / 1e9,
      )
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
