/**
 * @module aws/sigv2/s3-sigv2
 * Amazon S3's Signature Version 2 ("Signing and authenticating REST requests (AWS signature version 2)",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html), which boto3 and the AWS CLI v1
 * still use for presigned URLs against a custom endpoint. S3 only: no other service accepts it.
 *
 *   StringToSign = VERB \n Content-MD5 \n Content-Type \n (Date | Expires) \n CanonicalizedAmzHeaders CanonicalizedResource
 *   Signature    = Base64(HMAC-SHA1(secret, UTF-8(StringToSign)))
 *
 * Two forms: `Authorization: AWS AKID:signature` (with `Date` or `x-amz-date`) and the query string
 * (`AWSAccessKeyId`, `Signature`, `Expires` in epoch seconds). Pure: parsing, the string to sign and the
 * constant-time check; the caller resolves the secret and checks the clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** What the signature covers: the request as received (raw path and query, percent-encoding kept). */
export interface SigV2Request {
  method: string
  /** Raw path as sent, e.g. `/bucket/key%20name`. */
  path: string
  /** Raw query without `?`. */
  query: string
  headers: readonly (readonly [string, string])[]
  /** The bucket named by the Host (virtual-hosted style): the resource then starts with `/bucket`. */
  hostBucket?: string
}

export interface SigV2Credentials {
  kind: 'header' | 'query'
  accessKeyId: string
  /** The signature as sent (base64). */
  signature: string
  /** `x-amz-security-token` (header, or query for presigned URLs): session credentials. */
  securityToken?: string
  /** Query form: expiry, epoch seconds. */
  expires?: number
}

/** A malformed V2 request, in S3's words (code, message, HTTP status). */
export class SigV2FormatError extends Error {
  readonly code: string
  readonly status: number
  constructor(code: string, message: string, status: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

/**
 * Sub-resources that belong to the CanonicalizedResource (the guide's list, the response-* overrides and
 * `delete`; plus those botocore's signer includes, so its signatures verify).
 */
const SUB_RESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'delete',
  'encryption',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'select',
  'select-type',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
])

const MAX_PARAM = 4096

