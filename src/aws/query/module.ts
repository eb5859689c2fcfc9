/**
 * @module aws/query/module
 * Mounts the awsQuery front door on the route table, LAST: it takes every remaining request shaped like
 * awsQuery (form POST, or `?Action=` GET) at `/` and at any path prefix an SDK keeps from its endpoint URL
 * (`/sts/v1`, `/sts/v1/`), and registers the STS service.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { ProtocolModule } from '../../app/module.ts'
import { BodyTooLargeError, readBody } from '../body.ts'
import { socketFacts } from '../request-facts.ts'
import { renderErrorResponse } from '../xml.ts'
import { dispatchQuery, looksLikeQuery } from './dispatch.ts'
import { createQueryServiceTable, type QueryService } from './registry.ts'

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

/**
 * The awsQuery front door over `services` (one lookup table per app instance). Mount it LAST.
 * @example createAwsQueryModule([stsService, iamService])
 */
export function createAwsQueryModule(services: readonly QueryService[]): ProtocolModule {
  return {
    name: 'aws-query',
    mount(app, ctx) {
      const table = createQueryServiceTable(services)
      app.on(['GET', 'POST'], '*', async (c) => {
        const env = c.env as { incoming?: IncomingMessage } | undefined
        const raw = rawRequestParts(env?.incoming)
        const socket = socketFacts(env?.incoming)
        // Only without Node's request (app.request in tests) is the URL parsed: not on the hot path.
        const requestUrl = raw.url === undefined ? new URL(c.req.url) : undefined
        const url = raw.url ?? `${requestUrl!.pathname}${requestUrl!.search}`
        const headers = raw.headers ?? c.req.raw.headers
        if (!looksLikeQuery(c.req.method, url, headers)) return c.notFound()
        let body: Uint8Array
        try {
          body =
            c.req.method === 'POST' ? await readBody(c, MAX_QUERY_BODY_BYTES) : new Uint8Array()
        } catch (err) {
          if (!(err instanceof BodyTooLargeError)) throw err
          return c.body(tooLarge(err.limit), 413, { 'content-type': 'text/xml' })
        }
        const response = await dispatchQuery(ctx, table, {
          method: c.req.method,
          url,
          headers,
          body,
          sourceIp: socket.sourceIp ?? '127.0.0.1',
          secureTransport: socket.secureTransport ?? requestUrl?.protocol === 'https:',
        })
        return c.body(response.body, response.status as 200, response.headers)
      })
    },
  }
}
