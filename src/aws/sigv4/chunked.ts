/**
 * @module aws/sigv4/chunked
 * SigV4 for streamed payloads (S3's data plane): the canonical request with the payload hash the client
 * declared (`UNSIGNED-PAYLOAD`, a hex SHA-256 checked while the body streams, or one of the `STREAMING-…`
 * values), and the `aws-chunked` decoder that checks each chunk signature, the trailer signature and the
 * trailing checksum as the body passes through — never holding more than the bytes of one read.
 *
 * Formats: "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks
 * (Chunked Upload)" and "… Including Trailing Headers"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html) and "Checking object
 * integrity" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * Key derivation and canonicalization are the shared ones of `./sigv4.ts`.
 *
 * Every verifying stream holds back the last piece it read until the whole body has been checked, so a
 * downstream consumer (the backend) never receives a complete body whose signature or checksum is wrong.
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { crc32 } from 'node:zlib'
import { AwsError } from '../errors.ts'
import {
  buildStringToSign,
  canonicalPath,
  canonicalQuery,
  credentialScope,
  deriveSigningKey,
  headerMap,
  parseQuery,
  SIGNATURE_MISMATCH_MESSAGE,
  uriEncode,
  type CanonicalOptions,
  type ParsedSignature,
  type SigV4Request,
} from './sigv4.ts'

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; hash: string }
  | { kind: 'chunked'; signed: boolean; trailer: boolean }

/** What `x-amz-content-sha256` declares, as S3 reads it; anything else is S3's InvalidArgument. */
export function payloadModeOf(declared: string): PayloadMode {
  switch (declared) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' }
    case STREAMING_SIGNED:
      return { kind: 'chunked', signed: true, trailer: false }
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'chunked', signed: true, trailer: true }
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'chunked', signed: false, trailer: true }
  }
  if (/^[0-9a-f]{64}$/.test(declared)) return { kind: 'sha256', hash: declared }
  throw new AwsError(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { status: 400 },
  )
}

const CANONICAL_PATH = /^\/[A-Za-z0-9\-_.~/]*$/

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * S3's canonical URI: each segment URI-encoded once, never normalized ("Create a canonical request",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html: "each path segment must be
 * URI-encoded once, except for Amazon S3 which only gets URI-encoded once"). Segments arrive percent-encoded,
 * so they are decoded and encoded again to reach the one canonical form whatever the client's encoder chose.
 */
export function s3CanonicalPath(path: string): string {
  // Already canonical when made of unreserved characters and slashes only (most object paths).
  if (CANONICAL_PATH.test(path)) return path
  return (path === '' ? '/' : path)
    .split('/')
    .map((segment) => uriEncode(decodeSegment(segment)))
    .join('/')
}

function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')
}

