/**
 * @module server/app
 * The one route table: request ids, metrics and access logs around everything; /healthz, /readyz,
 * /metrics; the issuers' discovery and JWKS; then every protocol module in registry order.
 */
import { randomUUID } from 'node:crypto'
import type { Context } from 'hono'
import { Hono } from 'hono'
import { isStoreUnavailable } from '../store/errors.ts'
import type { AppContext } from '../app/context.ts'
import { issuerModule } from './issuer-routes.ts'
import { auditApiModule } from './audit-api.ts'
import { routeClass } from './metrics.ts'
import type { ServerMetrics } from './metrics.ts'
import type { ProtocolModule } from '../app/module.ts'
import type { RateLimiter } from './rate-limit.ts'
import { apiFamilyOf, throttledResponse, unavailableResponse } from './retryable.ts'
import { requestScope } from './request-scope.ts'

export interface CreateAppOptions {
  modules: readonly ProtocolModule[]
  metrics: ServerMetrics
  /** False until startup (migrations, config) finished; /readyz answers 503 meanwhile. */
  isReady?: () => boolean
  /** True once shutdown began: /readyz answers 503 so load balancers stop sending, in-flight requests finish. */
  isDraining?: () => boolean
  /** Per-source limit on failing and unauthenticated requests (none when undefined). */
  rateLimiter?: RateLimiter
  /** Every request as one JSON line at info (default: only ≥ 500 at warn). */
  logRequests?: boolean
}

/** Paths no limiter ever refuses: probes, metrics, and the public, cacheable discovery documents and keys. */
function exemptFromLimit(path: string): boolean {
  return (
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path.includes('/.well-known/') ||
    path.endsWith('/jwks') ||
    path.endsWith('/keys') ||
    path.endsWith('/certs')
  )
}

/** No SigV4 header or query signature, no bearer: an anonymous request (web-identity exchanges included). */
function isUnauthenticated(c: Context): boolean {
  return c.req.header('authorization') === undefined && c.req.query('X-Amz-Signature') === undefined
}

function sourceOf(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return (env?.incoming?.socket?.remoteAddress ?? 'unknown').replace(/^::ffff:/, '')
}

/** What an anonymous success costs against the bucket, relative to a failure (1). */
const UNAUTHENTICATED_COST = 0.2

export function createApp(ctx: AppContext, options: CreateAppOptions): Hono {
  const app = new Hono()
  const { metrics } = options
  const limiter = options.rateLimiter

  app.use('*', async (c, next) => {
    const start = process.hrtime.bigint()
    const route = routeClass(c.req.path)
    const source = sourceOf(c)
    const limited = limiter !== undefined && limiter.enabled && !exemptFromLimit(c.req.path)
    const wait = limited ? limiter.retryAfter(source) : 0
    if (wait > 0) {
      metrics.throttled.inc({ reason: isUnauthenticated(c) ? 'unauthenticated' : 'failure' })
      c.res = throttledResponse(c.req.path, wait)
    } else {
      await requestScope.run({ startedAt: start }, next)
      if (limited) {
        const failed = c.res.status >= 400 && c.res.status !== 503
        limiter.charge(source, failed ? 1 : isUnauthenticated(c) ? UNAUTHENTICATED_COST : 0)
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const status = String(c.res.status)
    metrics.httpRequests.inc({ method: c.req.method, route, status })
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds)
    const failed = c.res.status >= 500
    if (!failed && options.logRequests !== true) return
    // The path only: a query string may carry a presigned request's signature or credentials.
    const line = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(seconds * 100_000) / 100,
      source,
      api: apiFamilyOf(c.req.path),
    }
    if (failed) ctx.log.warn('http.request', line)
    else ctx.log.info('http.request', line)
  })

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    if (options.isDraining?.() === true) return c.json({ status: 'draining' }, 503)
    if (options.isReady !== undefined && !options.isReady())
      return c.json({ status: 'starting' }, 503)
    try {
      await ctx.db.get('SELECT 1 AS ok')
      return c.json({ status: 'ready' })
    } catch (err) {
      ctx.log.error('store.unavailable', { error: err })
      return c.json({ status: 'store unavailable' }, 503)
    }
  })
  app.get('/metrics', async (c) => {
    c.header('content-type', metrics.registry.contentType)
    return c.body(await metrics.registry.metrics())
  })

  for (const m of [issuerModule, auditApiModule, ...options.modules]) m.mount?.(app, ctx)

  app.notFound((c) => c.json({ error: 'NotFound', message: 'no route for this request' }, 404))
  app.onError((err, c) => {
    if (isStoreUnavailable(err)) {
      ctx.log.warn('store.unavailable', { method: c.req.method, path: c.req.path })
      return unavailableResponse(c.req.path)
    }
    const errorId = randomUUID()
    ctx.log.error('http.error', { errorId, method: c.req.method, path: c.req.path, error: err })
    return c.json({ error: 'InternalError', message: 'internal error', errorId }, 500)
  })
  return app
}
