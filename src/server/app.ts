/**
 * @module server/app
 * The one route table: request ids, metrics and access logs around everything; /healthz, /readyz,
 * /metrics; the issuers' discovery and JWKS; then every protocol module in registry order.
 */
import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import type { AppContext } from '../app/context.ts'
import { issuerModule } from './issuer-routes.ts'
import { routeClass } from './metrics.ts'
import type { ServerMetrics } from './metrics.ts'
import type { ProtocolModule } from '../app/module.ts'

export interface CreateAppOptions {
  modules: readonly ProtocolModule[]
  metrics: ServerMetrics
  /** False until startup (migrations, config) finished; /readyz answers 503 meanwhile. */
  isReady?: () => boolean
}

export function createApp(ctx: AppContext, options: CreateAppOptions): Hono {
  const app = new Hono()
  const { metrics } = options

  app.use('*', async (c, next) => {
    const start = process.hrtime.bigint()
    const route = routeClass(c.req.path)
    await next()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const status = String(c.res.status)
    metrics.httpRequests.inc({ method: c.req.method, route, status })
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds)
    // The path only: a query string may carry a presigned request's signature or credentials.
    if (c.res.status >= 500) {
      ctx.log.warn('http.request', {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: seconds * 1000,
      })
    }
  })

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
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

  for (const m of [issuerModule, ...options.modules]) m.mount?.(app, ctx)

  app.notFound((c) => c.json({ error: 'NotFound', message: 'no route for this request' }, 404))
  app.onError((err, c) => {
    const errorId = randomUUID()
    ctx.log.error('http.error', { errorId, method: c.req.method, path: c.req.path, error: err })
    return c.json({ error: 'InternalError', message: 'internal error', errorId }, 500)
  })
  return app
}
