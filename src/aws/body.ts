/**
 * @module aws/body
 * Reads a request body with a size bound. Under @hono/node-server it reads Node's IncomingMessage directly:
 * materialising the Web `Request` and its ReadableStream costs more than the STS handler itself (profiled:
 * ~16 % of an AssumeRoleWithWebIdentity). Elsewhere (tests calling `app.request`) it uses the Web API.
 */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'

export class BodyTooLargeError extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.limit = limit
  }
}

function declaredLength(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\d+$/.test(value)) return undefined
  return Number(value)
}

function fromIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (err: Error | undefined, body?: Uint8Array) => {
      if (done) return
      done = true
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      if (err === undefined) resolve(body!)
      else {
        // Drain the rest so the connection can answer (and be reused) instead of stalling.
        incoming.resume()
        reject(err)
      }
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) finish(new BodyTooLargeError(maxBytes))
      else chunks.push(chunk)
    }
    const onEnd = () =>
      finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    const onError = (err: Error) => finish(err)
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
  })
}

/** Node's request body, at most `maxBytes`; rejects with `BodyTooLargeError` beyond that (before reading, when declared). */
export async function readIncomingBody(
  incoming: IncomingMessage,
  maxBytes: number,
): Promise<Uint8Array> {
  const declared = declaredLength(incoming.headers['content-length'])
  if (declared !== undefined && declared > maxBytes) throw new BodyTooLargeError(maxBytes)
  return fromIncoming(incoming, maxBytes)
}

/** The body, at most `maxBytes`; rejects with `BodyTooLargeError` beyond that (before reading, when declared). */
export async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming !== undefined && !incoming.readableEnded && incoming.readableFlowing !== true)
    return readIncomingBody(incoming, maxBytes)
  const declared = declaredLength(c.req.header('content-length'))
  if (declared !== undefined && declared > maxBytes) throw new BodyTooLargeError(maxBytes)
  const body = new Uint8Array(await c.req.arrayBuffer())
  if (body.length > maxBytes) throw new BodyTooLargeError(maxBytes)
  return body
}
