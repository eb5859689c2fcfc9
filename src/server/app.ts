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
import type { ServerMetrics } from './metrics.ts'
import type { ProtocolModule } from '../app/module.ts'
import type { RateLimiter } from './rate-limit.ts'
import { throttledResponse, unavailableResponse } from './retryable.ts'
import { createHttpObserver, sourceAddress, type HttpObserver } from './http-observer.ts'
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
  /** Rate limit, metrics and access log shared with the plain node:http routes (else built from the above). */
  observer?: HttpObserver
}

/** No SigV4 header or query signature, no bearer: an anonymous request (web-identity exchanges included). */
function isUnauthenticated(c: Context): boolean {
  return c.req.header('authorization') === undefined && c.req.query('X-Amz-Signature') === undefined
}

function sourceOf(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return sourceAddress(env?.incoming?.socket?.remoteAddress)
}

/** The JSON body of a 500: an error id to find the log line, no details. */
export interface InternalErrorBody {
  error: 'InternalError'
  message: 'internal error'
  errorId: string
}

/**
 * The route table's answer to an error a handler threw: the protocol's 503 when the store is unavailable
 * (a Response), else the logged 500's JSON body.
 */
export function failureOf(
  ctx: AppContext,
  err: unknown,
  method: string,
  path: string,
): Response | InternalErrorBody {
  if (isStoreUnavailable(err)) {
    ctx.log.warn('store.unavailable', { method, path })
    return unavailableResponse(path)
  }
  const errorId = randomUUID()
  ctx.log.error('http.error', { errorId, method, path, error: err })
  return { error: 'InternalError', message: 'internal error', errorId }
}

export function createApp(ctx: AppContext, options: CreateAppOptions): Hono {
  const app = new Hono()
  const { metrics } = options
  const observer =
    options.observer ??
    createHttpObserver({
      metrics,
      log: ctx.log,
      rateLimiter: options.rateLimiter,
      logRequests: options.logRequests,
    })

  app.use('*', async (c, next) => {
    const startedAt = process.hrtime.bigint()
    const path = c.req.path
    const source = sourceOf(c)
    const limited = observer.limits(path)
    const wait = limited ? observer.retryAfter(source) : 0
    if (wait > 0) {
      observer.throttled(isUnauthenticated(c))
      c.res = throttledResponse(path, wait)
    } else {
      await requestScope.run({ startedAt }, next)
    }
    observer.finish({
      method: c.req.method,
      path,
      source,
      limited: limited && wait <= 0,
      // Asked only when it matters (the limiter charges by it).
      unauthenticated: limited && wait <= 0 && isUnauthenticated(c),
      status: c.res.status,
      startedAt,
    })
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
    const failure = failureOf(ctx, err, c.req.method, c.req.path)
    return failure instanceof Response ? failure : c.json(failure, 500)
  })
  return app
}
