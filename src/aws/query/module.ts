/**
 * @module aws/query/module
 * Mounts the awsQuery front door on the route table, LAST: it takes every remaining request shaped like
 * awsQuery (form POST, or `?Action=` GET) at `/` and at any path prefix an SDK keeps from its endpoint URL
 * (`/sts/v1`, `/sts/v1/`), and registers the STS service.
 */
import type { IncomingMessage } from 'node:http'
import type { ProtocolModule } from '../../server/module.ts'
import { dispatchQuery, looksLikeQuery } from './dispatch.ts'
import { registerStsService } from '../sts/service.ts'

/** Raw target and header pairs from Node's request: SigV4 needs them unnormalized, duplicates kept. */
function rawRequestParts(incoming: IncomingMessage | undefined): {
  url?: string
  headers?: [string, string][]
  sourceIp?: string
  secure?: boolean
} {
  if (incoming === undefined) return {}
  const raw = incoming.rawHeaders
  const headers: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string])
  const socket = incoming.socket as (typeof incoming.socket & { encrypted?: boolean }) | undefined
  return {
    ...(incoming.url === undefined ? {} : { url: incoming.url }),
    headers,
    ...(socket?.remoteAddress === undefined
      ? {}
      : { sourceIp: socket.remoteAddress.replace(/^::ffff:/, '') }),
    secure: socket?.encrypted === true,
  }
}

export const awsQueryModule: ProtocolModule = {
  name: 'aws-query',
  mount(app, ctx) {
    registerStsService()
    app.on(['GET', 'POST'], '*', async (c) => {
      const env = c.env as { incoming?: IncomingMessage } | undefined
      const raw = rawRequestParts(env?.incoming)
      const requestUrl = new URL(c.req.url)
      const url = raw.url ?? `${requestUrl.pathname}${requestUrl.search}`
      const headers = raw.headers ?? c.req.raw.headers
      if (!looksLikeQuery(c.req.method, url, headers)) return c.notFound()
      const body =
        c.req.method === 'POST' ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array()
      const response = await dispatchQuery(ctx, {
        method: c.req.method,
        url,
        headers,
        body,
        sourceIp: raw.sourceIp ?? '127.0.0.1',
        secureTransport: raw.secure ?? requestUrl.protocol === 'https:',
      })
      return c.body(response.body, response.status as 200, response.headers)
    })
  },
}

export default awsQueryModule
