/**
 * @module identity/auth
 * Authenticates a SigV4-signed request (header or presigned query) against long-term access keys (IAM repo)
 * and podtrust's sealed temporary credentials. Used by every signed path: STS, IAM, EKS, EKS Auth.
 *
 * Order of checks, as AWS answers: no signature → MissingAuthenticationToken; malformed → IncompleteSignature;
 * clock outside the skew → SignatureDoesNotMatch (Signature expired …); unknown key or forged/foreign token →
 * InvalidClientTokenId; wrong signature → SignatureDoesNotMatch; expired session → ExpiredToken.
 */
import type { AppContext } from '../server/context.ts'
import { createIamRepo } from '../aws/iam/repo.ts'
import { AwsError } from '../aws/errors.ts'
import {
  checkClock,
  parseSignature,
  verifySignature,
  type ParsedSignature,
  type SigV4Request,
} from '../aws/sigv4/sigv4.ts'
import { openSessionToken } from './sessions.ts'
import type { Caller } from './types.ts'

export type { Caller } from './types.ts'

export type HeaderInput =
  readonly (readonly [string, string])[] | Record<string, string | string[] | undefined> | Headers

export interface AuthRequest {
  method: string
  /** Request target (`/path?query`) as received, or an absolute URL; kept raw (not re-encoded). */
  url: string
  headers: HeaderInput
  body: Uint8Array | string
}

export interface AuthOptions {
  /** S3-style paths are not normalized; every other service: true. */
  normalizePath?: boolean
  /** Accept only this SigV4 service name in the credential scope. */
  service?: string
}

export interface Authenticated {
  caller: Caller
  signature: ParsedSignature
}

export const INVALID_TOKEN_MESSAGE = 'The security token included in the request is invalid.'
export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired'

/** Raw header pairs from any of the shapes servers hand out. */
export function headerPairs(headers: HeaderInput): [string, string][] {
  const out: [string, string][] = []
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    headers.forEach((value, name) => out.push([name, value]))
    return out
  }
  if (Array.isArray(headers)) {
    for (const [n, v] of headers as readonly (readonly [string, string])[]) out.push([n, v])
    return out
  }
  for (const [name, value] of Object.entries(
    headers as Record<string, string | string[] | undefined>,
  )) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.push([name, v])
    else out.push([name, value])
  }
  return out
}

/** Splits a request target into raw path and raw query without normalizing or re-encoding either. */
export function splitTarget(url: string): { path: string; query: string } {
  let target = url
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target)
  if (scheme !== null) target = target.slice(scheme[0].length)
  const hash = target.indexOf('#')
  if (hash !== -1) target = target.slice(0, hash)
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  return { path: path === '' ? '/' : path, query: q === -1 ? '' : target.slice(q + 1) }
}

export function toSigV4Request(request: AuthRequest): SigV4Request {
  const { path, query } = splitTarget(request.url)
  return {
    method: request.method,
    path,
    query,
    headers: headerPairs(request.headers),
    body: typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body,
  }
}

/** Whether the request carries SigV4 material at all. */
export function hasSignature(request: AuthRequest): boolean {
  return parseSignature(toSigV4Request(request)) !== undefined
}

export async function authenticate(
  ctx: AppContext,
  request: AuthRequest,
  options: AuthOptions = {},
): Promise<Authenticated> {
  const raw = toSigV4Request(request)
  const parsed = parseSignature(raw)
  if (parsed === undefined)
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token')
  if (options.service !== undefined && parsed.service !== options.service)
    throw new AwsError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${options.service}'. `,
    )
  const now = ctx.now()
  checkClock(parsed, now)
  const canonical = { normalizePath: options.normalizePath ?? true }

  if (parsed.securityToken !== undefined || parsed.accessKeyId.startsWith('ASIA')) {
    if (parsed.securityToken === undefined)
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    let opened
    try {
      opened = await openSessionToken(ctx, parsed.securityToken)
    } catch {
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    }
    if (opened.accessKeyId !== parsed.accessKeyId)
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    verifySignature(raw, parsed, opened.secretAccessKey, canonical)
    if (opened.expiration.getTime() <= now.getTime())
      throw new AwsError('ExpiredToken', EXPIRED_TOKEN_MESSAGE)
    return { caller: opened.caller, signature: parsed }
  }

  const key = await createIamRepo(ctx.db).getAccessKey(parsed.accessKeyId)
  if (key === undefined || key.status !== 'Active')
    throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
  verifySignature(raw, parsed, key.secretAccessKey, canonical)
  const isRoot = /^arn:[^:]+:iam::\d{12}:root$/.test(key.userArn)
  const caller: Caller = {
    arn: key.userArn,
    accountId: key.accountId,
    userId: isRoot ? key.accountId : key.userId,
    accessKeyId: key.accessKeyId,
    type: isRoot ? 'Root' : 'IAMUser',
    ...(isRoot ? {} : { userName: key.userName }),
  }
  return { caller, signature: parsed }
}

/** The contract's entry point: the authenticated caller of a signed request (throws `AwsError`). */
export async function authenticateRequest(
  ctx: AppContext,
  request: AuthRequest,
  options: AuthOptions = {},
): Promise<Caller> {
  return (await authenticate(ctx, request, options)).caller
}
