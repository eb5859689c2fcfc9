/**
 * @module server/node-listener
 * The request listener of podtrust's HTTP and HTTPS servers: the modules' plain node:http routes
 * (`NodeRoute`, src/app/module.ts) first, with the route table's middleware (`HttpObserver`) and error
 * answers; everything else goes to the Hono route table through @hono/node-server.
 *
 * Why not Hono for everything: for an AssumeRoleWithWebIdentity the Web `Request`/`Response` conversion and
 * the Hono dispatch cost about a fifth of the server's CPU (docs/sts.md, Benchmark); the gateway
 * (src/gateway/server.ts) serves raw node:http for the same kind of reason.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { AppContext } from '../app/context.ts'
import type { NodeAnswer, NodeRoute } from '../app/module.ts'
import { failureOf } from './app.ts'
import { sourceAddress, type HttpObserver } from './http-observer.ts'
import { apiFamilyOf, unavailableQueryAnswer } from './retryable.ts'

function send(res: ServerResponse, answer: NodeAnswer): void {
  // Header names and order as @hono/node-server writes them for the same answer.
  const headers: Record<string, string | number> = answer.headers
  headers['Content-Length'] = Buffer.byteLength(answer.body)
  res.writeHead(answer.status, headers)
  res.end(answer.body)
}

async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => (headers[name] = value))
  send(res, { status: response.status, headers, body: await response.text() })
}

/** How long and how much of an unread request body is drained before the socket is closed (the values
 * @hono/node-server uses for the same case, so both listeners end such connections alike). */
const DRAIN_TIMEOUT_MS = 500
const MAX_DRAIN_BYTES = 64 * 1024 * 1024

/** After an answer sent before the body was read (413): read and drop the rest, bounded, then close. */
function drainUnread(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return
  let bytes = 0
  const cleanup = () => {
    clearTimeout(timer)
    req.off('data', onData)
    req.off('end', cleanup)
    req.off('error', cleanup)
  }
  const forceClose = () => {
    cleanup()
    if (!req.socket.destroyed) req.socket.destroySoon()
  }
  const timer = setTimeout(forceClose, DRAIN_TIMEOUT_MS)
  timer.unref()
  const onData = (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > MAX_DRAIN_BYTES) forceClose()
  }
  req.on('data', onData)
  req.on('end', cleanup)
  req.on('error', cleanup)
  req.resume()
}

/** The path of a request target, without its query string. */
function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** No SigV4 header or query signature, no bearer (as the route table's middleware decides it). */
function isUnauthenticated(req: IncomingMessage): boolean {
  if (req.headers.authorization !== undefined) return false
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 || new URLSearchParams(url.slice(q + 1)).get('X-Amz-Signature') === null
}

export function createNodeListener(options: {
  ctx: AppContext
  routes: readonly NodeRoute[]
  observer: HttpObserver
  /** The Hono route table (through @hono/node-server), for every request no route takes. */
  fallback: RequestListener
}): RequestListener {
  const { ctx, routes, observer, fallback } = options
  if (routes.length === 0) return fallback

  const serve = async (req: IncomingMessage, res: ServerResponse, route: NodeRoute) => {
    const startedAt = process.hrtime.bigint()
    const method = req.method ?? 'GET'
    const path = pathOf(req.url ?? '/')
    const source = sourceAddress(req.socket.remoteAddress)
    const limited = observer.limits(path)
    let answer: NodeAnswer | Response
    try {
      answer = await route.handle(req, startedAt)
    } catch (err) {
      const failure = failureOf(ctx, err, method, path)
      answer =
        failure instanceof Response
          ? // The awsQuery 503 from its parts: header order as the route table sends it.
            apiFamilyOf(path) === 'aws-query'
            ? unavailableQueryAnswer()
            : failure
          : {
              status: 500,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(failure),
            }
    }
    observer.finish({
      method,
      path,
      source,
      limited,
      unauthenticated: limited && isUnauthenticated(req),
      status: answer.status,
      startedAt,
    })
    if (answer instanceof Response) await sendResponse(res, answer)
    else send(res, answer)
    drainUnread(req)
  }

  return (req, res) => {
    let route: NodeRoute | undefined
    for (const r of routes)
      if (r.matches(req)) {
        route = r
        break
      }
    // A throttled request gets the route table's answer (the limiter's check is pure: it asks again).
    if (
      route === undefined ||
      (observer.limits(pathOf(req.url ?? '/')) &&
        observer.retryAfter(sourceAddress(req.socket.remoteAddress)) > 0)
    ) {
      void fallback(req, res)
      return
    }
    serve(req, res, route).catch((err: unknown) => {
      ctx.log.error('http.send_failed', { error: err instanceof Error ? err.message : String(err) })
      res.destroy()
    })
  }
}
