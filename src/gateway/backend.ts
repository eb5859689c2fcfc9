/**
 * @module gateway/backend
 * The backend side of the gateway: where S3 and SQS calls go, with which credentials, and the SigV4 signature
 * the gateway puts on each forwarded request (the client's own signature is for podtrust's keys, so every
 * forwarded request is signed again with the backend's). S3 bodies are signed `UNSIGNED-PAYLOAD` (or
 * `STREAMING-UNSIGNED-PAYLOAD-TRAILER`) so they stream; the gateway has checked the client's payload
 * signature itself. Signing follows "Create a signed AWS API request"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import type { Readable } from 'node:stream'
import { Pool } from 'undici'
import {
  canonicalQuery,
  deriveSigningKey,
  formatAmzDate,
  parseQuery,
  sha256Hex,
  uriEncode,
} from '../aws/sigv4/sigv4.ts'
import { s3CanonicalPath } from '../aws/sigv4/chunked.ts'

export interface BackendTarget {
  /** `http(s)://host[:port]` with an optional base path (no trailing slash). */
  url: URL
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  region: string
}

/** What moto (and other local emulators) accept: any key; documented as the default for tests. */
export const DEFAULT_BACKEND_ACCESS_KEY_ID = 'podtrust-gateway'
export const DEFAULT_BACKEND_SECRET = 'podtrust-gateway-secret'

export function parseBackendUrl(text: string, flag: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new TypeError(`${flag} must be an http(s) URL, got '${text}'`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`${flag} must be an http(s) URL, got '${text}'`)
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw new TypeError(`${flag} must be a plain base URL without query, fragment or user info`)
  return url
}

/** Request hop-by-hop headers (RFC 9110 §7.6.1) and the client's own signature, never forwarded. */
const DROP_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'content-encoding',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
])

/** Presigned-URL parameters (SigV4, and S3's SigV2): the client's signature, stripped before forwarding. */
const AUTH_QUERY = new Set([
  'AWSAccessKeyId',
  'Signature',
  'Expires',
  'x-amz-security-token',
  // botocore's SigV2 presigned URLs carry the Content-Type / Content-MD5 they signed as parameters.
  'content-type',
  'content-md5',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Content-Sha256',
])

/** The raw query without presigned-URL auth parameters (kept raw: the backend sees what the client sent). */
export function stripAuthQuery(query: string): string {
  if (query === '') return ''
  return query
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=')
      const k = eq === -1 ? part : part.slice(0, eq)
      let name = k
      try {
        name = decodeURIComponent(k)
      } catch {
        /* keep raw */
      }
      return !AUTH_QUERY.has(name)
    })
    .join('&')
}

/** Forwardable client headers (lower-case names); content-encoding keeps its values other than aws-chunked. */
export function forwardHeaders(
  headers: readonly (readonly [string, string])[],
): [string, string][] {
  const out: [string, string][] = []
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase()
    if (name === 'content-encoding') {
      const rest = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '' && v.toLowerCase() !== 'aws-chunked')
      if (rest.length > 0) out.push([name, rest.join(', ')])
      continue
    }
    if (DROP_REQUEST_HEADERS.has(name)) continue
    out.push([name, value])
  }
  return out
}

/** Signing keys as KeyObjects: an HMAC over a KeyObject skips importing the raw key on every call. */
const keyCache = new Map<string, KeyObject>()

function signingKey(secret: string, date: string, region: string, service: string): KeyObject {
  const id = `${date}\u0000${region}\u0000${service}\u0000${secret}`
  let key = keyCache.get(id)
  if (key === undefined) {
    if (keyCache.size > 64) keyCache.clear()
    key = createSecretKey(deriveSigningKey(secret, date, region, service))
    keyCache.set(id, key)
  }
  return key
}

/** `x-amz-date` changes once a second: formatted once per second, not per request. */
let lastSecond = -1
let lastAmzDate = ''
function amzDateOf(now: Date): string {
  const second = Math.floor(now.getTime() / 1000)
  if (second !== lastSecond) {
    lastAmzDate = formatAmzDate(now)
    lastSecond = second
  }
  return lastAmzDate
}