interface QueryPart {
  name: string
  /** Undefined when the parameter has no `=`. */
  value: string | undefined
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function queryParts(query: string): QueryPart[] {
  if (query === '') return []
  return query.split('&').map((part) => {
    const eq = part.indexOf('=')
    return eq === -1
      ? { name: decode(part), value: undefined }
      : { name: decode(part.slice(0, eq)), value: decode(part.slice(eq + 1)) }
  })
}

function headerValues(headers: SigV2Request['headers'], name: string): string[] {
  const out: string[] = []
  for (const [k, v] of headers) if (k.toLowerCase() === name) out.push(v)
  return out
}

function firstHeader(headers: SigV2Request['headers'], name: string): string | undefined {
  return headerValues(headers, name)[0]
}

/**
 * The V2 credentials a request carries, or undefined when it carries none (SigV4 or anonymous).
 * Throws `SigV2FormatError` when the V2 material is incomplete.
 */
export function readSigV2(request: SigV2Request): SigV2Credentials | undefined {
  const authorization = firstHeader(request.headers, 'authorization')
  if (authorization !== undefined) {
    if (!authorization.startsWith('AWS ')) return undefined
    const m = /^AWS ([^:\s]+):(\S+)$/.exec(authorization.trim())
    if (m === null)
      throw new SigV2FormatError(
        'InvalidArgument',
        'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
        400,
      )
    const token = firstHeader(request.headers, 'x-amz-security-token')
    return {
      kind: 'header',
      accessKeyId: m[1] as string,
      signature: m[2] as string,
      ...(token === undefined ? {} : { securityToken: token.trim() }),
    }
  }
  const parts = queryParts(request.query)
  const get = (name: string) => parts.find((p) => p.name === name)?.value
  const accessKeyId = get('AWSAccessKeyId')
  const signature = get('Signature')
  const expires = get('Expires')
  if (accessKeyId === undefined && signature === undefined) return undefined
  if (accessKeyId === undefined || signature === undefined || expires === undefined)
    throw new SigV2FormatError(
      'AccessDenied',
      'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
      403,
    )
  if (!/^\d{1,12}$/.test(expires) || accessKeyId.length > MAX_PARAM || signature.length > MAX_PARAM)
    throw new SigV2FormatError('AccessDenied', 'Invalid date (should be seconds since epoch)', 403)
  const token = parts.find((p) => p.name.toLowerCase() === 'x-amz-security-token')?.value
  return {
    kind: 'query',
    accessKeyId,
    signature,
    expires: Number(expires),
    ...(token === undefined ? {} : { securityToken: token }),
  }
}

/** CanonicalizedAmzHeaders: x-amz-* lower-cased, sorted, values joined by `,`, folded whitespace trimmed. */
function canonicalAmzHeaders(
  request: SigV2Request,
  credentials: SigV2Credentials,
  skipDate: boolean,
): string {
  const values = new Map<string, string[]>()
  const add = (name: string, value: string) => {
    const list = values.get(name) ?? []
    list.push(value.replace(/\s*\r?\n\s*/g, ' ').trim())
    values.set(name, list)
  }
  for (const [k, v] of request.headers) {
    const name = k.toLowerCase()
    if (name.startsWith('x-amz-')) add(name, v)
  }
  // Presigned URLs carry the x-amz-* values the signer covered (x-amz-security-token) as parameters.
  if (credentials.kind === 'query')
    for (const p of queryParts(request.query)) {
      const name = p.name.toLowerCase()
      if (name.startsWith('x-amz-') && p.value !== undefined) add(name, p.value)
    }
  if (skipDate) values.delete('x-amz-date')
  return [...values.keys()]
    .sort()
    .map((name) => `${name}:${(values.get(name) as string[]).join(',')}\n`)
    .join('')
}

/** CanonicalizedResource: `/bucket` (virtual-hosted), the raw path, then the sorted sub-resources. */
export function canonicalResource(request: SigV2Request): string {
  const base = (request.hostBucket === undefined ? '' : `/${request.hostBucket}`) + request.path
  const subs = queryParts(request.query)
    .filter((p) => SUB_RESOURCES.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`))
  return subs.length === 0 ? base : `${base}?${subs.join('&')}`
}

/**
 * The strings a valid signature may cover, the documented one first. With `x-amz-date`, the guide says the
 * Date position is empty and x-amz-date is a canonical amz header; its DELETE example instead puts the
 * x-amz-date value in the Date position. Both bind the same request, so both are accepted.
 */
export function stringsToSign(request: SigV2Request, credentials: SigV2Credentials): string[] {
  const isQuery = credentials.kind === 'query'
  const fromQuery = (name: string) =>
    isQuery
      ? queryParts(request.query).find((p) => p.name.toLowerCase() === name)?.value
      : undefined
  const contentMd5 = fromQuery('content-md5') ?? firstHeader(request.headers, 'content-md5') ?? ''
  const contentType =
    fromQuery('content-type') ?? firstHeader(request.headers, 'content-type') ?? ''
  const head = `${request.method}\n${contentMd5.trim()}\n${contentType.trim()}\n`
  const resource = canonicalResource(request)
  if (isQuery)
    return [
      `${head}${String(credentials.expires)}\n${canonicalAmzHeaders(request, credentials, false)}${resource}`,
    ]
  const amzDate = firstHeader(request.headers, 'x-amz-date')
  if (amzDate === undefined) {
    const date = (firstHeader(request.headers, 'date') ?? '').trim()
    return [`${head}${date}\n${canonicalAmzHeaders(request, credentials, false)}${resource}`]
  }
  return [
    `${head}\n${canonicalAmzHeaders(request, credentials, false)}${resource}`,
    `${head}${amzDate.trim()}\n${canonicalAmzHeaders(request, credentials, true)}${resource}`,
  ]
}

/** Base64(HMAC-SHA1(secret, stringToSign)). */
export function signV2(secretAccessKey: string, stringToSign: string): string {
  return createHmac('sha1', secretAccessKey).update(stringToSign, 'utf8').digest('base64')
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8')
  const b = Buffer.from(provided, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

export type SigV2Verdict = { ok: true } | { ok: false; stringToSign: string }

/** Checks the signature in constant time; on a mismatch, returns the string to sign S3 echoes back. */
export function verifySigV2(
  request: SigV2Request,
  credentials: SigV2Credentials,
  secretAccessKey: string,
): SigV2Verdict {
  const candidates = stringsToSign(request, credentials)
  let ok = false
  for (const s of candidates)
    if (sameSignature(signV2(secretAccessKey, s), credentials.signature)) ok = true
  return ok ? { ok } : { ok: false, stringToSign: candidates[0] as string }
}

/** When a header-signed request was signed: `x-amz-date`, else `Date` (RFC 1123); undefined if unreadable. */
export function signedAt(request: SigV2Request): Date | undefined {
  const text = firstHeader(request.headers, 'x-amz-date') ?? firstHeader(request.headers, 'date')
  if (text === undefined) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : new Date(ms)
}
