/**
 * @module aws/query/module
 * Mounts the awsQuery front door on the route table, LAST: it takes every remaining request shaped like
 * awsQuery (form POST, or `?Action=` GET) at `/` and at any path prefix an SDK keeps from its endpoint URL
 * (`/sts/v1`, `/sts/v1/`), and registers the STS service.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../../app/context.ts'
import type { NodeAnswer, ProtocolModule } from '../../app/module.ts'
import { BodyTooLargeError, readBody, readIncomingBody } from '../body.ts'
import { socketFacts } from '../request-facts.ts'
import { renderErrorResponse } from '../xml.ts'
import { dispatchQuery, looksLikeQuery, type QueryHttpRequest } from './dispatch.ts'
import { createQueryServiceTable, type QueryService, type QueryServiceTable } from './registry.ts'

/** Raw target and header pairs from Node's request: SigV4 needs them unnormalized, duplicates kept. */
function rawRequestParts(incoming: IncomingMessage | undefined): {
  url?: string
  headers?: [string, string][]
} {
  if (incoming === undefined) return {}
  const raw = incoming.rawHeaders
  const headers: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string])
  return { ...(incoming.url === undefined ? {} : { url: incoming.url }), headers }
}

/**
 * Bound on a form body. The largest legitimate parameters are policy documents (IAM: 131,072 characters
 * per managed policy version) and web identity tokens (20,000), percent-encoded up to 3× their size.
 */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024

function tooLarge(limit: number): string {
  return renderErrorResponse(
    'https://sts.amazonaws.com/doc/2011-06-15/',
    {
      type: 'Sender',
      code: 'RequestEntityTooLarge',
      message: `Request body must be at most ${limit} bytes`,
    },
    randomUUID(),
  )
}

/** Whether a Node request is the hot awsQuery shape: a form POST to `/` (no query string). */
function isFormPostToRoot(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url !== '/') return false
  const type = req.headers['content-type']
  return type !== undefined && type.toLowerCase().startsWith('application/x-www-form-urlencoded')
}

function xmlAnswer(status: number, body: string): NodeAnswer {
  return { status, headers: { 'content-type': 'text/xml' }, body }
}

/**
 * One awsQuery request once its body is available: what both the Hono route and the plain node:http route
 * answer. Rejects only when reading the body fails for another reason than its size.
 */
async function answerQuery(
  ctx: AppContext,
  table: QueryServiceTable,
  request: Omit<QueryHttpRequest, 'body'>,
  body: () => Promise<Uint8Array>,
): Promise<NodeAnswer> {
  let bytes: Uint8Array
  try {
    bytes = request.method === 'POST' ? await body() : new Uint8Array()
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err
    return xmlAnswer(413, tooLarge(err.limit))
  }
  return dispatchQuery(ctx, table, { ...request, body: bytes })
}

/**
 * The awsQuery front door over `services` (one lookup table per app instance). Mount it LAST.
 * @example createAwsQueryModule([stsService, iamService])
 */
export function createAwsQueryModule(services: readonly QueryService[]): ProtocolModule {
  let shared: QueryServiceTable | undefined
  const tableOf = (): QueryServiceTable => (shared ??= createQueryServiceTable(services))
  return {
    name: 'aws-query',
    mount(app, ctx) {
      const table = tableOf()
      app.on(['GET', 'POST'], '*', async (c) => {
        const env = c.env as { incoming?: IncomingMessage } | undefined
        const raw = rawRequestParts(env?.incoming)
        const socket = socketFacts(env?.incoming)
        // Only without Node's request (app.request in tests) is the URL parsed: not on the hot path.
        const requestUrl = raw.url === undefined ? new URL(c.req.url) : undefined
        const url = raw.url ?? `${requestUrl!.pathname}${requestUrl!.search}`
        const headers = raw.headers ?? c.req.raw.headers
        if (!looksLikeQuery(c.req.method, url, headers)) return c.notFound()
        const response = await answerQuery(
          ctx,
          table,
          {
            method: c.req.method,
            url,
            headers,
            sourceIp: socket.sourceIp ?? '127.0.0.1',
            secureTransport: socket.secureTransport ?? requestUrl?.protocol === 'https:',
          },
          () => readBody(c, MAX_QUERY_BODY_BYTES),
        )
        return c.body(response.body, response.status as 200, response.headers)
      })
    },
    // The same answers for the hottest shape, on plain node:http (app/module.ts, NodeRoute).
    nodeRoutes(ctx) {
      const table = tableOf()
      return [
        {
          matches: isFormPostToRoot,
          handle(req, startedAt) {
            const socket = socketFacts(req)
            return answerQuery(
              ctx,
              table,
              {
                method: 'POST',
                url: '/',
                headers: rawRequestParts(req).headers ?? [],
                sourceIp: socket.sourceIp ?? '127.0.0.1',
                secureTransport: socket.secureTransport ?? false,
                startedAt,
              },
              () => readIncomingBody(req, MAX_QUERY_BODY_BYTES),
            )
          },
        },
      ]
    },
  }
}