/** A canonical header value: trimmed, whitespace runs folded to one space (the regex only when needed). */
function canonicalValue(value: string): string {
  const v = value.trim()
  return /\s\s|[^\S ]/.test(v) ? v.replace(/\s+/g, ' ') : v
}

export interface SignInput {
  method: string
  /** Path as it goes on the wire (percent-encoded). */
  path: string
  /** Raw query as it goes on the wire. */
  query: string
  /** Headers to send (lower-case names); host, x-amz-date, the token and authorization are added. */
  headers: [string, string][]
  host: string
  payloadHash: string
  service: 's3' | 'sqs'
  target: BackendTarget
  now: Date
}

/** Adds host, x-amz-date, x-amz-content-sha256 (S3), the session token and Authorization. */
export function signBackendRequest(input: SignInput): [string, string][] {
  const amzDate = amzDateOf(input.now)
  const date = amzDate.slice(0, 8)
  const headers: [string, string][] = [
    ...input.headers,
    ['host', input.host],
    ['x-amz-date', amzDate],
  ]
  if (input.service === 's3') headers.push(['x-amz-content-sha256', input.payloadHash])
  if (input.target.sessionToken !== undefined)
    headers.push(['x-amz-security-token', input.target.sessionToken])
  // Sign host, content-type and every x-amz-* header (S3 requires every x-amz-* header sent to be signed).
  const signed = new Map<string, string[]>()
  for (const [name, value] of headers) {
    if (
      name === 'host' ||
      name === 'content-type' ||
      name === 'content-md5' ||
      name.startsWith('x-amz-')
    ) {
      const list = signed.get(name)
      if (list === undefined) signed.set(name, [value])
      else list.push(value)
    }
  }
  const names = [...signed.keys()].sort()
  let canonicalHeaders = ''
  for (const n of names) {
    const values = signed.get(n) as string[]
    canonicalHeaders += `${n}:${values.length === 1 ? canonicalValue(values[0] as string) : values.map(canonicalValue).join(',')}\n`
  }
  const canonicalRequest = [
    input.method,
    input.service === 's3'
      ? s3CanonicalPath(input.path)
      : input.path
          .split('/')
          .map((s) => uriEncode(s))
          .join('/'),
    input.query === '' ? '' : canonicalQuery(parseQuery(input.query)),
    canonicalHeaders,
    names.join(';'),
    input.payloadHash,
  ].join('\n')
  const scope = `${date}/${input.target.region}/${input.service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
  const signature = createHmac(
    'sha256',
    signingKey(input.target.secretAccessKey, date, input.target.region, input.service),
  )
    .update(stringToSign)
    .digest('hex')
  headers.push([
    'authorization',
    `AWS4-HMAC-SHA256 Credential=${input.target.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  ])
  return headers
}

export interface BackendResponse {
  statusCode: number
  /** Header names and values, flat, as the backend sent them. */
  rawHeaders: string[]
  /** The answer's body; destroying it aborts the backend request. */
  body: Readable
}

export interface BackendRequest {
  method: string
  path: string
  query: string
  /** Signed headers (`signBackendRequest`). */
  headers: [string, string][]
  /** Streamed with backpressure; a stream that errors aborts the request with its error. */
  body?: Readable | Buffer
}

/**
 * Where `relay` hands the backend's answer as it arrives. `start` gets the status, the raw header pairs and
 * the controls of the backend leg: `resume` restarts a body that `data` paused (returned false), `abort`
 * ends the backend request (the client went away).
 */
export interface ResponseSink {
  start(
    statusCode: number,
    rawHeaders: string[],
    resume: () => void,
    abort: (err: Error) => void,
  ): void
  data(chunk: Buffer): boolean
  end(): void
  /** The backend leg failed after `start` (reset, cut short). */
  fail(err: Error): void
}

