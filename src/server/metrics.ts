/**
 * @module server/metrics
 * Prometheus metrics on a per-server registry (tests run several servers in one process), served at
 * `/metrics`. Protocol modules add their own counters through `ctx.metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface ServerMetrics {
  registry: Registry
  httpRequests: Counter<'method' | 'route' | 'status'>
  httpDuration: Histogram<'method' | 'route'>
  /** Every audited decision: service (event source), action, decision, identity path. */
  decisions: Counter<'service' | 'action' | 'decision' | 'path'>
  decisionDuration: Histogram<'service' | 'action' | 'path'>
  auditWriteFailures: Counter
  auditDroppedOversize: Counter
  throttled: Counter<'reason'>
  storeConnectionErrors: Counter
  storeQueryDuration: Histogram<'ok'>
  /** Reports the store's pool occupancy at each scrape (PostgreSQL). */
  observePool(db: { poolStats?(): { total: number; idle: number; waiting: number } }): void
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'podtrust_' })
  const httpRequests = new Counter({
    name: 'podtrust_http_requests_total',
    help: 'HTTP requests served, by method, route class and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const httpDuration = new Histogram({
    name: 'podtrust_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by method and route class',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const decisions = new Counter({
    name: 'podtrust_decisions_total',
    help: 'Audited decisions, by service (event source), action, decision (Allow or the error code) and identity path',
    labelNames: ['service', 'action', 'decision', 'path'] as const,
    registers: [registry],
  })
  const decisionDuration = new Histogram({
    name: 'podtrust_decision_duration_seconds',
    help: 'Time from request arrival to its audited decision, by service, action and identity path',
    labelNames: ['service', 'action', 'path'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const auditWriteFailures = new Counter({
    name: 'podtrust_audit_write_failures_total',
    help: 'Audit events that could not be committed (the request failed closed)',
    registers: [registry],
  })
  const auditDroppedOversize = new Counter({
    name: 'podtrust_audit_truncated_events_total',
    help: 'Audit events whose request parameters were truncated to the per-event bound',
    registers: [registry],
  })
  const throttled = new Counter({
    name: 'podtrust_throttled_requests_total',
    help: 'Requests refused by the per-source rate limit, by reason (unauthenticated, failure)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const storeConnectionErrors = new Counter({
    name: 'podtrust_store_connection_errors_total',
    help: 'Store connections lost or refused (PostgreSQL); the pool reconnects',
    registers: [registry],
  })
  const storeQueryDuration = new Histogram({
    name: 'podtrust_store_query_duration_seconds',
    help: 'Store statement latency (PostgreSQL), by outcome',
    labelNames: ['ok'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const pools: { poolStats?(): { total: number; idle: number; waiting: number } }[] = []
  const poolGauge = new Gauge({
    name: 'podtrust_store_pool_connections',
    help: 'Store pool connections (PostgreSQL), by state: total, idle, waiting (queued requests)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const p of pools) {
        const stats = p.poolStats?.()
        if (stats === undefined) continue
        this.set({ state: 'total' }, stats.total)
        this.set({ state: 'idle' }, stats.idle)
        this.set({ state: 'waiting' }, stats.waiting)
      }
    },
  })
  void poolGauge
  return {
    registry,
    httpRequests,
    httpDuration,
    decisions,
    decisionDuration,
    auditWriteFailures,
    auditDroppedOversize,
    throttled,
    storeConnectionErrors,
    storeQueryDuration,
    observePool: (db) => void pools.push(db),
  }
}

/** The identity path of an audited event: which federation or API it went through (a metrics label). */
export function identityPath(eventSource: string, eventName: string): string {
  if (eventName === 'AssumeRoleWithWebIdentity') return 'irsa'
  if (eventName === 'AssumeRoleForPodIdentity') return 'pod-identity'
  if (eventSource.includes('microsoftonline') || eventSource.startsWith('azure')) return 'azure'
  if (eventSource.endsWith('googleapis.com')) return 'gcp'
  if (eventSource.startsWith('s3') || eventSource.startsWith('sqs')) return 'gateway'
  return 'aws-api'
}

/**
 * A low-cardinality label for a path: the first segment only, so ids and names in paths (cluster names,
 * tenants) never become label values.
 */
export function routeClass(path: string): string {
  if (path === '/' || path === '') return '/'
  if (path.endsWith('/.well-known/openid-configuration')) return 'discovery'
  if (path.endsWith('/openid/v1/jwks')) return 'jwks'
  const first = path.split('/')[1] ?? ''
  return ['healthz', 'readyz', 'metrics', 'clusters', 'v1', 'issuers'].includes(first)
    ? `/${first}`
    : 'other'
}