/** The canonical request with a payload hash given by the caller (the body is not read). */
export function canonicalRequestWithPayloadHash(
  request: Omit<SigV4Request, 'body'>,
  parsed: ParsedSignature,
  payloadHash: string,
  options: CanonicalOptions = {},
): string {
  const headers = headerMap(request.headers)
  let pairs = parseQuery(request.query)
  if (parsed.kind === 'query')
    pairs = pairs.filter(
      ([k]) =>
        k !== 'X-Amz-Signature' &&
        !(options.omitSecurityTokenFromQuery === true && k === 'X-Amz-Security-Token'),
    )
  return [
    request.method.toUpperCase(),
    options.normalizePath === false
      ? s3CanonicalPath(request.path)
      : canonicalPath(request.path, true),
    canonicalQuery(pairs),
    parsed.signedHeaders
      .map((name) => `${name}:${canonicalHeaderValue(headers.get(name) ?? [])}\n`)
      .join(''),
    parsed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n')
}

function equalHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

export interface VerifiedSeed {
  /** The request's signature (lower-case hex): the seed of the chunk-signature chain. */
  seedSignature: string
  signingKey: Buffer
  scope: string
  amzDate: string
}

export interface StreamingVerification {
  canonicalRequest: string
  stringToSign: string
}

const signingKeys = new Map<string, Buffer>()

/** Signing keys change once a day per secret and scope: derived once, kept (bounded). */
function cachedSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\u0000${region}\u0000${service}\u0000${secret}`
  let key = signingKeys.get(id)
  if (key === undefined) {
    if (signingKeys.size >= 1024) signingKeys.clear()
    key = deriveSigningKey(secret, date, region, service)
    signingKeys.set(id, key)
  }
  return key
}

/**
 * Verifies the signature of the request's head with the declared payload hash. Throws S3's
 * `SignatureDoesNotMatch` carrying the string to sign and canonical request S3 echoes back.
 */
export function verifyWithPayloadHash(
  request: Omit<SigV4Request, 'body'>,
  parsed: ParsedSignature,
  secret: string,
  payloadHash: string,
  options: CanonicalOptions = {},
): VerifiedSeed {
  const signingKey = cachedSigningKey(secret, parsed.scopeDate, parsed.region, parsed.service)
  const candidates: CanonicalOptions[] = [options]
  if (parsed.kind === 'query' && parsed.securityToken !== undefined)
    candidates.push({ ...options, omitSecurityTokenFromQuery: true })
  let first: StreamingVerification | undefined
  for (const candidate of candidates) {
    const canonicalRequest = canonicalRequestWithPayloadHash(
      request,
      parsed,
      payloadHash,
      candidate,
    )
    const stringToSign = buildStringToSign(parsed, canonicalRequest)
    const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex')
    if (equalHex(expected, parsed.signature.toLowerCase()))
      return {
        seedSignature: expected,
        signingKey,
        scope: credentialScope(parsed),
        amzDate: parsed.amzDate,
      }
    first ??= { canonicalRequest, stringToSign }
  }
  throw new SignatureMismatchError(first as StreamingVerification)
}

/** SignatureDoesNotMatch with the detail S3 returns (StringToSign, CanonicalRequest and their bytes). */
export class SignatureMismatchError extends AwsError {
  readonly detail: StreamingVerification
  constructor(detail: StreamingVerification) {
    super('SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE, { status: 403 })
    this.detail = detail
  }
}

// ---- checksums ------------------------------------------------------------------------------------------------

export interface Checksum {
  update(data: Uint8Array): void
  /** Base64 of the big-endian digest, as the x-amz-checksum-* headers carry it. */
  digest(): string
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

function uint32Base64(value: number): string {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(value >>> 0)
  return b.toString('base64')
}

function hashChecksum(hash: Hash): Checksum {
  return { update: (d) => void hash.update(d), digest: () => hash.digest('base64') }
}

/** The checksum algorithms S3 accepts that podtrust verifies itself (CRC64NVME is checked by the backend). */
export const VERIFIED_CHECKSUMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const

export function createChecksum(algorithm: string): Checksum | undefined {
  switch (algorithm.toLowerCase()) {
    case 'crc32': {
      let value = 0
      return {
        update: (d) => void (value = crc32(d, value)),
        digest: () => uint32Base64(value),
      }
    }
    case 'crc32c': {
      let c = 0xffffffff
      return {
        update: (d) => {
          for (let i = 0; i < d.length; i++)
            c = (CRC32C_TABLE[(c ^ d[i]!) & 0xff] as number) ^ (c >>> 8)
        },
        digest: () => uint32Base64(c ^ 0xffffffff),
      }
    }
    case 'sha1':
      return hashChecksum(createHash('sha1'))
    case 'sha256':
      return hashChecksum(createHash('sha256'))
    default:
      return undefined
  }
}

function badDigest(algorithm: string): AwsError {
  return new AwsError(
    'BadDigest',
    `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    { status: 400 },
  )
}

// ---- plain bodies with a declared SHA-256 -------------------------------------------------------------------

/** Passes the body through, holding back the last read until the SHA-256 of the whole body matches. */
export class Sha256CheckStream extends Transform {
  readonly #hash = createHash('sha256')
  readonly #expected: string
  #held: Buffer | undefined

  constructor(expectedHex: string) {
    super()
    this.#expected = expectedHex
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk)
    const previous = this.#held
    this.#held = chunk
    done(null, previous)
  }

  override _flush(done: TransformCallback): void {
    if (this.#hash.digest('hex') !== this.#expected) {
      done(
        new AwsError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          { status: 400 },
        ),
      )
      return
    }
    done(null, this.#held)
  }
}

/** Passes a plain body through, holding back the last read until the declared x-amz-checksum-* matches. */
export class ChecksumCheckStream extends Transform {
  readonly #checksum: Checksum
  readonly #algorithm: string
  readonly #expected: string
  #held: Buffer | undefined

  constructor(algorithm: string, checksum: Checksum, expectedBase64: string) {
    super()
    this.#algorithm = algorithm
    this.#checksum = checksum
    this.#expected = expectedBase64
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#checksum.update(chunk)
    const previous = this.#held
    this.#held = chunk
    done(null, previous)
  }