export interface BackendClient {
  target: BackendTarget
  /** Sends one request over the keep-alive pool; rejects when the backend cannot be reached or goes away. */
  send(request: BackendRequest): Promise<BackendResponse>
  /**
   * Sends one request and hands the answer to `sink` as it arrives, without a response stream in between.
   * Resolves once the answer has started; rejects (and `sink` is never called) when the call fails before.
   */
  relay(request: BackendRequest, sink: ResponseSink): Promise<void>
  /** `host[:port]` of the backend as it signs and as the backend sees it. */
  host: string
  /** The backend's base path (without trailing slash). */
  basePath: string
  /** Ends every connection, in-flight calls included. */
  close(): Promise<void>
}

function noop(): void {}

/** undici hands raw header names and values as Buffers: names UTF-8, values latin1 (as its `request` does). */
function headerStrings(raw: (Buffer | string)[]): string[] {
  const out = new Array<string>(raw.length)
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer | string
    const value = raw[i + 1] as Buffer | string
    out[i] = typeof name === 'string' ? name : name.toString()
    out[i + 1] = typeof value === 'string' ? value : value.toString('latin1')
  }
  return out
}

/**
 * The backend leg runs on an undici connection pool: it costs half the CPU of a node:http client request
 * per call, at 1 KiB and at 1 MiB (measured for bench/gateway; undici is Node's own fetch client). Connections
 * are kept alive and reused; each carries one request at a time (no pipelining, which S3 does not promise).
 */
export function createBackendClient(target: BackendTarget): BackendClient {
  const pool = new Pool(target.url.origin, {
    connections: 256,
    pipelining: 1,
    // Uploads and downloads of any size: no whole-response deadline here; the gateway's idle timeout on the
    // client's socket ends a stalled call, which aborts the backend request.
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  const basePath = target.url.pathname.replace(/\/+$/, '')
  const flatten = (headers: [string, string][]): string[] => {
    const flat: string[] = []
    for (const [n, v] of headers) flat.push(n, v)
    return flat
  }
  return {
    target,
    host: target.url.host,
    basePath,
    async send({ method, path, query, headers, body }) {
      const res = await pool.request({
        method,
        path: query === '' ? path : `${path}?${query}`,
        headers: flatten(headers),
        body: body ?? null,
        responseHeaders: 'raw',
      })
      return {
        statusCode: res.statusCode,
        rawHeaders: res.headers as unknown as string[],
        body: res.body,
      }
    },
    /**
     * A dispatch handler writes the answer straight to the sink: `request` builds an async resource, a
     * response Readable and a promise per call and the relay then pipes that stream, which together cost
     * more than the rest of a 1 KiB GetObject's relay (CPU profile of bench/gateway). Pausing and the
     * request-body cleanup on failure are what undici's `request` does.
     */
    relay({ method, path, query, headers, body }, sink) {
      return new Promise<void>((resolve, reject) => {
        let abort: ((err: Error) => void) | undefined
        let started = false
        pool.dispatch(
          {
            method,
            path: query === '' ? path : `${path}?${query}`,
            headers: flatten(headers),
            body: body ?? null,
          },
          {
            onConnect(a: (err: Error) => void) {
              abort = a
            },
            onHeaders(statusCode: number, raw: Buffer[], resume: () => void) {
              // 1xx interim answers (100 Continue is undici's own business) are not relayed.
              if (statusCode < 200) return true
              started = true
              sink.start(statusCode, headerStrings(raw), resume, (err) => abort?.(err))
              resolve()
              return true
            },
            onData(chunk: Buffer) {
              return sink.data(chunk)
            },
            onComplete() {
              sink.end()
            },
            onError(err: Error) {
              if (body !== undefined && !Buffer.isBuffer(body)) {
                body.on('error', noop)
                body.destroy(err)
              }
              if (started) sink.fail(err)
              else reject(err)
            },
          },
        )
      })
    },
    close() {
      return pool.destroy()
    },
  }
}
