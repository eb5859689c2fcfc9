/**
 * @module agent/sigv4
 * A small SigV4 header signer for the agent's EKS Auth calls (`podtrust agent --server URL`). Only what one
 * JSON POST needs: signed headers host, x-amz-date, x-amz-content-sha256 (+ x-amz-security-token).
 * Verified in tests by the server's own SigV4 verifier.
 */
import { createHash, createHmac } from 'node:crypto'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Uint8Array, data: string) =>
  createHmac('sha256', key).update(data, 'utf8').digest()

/** RFC 3986 encoding as SigV4 requires (encodeURIComponent leaves !'()* alone). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Returns the headers to send (including `authorization`) for a request to `url`.
 * @example signRequest({ method: 'POST', url, body, service: 'eks-auth', region: 'us-east-1', credentials, now: new Date() })
 */
export function signRequest(input: {
  method: string
  url: string
  headers?: Record<string, string>
  body: string
  service: string
  region: string
  credentials: AwsCredentials
  now: Date
}): Record<string, string> {
  const url = new URL(input.url)
  const date = amzDate(input.now)
  const day = date.slice(0, 8)
  const payloadHash = sha256Hex(input.body)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v
  headers['host'] = url.host
  headers['x-amz-date'] = date
  headers['x-amz-content-sha256'] = payloadHash
  if (input.credentials.sessionToken !== undefined) {
    headers['x-amz-security-token'] = input.credentials.sessionToken
  }
  const names = Object.keys(headers).sort()
  const canonicalHeaders = names
    .map((n) => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const signedHeaders = names.join(';')
  const canonicalPath =
    url.pathname
      .split('/')
      .map((seg) => uriEncode(decodeURIComponent(seg)))
      .join('/') || '/'
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalPath,
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n')
  const scope = `${day}/${input.region}/${input.service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n')
  const kDate = hmac(`AWS4${input.credentials.secretAccessKey}`, day)
  const kRegion = hmac(kDate, input.region)
  const kService = hmac(kRegion, input.service)
  const kSigning = hmac(kService, 'aws4_request')
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}
