/**
 * @module gateway/exchange
 * What every gateway handler shares: the incoming exchange (raw request target, header pairs, ids), the
 * dependencies, bounded body reading, response writing and streaming a backend response back.
 */
import { randomBytes, randomFillSync } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { AppContext } from '../app/context.ts'
import { socketFacts } from '../aws/request-facts.ts'
import type { DataEventBuffer } from './audit.ts'
import type { BackendClient, BackendResponse, ResponseSink } from './backend.ts'
import type { RenderedError } from './errors.ts'
import type { GatewayAuthorizer } from './identity.ts'
import type { ResourcePolicyStore } from './resource-policies.ts'

export interface GatewayDeps {
  ctx: AppContext
  authz: GatewayAuthorizer
  policies: ResourcePolicyStore
  s3: BackendClient
  sqs: BackendClient
  /** The region the gateway answers for (credential scopes must name it; ARNs carry it). */
  region: string
  /** The account that owns the backend's buckets and queues in podtrust's ARNs. */
  resourceAccount: string
  /** The account id the SQS backend puts in its queue URLs (moto: 123456789012). */
  backendAccount: string
  /** Host names for virtual-hosted-style S3 (`bucket.<host>`). */
  baseHosts: string[]
  /** Allowed calls' data events, written in batches. */
  events: DataEventBuffer
}

export interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  method: string
  /** Raw path and query as received. */
  path: string
  query: string
  headers: [string, string][]
  /** First value of each header, lower-case names. */
  header: Map<string, string>
  host: string
  requestId: string
  /** `x-amz-id-2`: drawn when first read (error answers and bucket-policy calls only). */
  readonly hostId: string
  sourceIp: string
  secure: boolean
  userAgent: string
}

/**
 * Request ids come from a pool of random bytes refilled in blocks: one `randomBytes` call per request cost
 * more than the request's SigV4 check (measured in bench/gateway with a CPU profile).
 */
const ID_POOL = Buffer.alloc(8 * 512)
let idOffset = ID_POOL.length

function newRequestId(): string {
  if (idOffset >= ID_POOL.length) {
    randomFillSync(ID_POOL)
    idOffset = 0
  }
  const id = ID_POOL.toString('hex', idOffset, idOffset + 8).toUpperCase()
  idOffset += 8
  return id
}

export function newExchange(req: IncomingMessage, res: ServerResponse): Exchange {
  const target = req.url ?? '/'
  const q = target.indexOf('?')
  const headers: [string, string][] = []
  const header = new Map<string, string>()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    headers.push([name, value])
    if (!header.has(name)) header.set(name, value)
  }
  // Source IP and TLS from the socket, never from client-supplied headers.
  const facts = socketFacts(req)
  let hostId: string | undefined
  return {
    req,
    res,
    method: (req.method ?? 'GET').toUpperCase(),
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    headers,
    header,
    host: header.get('host') ?? '',
    requestId: newRequestId(),
    get hostId() {
      hostId ??= randomBytes(32).toString('base64')
      return hostId
    },
    sourceIp: facts.sourceIp ?? '',
    secure: facts.secureTransport ?? false,
    userAgent: header.get('user-agent') ?? '',
  }
}

/** How much of an unread request body is read and discarded so the client sees the error (then: close). */
const DRAIN_LIMIT = 8 * 1024 * 1024
const DRAIN_MS = 5000

export function sendRendered(ex: Exchange, rendered: RenderedError): void {
  if (ex.res.headersSent) {
    ex.res.destroy()
    return
  }
  const body = Buffer.from(rendered.body, 'utf8')
  const send = (close: boolean) => {
    if (ex.res.headersSent || ex.res.destroyed) return
    ex.res.writeHead(rendered.status, {
      ...rendered.headers,
      'content-length': String(ex.method === 'HEAD' ? 0 : body.length),
      ...(close ? { connection: 'close' } : {}),
    })
    ex.res.end(ex.method === 'HEAD' ? undefined : body)
    if (close) ex.res.once('finish', () => ex.req.socket.destroySoon())
  }
  if (ex.req.complete || ex.req.destroyed) return send(!ex.req.complete)
  // The client is still sending: an HTTP client reads the answer only once its body is out, so the rest
  // is read and discarded (bounded), then the error goes out; past the bound, the error and a close.
  let drained = 0
  const timer = setTimeout(() => finish(true), DRAIN_MS)
  timer.unref()
  const onData = (chunk: Buffer) => {
    drained += chunk.length
    if (drained > DRAIN_LIMIT) finish(true)
  }
  const finish = (close: boolean) => {
    clearTimeout(timer)
    ex.req.off('data', onData)
    ex.req.off('end', onEnd)
    send(close)
  }
  const onEnd = () => finish(false)
  ex.req.on('data', onData)
  ex.req.once('end', onEnd)
  ex.req.resume()
}

export class BodyTooLargeError extends Error {}

/** Reads a stream into memory, failing beyond `limit` bytes (small bodies: policies, tagging, SQS calls). */
export function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        stream.destroy(new BodyTooLargeError(`body larger than ${limit} bytes`))
        return
      }
      parts.push(chunk)
    })
    stream.once('error', reject)
    stream.once('end', () => resolve(Buffer.concat(parts)))
  })
}

/** Response headers never passed on (hop-by-hop, RFC 9110 §7.6.1). */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'trailer',
])

export function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (!DROP_RESPONSE.has((raw[i] as string).toLowerCase()))
      out.push(raw[i] as string, raw[i + 1] as string)
  return out
}

/**
 * Streams a backend answer to the client with backpressure (`pipe`); a peer going away destroys the other
 * side. Not `stream.pipeline`: it allocates an AbortController per call and throws a DOMException into it on
 * completion, which cost more than the rest of a 1 KiB GetObject's relay (measured in bench/gateway).
 */
export function relayResponse(ex: Exchange, backend: BackendResponse): void {
  ex.res.writeHead(backend.statusCode, responseHeaders(backend.rawHeaders))
  const body = backend.body
  // A backend answer cut short (the backend went away) must not look complete to the client.
  body.once('error', () => ex.res.destroy())
  ex.res.once('close', () => {
    if (!body.readableEnded) body.destroy()
  })
  body.pipe(ex.res)
}

/**
 * The same relay for `BackendClient.relay`: the backend's chunks are written to the client as they arrive,
 * with backpressure (a full client socket pauses the backend leg until it drains); a client going away ends
 * the backend request, a backend answer cut short is not made to look complete.
 */
export function responseSink(ex: Exchange): ResponseSink {
  let done = false
  return {
    start(statusCode, rawHeaders, resume, abort) {
      if (ex.res.destroyed) {
        // The client left before the answer began: its 'close' has been and gone.
        done = true
        abort(new Error('the client went away'))
        return
      }
      ex.res.writeHead(statusCode, responseHeaders(rawHeaders))
      ex.res.on('drain', resume)
      ex.res.once('close', () => {
        if (!done) abort(new Error('the client went away'))
      })
    },
    data(chunk) {
      return ex.res.write(chunk)
    },
    end() {
      done = true
      ex.res.end()
    },
    fail() {
      done = true
      ex.res.destroy()
    },
  }
}
