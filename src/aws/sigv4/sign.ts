/**
 * @module aws/sigv4/sign
 * SigV4 signing (header and presigned query forms) for podtrust's own clients: the Pod Identity agent's EKS
 * Auth calls and the webhook's EKS client, and tests. Built on the same canonicalization as the verifier
 * (`sigv4.ts`), so what podtrust signs, podtrust verifies, by construction. Non-S3 path rules (each segment
 * of the request path URI-encoded once more).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * Extension point: aws-chunked streaming (S3 uploads) chains a signature per chunk from the seed signature
 * of the headers; `src/aws/sigv4/chunked.ts` builds it from `deriveSigningKey`, `sha256Hex` and the seed
 * (`ParsedSignature.signature`), next to this file.
 */
import { createHmac } from 'node:crypto'
import {
  SIGV4_ALGORITHM,
  canonicalPath,
  canonicalQuery,
  deriveSigningKey,
  formatAmzDate,
  parseQuery,
  sha256Hex,
} from './sigv4.ts'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface SignInput {
  method: string
  /** Absolute URL; its path and query are signed as they will be sent. */
  url: string
  headers?: Record<string, string>
  body: string | Uint8Array
  service: string
  region: string
  credentials: AwsCredentials
  now: Date
}

/** `YYYYMMDDTHHMMSSZ` */
export const amzDate = formatAmzDate

function credentialScope(input: Pick<SignInput, 'region' | 'service'>, date: string): string {
  return `${date.slice(0, 8)}/${input.region}/${input.service}/aws4_request`
}

/** The signature of a canonical request: string to sign, derived key, HMAC. */
function signatureOf(
  input: Pick<SignInput, 'region' | 'service' | 'credentials'>,
  date: string,
  canonicalRequest: string,
): string {
  const stringToSign = [
    SIGV4_ALGORITHM,
    date,
    credentialScope(input, date),
    sha256Hex(canonicalRequest),
  ].join('\n')
  const key = deriveSigningKey(
    input.credentials.secretAccessKey,
    date.slice(0, 8),
    input.region,
    input.service,
  )
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex')
}

function canonicalHeaderBlock(headers: Record<string, string>): { block: string; signed: string } {
  const names = Object.keys(headers).sort()
  return {
    block: names.map((n) => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    signed: names.join(';'),
  }
}

/**
 * The headers to send (including `authorization`, `x-amz-date`, `x-amz-content-sha256` and, with a session,
 * `x-amz-security-token`) for a request to `url`.
 * @example signRequest({ method: 'POST', url, body, service: 'eks-auth', region: 'us-east-1', credentials, now: new Date() })
 */
export function signRequest(input: SignInput): Record<string, string> {
  const url = new URL(input.url)
  const date = formatAmzDate(input.now)
  const payloadHash = sha256Hex(input.body)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v
  headers['host'] = url.host
  headers['x-amz-date'] = date
  headers['x-amz-content-sha256'] = payloadHash
  if (input.credentials.sessionToken !== undefined)
    headers['x-amz-security-token'] = input.credentials.sessionToken
  const { block, signed } = canonicalHeaderBlock(headers)
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalPath(url.pathname, true),
    canonicalQuery(parseQuery(url.search.slice(1))),
    block,
    signed,
    payloadHash,
  ].join('\n')
  const signature = signatureOf(input, date, canonicalRequest)
  headers['authorization'] =
    `${SIGV4_ALGORITHM} Credential=${input.credentials.accessKeyId}/${credentialScope(input, date)}, SignedHeaders=${signed}, Signature=${signature}`
  return headers
}

/**
 * A presigned URL (query form) valid `expiresSeconds` from `now`, signing only `host`, as the SDKs presign
 * (e.g. RDS IAM authentication tokens, EKS `get-token`).
 * @example presignUrl({ method: 'GET', url: 'https://sts.example/?Action=GetCallerIdentity&Version=2011-06-15', service: 'sts', region, credentials, now, expiresSeconds: 60 })
 */
export function presignUrl(
  input: Omit<SignInput, 'body' | 'headers'> & { expiresSeconds: number },
): string {
  const url = new URL(input.url)
  const date = formatAmzDate(input.now)
  const scope = credentialScope(input, date)
  const params = parseQuery(url.search.slice(1))
  params.push(
    ['X-Amz-Algorithm', SIGV4_ALGORITHM],
    ['X-Amz-Credential', `${input.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(input.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  )
  if (input.credentials.sessionToken !== undefined)
    params.push(['X-Amz-Security-Token', input.credentials.sessionToken])
  const query = canonicalQuery(params)
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalPath(url.pathname, true),
    query,
    `host:${url.host}\n`,
    'host',
    sha256Hex(''),
  ].join('\n')
  const signature = signatureOf(input, date, canonicalRequest)
  return `${url.origin}${url.pathname}?${query}&X-Amz-Signature=${signature}`
}
