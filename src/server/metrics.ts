/**
 * @module server/metrics
 * Prometheus metrics on a per-server registry (tests run several servers in one process), served at
 * `/metrics`. Protocol modules add their own counters through `ctx.metrics`.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface ServerMetrics {
  registry: Registry
  httpRequests: Counter<'method' | 'route' | 'status'>
  httpDuration: Histogram<'method' | 'route'>
}

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
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  return { registry, httpRequests, httpDuration }
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