  override _flush(done: TransformCallback): void {
    if (this.#checksum.digest() !== this.#expected) done(badDigest(this.#algorithm))
    else done(null, this.#held)
  }
}

// ---- aws-chunked ----------------------------------------------------------------------------------------------

export interface AwsChunkedOptions {
  /** Chunks carry `chunk-signature=` (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…). */
  signed: boolean
  /** A trailer follows the last chunk (…-TRAILER). */
  trailer: boolean
  /** Required when `signed`. */
  seed?: VerifiedSeed
  /** `x-amz-decoded-content-length`, when sent: the decoded body must be exactly this long. */
  decodedLength?: number
  /** `x-amz-trailer`: the trailing header the client announced (lower-case). */
  announcedTrailer?: string
}

const MAX_LINE = 4096
const MAX_TRAILER_LINES = 16
const CRLF = Buffer.from('\r\n')

function incomplete(message: string): AwsError {
  return new AwsError('IncompleteBody', message, { status: 400 })
}

/**
 * Decodes `aws-chunked` into the object's bytes, verifying as it goes. After 'end', `trailers` holds the
 * trailing headers (names lower-case) for the forwarder to pass on.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>()
  readonly #options: AwsChunkedOptions
  #state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size'
  #line: Buffer[] = []
  #lineLength = 0
  #remaining = 0
  #chunkSignature = ''
  #chunkHash: Hash | undefined
  #previousSignature: string
  #decoded = 0
  #held: Buffer | undefined
  #checksum: Checksum | undefined
  #trailerLines: string[] = []
  #crlfSeen = 0

  constructor(options: AwsChunkedOptions) {
    super()
    this.#options = options
    if (options.signed && options.seed === undefined)
      throw new TypeError('signed aws-chunked needs the seed signature')
    this.#previousSignature = options.seed?.seedSignature ?? ''
    if (options.announcedTrailer?.startsWith('x-amz-checksum-') === true)
      this.#checksum = createChecksum(options.announcedTrailer.slice('x-amz-checksum-'.length))
  }

  #emit(data: Buffer): void {
    if (this.#held !== undefined) this.push(this.#held)
    this.#held = data
  }

  /** Reads one CRLF-terminated line; undefined until complete. */
  #takeLine(buf: Buffer, offset: number): { line: string; next: number } | undefined {
    const end = buf.indexOf(0x0a, offset)
    const piece = buf.subarray(offset, end === -1 ? buf.length : end + 1)
    this.#lineLength += piece.length
    if (this.#lineLength > MAX_LINE) throw incomplete('An aws-chunked line is too long.')
    this.#line.push(piece)
    if (end === -1) return undefined
    const text = Buffer.concat(this.#line).toString('latin1')
    this.#line = []
    this.#lineLength = 0
    return { line: text.replace(/\r?\n$/, ''), next: end + 1 }
  }

  #startChunk(line: string): void {
    const semi = line.indexOf(';')
    const sizeText = (semi === -1 ? line : line.slice(0, semi)).trim()
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText))
      throw new AwsError(
        'InvalidChunkSizeError',
        'Only the last chunk is allowed to have a size less than 8192 bytes',
        {
          status: 403,
        },
      )
    this.#remaining = parseInt(sizeText, 16)
    if (this.#options.signed) {
      const m = /chunk-signature=([0-9a-fA-F]{64})/.exec(line.slice(semi + 1))
      if (semi === -1 || m === null) throw incomplete('A chunk is missing its chunk-signature.')
      this.#chunkSignature = (m[1] as string).toLowerCase()
      this.#chunkHash = createHash('sha256')
    }
    if (this.#remaining === 0) {
      this.#verifyChunk()
      this.#state = 'trailer'
    } else this.#state = 'data'
  }

  #verifyChunk(): void {
    if (!this.#options.signed) return
    const seed = this.#options.seed as VerifiedSeed
    const dataHash =
      this.#remaining === 0 && this.#chunkHash === undefined
        ? EMPTY_SHA256
        : (this.#chunkHash as Hash).digest('hex')
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      seed.amzDate,
      seed.scope,
      this.#previousSignature,
      EMPTY_SHA256,
      dataHash,
    ].join('\n')
    const expected = createHmac('sha256', seed.signingKey).update(stringToSign).digest('hex')
    if (!equalHex(expected, this.#chunkSignature))
      throw new AwsError('SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE, { status: 403 })
    this.#previousSignature = expected
    this.#chunkHash = undefined
  }

  #finishTrailer(): void {
    const opts = this.#options
    let trailerSignature: string | undefined
    const canonical: string[] = []
    for (const line of this.#trailerLines) {
      const colon = line.indexOf(':')
      if (colon === -1) throw incomplete('A trailing header is malformed.')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'x-amz-trailer-signature') trailerSignature = value.toLowerCase()
      else {
        this.trailers.set(name, value)
        canonical.push(`${name}:${value}\n`)
      }
    }
    if (opts.trailer && opts.signed) {
      const seed = opts.seed as VerifiedSeed
      const stringToSign = [
        'AWS4-HMAC-SHA256-TRAILER',
        seed.amzDate,
        seed.scope,
        this.#previousSignature,
        createHash('sha256').update(canonical.join('')).digest('hex'),
      ].join('\n')
      const expected = createHmac('sha256', seed.signingKey).update(stringToSign).digest('hex')
      if (trailerSignature === undefined || !equalHex(expected, trailerSignature))
        throw new AwsError('SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE, { status: 403 })
    }
    if (opts.announcedTrailer !== undefined) {
      const value = this.trailers.get(opts.announcedTrailer)
      if (value === undefined)
        throw new AwsError(
          'MalformedTrailerError',
          'The request contained trailing data that was not well-formed or did not conform to our published schema.',
          { status: 400 },
        )
      if (this.#checksum !== undefined && this.#checksum.digest() !== value)
        throw badDigest(opts.announcedTrailer.slice('x-amz-checksum-'.length))
    }
    if (opts.decodedLength !== undefined && this.#decoded !== opts.decodedLength)
      throw incomplete(
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
      )
    this.#state = 'done'
  }

  #consume(buf: Buffer): void {
    let i = 0
    while (i < buf.length) {
      switch (this.#state) {
        case 'size': {
          const r = this.#takeLine(buf, i)
          if (r === undefined) return
          i = r.next
          this.#startChunk(r.line)
          break
        }
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - i)
          const piece = buf.subarray(i, i + n)
          this.#chunkHash?.update(piece)
          this.#checksum?.update(piece)
          this.#decoded += n
          if (
            this.#options.decodedLength !== undefined &&
            this.#decoded > this.#options.decodedLength
          )
            throw incomplete('The decoded body is longer than x-amz-decoded-content-length.')
          this.#emit(piece)
          this.#remaining -= n
          i += n
          if (this.#remaining === 0) {
            this.#verifyChunk()
            this.#state = 'data-crlf'
            this.#crlfSeen = 0
          }
          break
        }
        case 'data-crlf': {
          if (buf[i] !== CRLF[this.#crlfSeen]) throw incomplete('A chunk is not followed by CRLF.')
          i++
          if (++this.#crlfSeen === 2) this.#state = 'size'
          break
        }
        case 'trailer': {
          const r = this.#takeLine(buf, i)
          if (r === undefined) return
          i = r.next
          if (r.line === '') this.#finishTrailer()
          else if (this.#trailerLines.push(r.line) > MAX_TRAILER_LINES)
            throw incomplete('Too many trailing headers.')
          break
        }
        case 'done':
          // Whitespace after the final CRLF is tolerated; anything else is not.
          if (buf.subarray(i).toString('latin1').trim() !== '')
            throw incomplete('Data follows the final aws-chunked chunk.')
          return
      }
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#consume(chunk)
      done()
    } catch (err) {
      done(err as Error)
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.#state === 'trailer' && this.#line.length > 0) {
        // A final trailer line without its CRLF at EOF.
        this.#trailerLines.push(Buffer.concat(this.#line).toString('latin1').trim())
        this.#line = []
      }
      if (this.#state === 'trailer') this.#finishTrailer()
      if (this.#state !== 'done')
        throw incomplete('The aws-chunked body ended before its last chunk.')
      done(null, this.#held)
    } catch (err) {
      done(err as Error)
    }
  }
}

/**
 * Frames a decoded body as `STREAMING-UNSIGNED-PAYLOAD-TRAILER` aws-chunked for the backend, appending the
 * trailing headers `trailers()` returns once the source has ended (and been verified).
 */
export class AwsChunkedEncoder extends Transform {
  readonly #trailers: () => Map<string, string>

  constructor(trailers: () => Map<string, string>) {
    super()
    this.#trailers = trailers
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done()
    this.push(`${chunk.length.toString(16)}\r\n`)
    this.push(chunk)
    done(null, CRLF)
  }

  override _flush(done: TransformCallback): void {
    let tail = '0\r\n'
    for (const [name, value] of this.#trailers()) tail += `${name}:${value}\r\n`
    done(null, `${tail}\r\n`)
  }
}
