/**
 * @module aws/request-facts
 * The facts of an HTTP request every signed API puts in its request context (`RequestFacts`, built by
 * `src/identity/context.ts`): the peer address from the socket (never `X-Forwarded-For`, which any client
 * can set), TLS from the socket, the `User-Agent` header. The Region comes from the authenticator (the
 * credential scope, validated), or the server's own region for unsigned requests.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import type { RequestFacts } from '../identity/context.ts'

/** Socket facts of a Node request; undefined fields when there is no socket (in-process `app.request`). */
export function socketFacts(incoming: IncomingMessage | undefined): {
  sourceIp?: string
  secureTransport?: boolean
} {
  const socket = incoming?.socket as
    (IncomingMessage['socket'] & { encrypted?: boolean }) | undefined
  if (socket === undefined) return {}
  return {
    ...(socket.remoteAddress === undefined
      ? {}
      : { sourceIp: socket.remoteAddress.replace(/^::ffff:/, '') }),
    secureTransport: socket.encrypted === true,
  }
}

/**
 * The request facts of a Hono request served by @hono/node-server; without a socket (tests calling
 * `app.request`) the source is loopback and TLS follows the URL's scheme.
 */
export function requestFacts(c: Context, region: string): RequestFacts {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  const socket = socketFacts(incoming)
  return {
    sourceIp: socket.sourceIp ?? '127.0.0.1',
    secureTransport: socket.secureTransport ?? c.req.url.startsWith('https:'),
    region,
    userAgent: c.req.header('user-agent') ?? '',
  }
}
