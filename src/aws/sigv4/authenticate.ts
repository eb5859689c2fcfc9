/**
 * @module aws/sigv4/authenticate
 * THE authenticator of every SigV4-signed request podtrust serves (STS, IAM, EKS, EKS Auth; the S3/SQS
 * gateway and the database proxy's IAM auth tokens): verifies a header or presigned signature against a
 * long-term access key (the `accessKeys` port) or one of podtrust's sealed session tokens (the `keyring`
 * port), and returns the caller. The signature is parsed once per request (`readSignedRequest`); callers that
 * route on the credential scope first (the awsQuery front door) pass the parsed request on.
 *
 * Order of checks, as AWS answers: no signature → MissingAuthenticationToken; malformed → IncompleteSignature;
 * wrong service or an unknown Region in the scope → SignatureDoesNotMatch ("Credential should be scoped …");
 * clock outside the skew → SignatureDoesNotMatch (Signature expired …); unknown key or forged/foreign token →
 * InvalidClientTokenId; wrong signature → SignatureDoesNotMatch; expired session → ExpiredToken.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
 *
 * @example
 * const { caller, region } = await authenticate(ctx, { method, url, headers, body }, { service: 'eks' })
 */
import type { IdentityPorts } from '../../identity/ports.ts'
import { openSessionToken } from '../../identity/sessions.ts'
import type { Caller } from '../../identity/types.ts'
import { AwsError } from '../errors.ts'
import { isKnownRegion } from '../regions.ts'
import { toSigV4Request, type HttpRequestInput } from './request.ts'
import {
  checkClock,
  parseSignature,
  verifySignature,
  type ParsedSignature,
  type SigV4Request,
} from './sigv4.ts'

export type { HeaderInput, HttpRequestInput } from './request.ts'

/** A request whose SigV4 material has been parsed (once). */
export interface SignedRequest {
  /** The raw request the signature covers. */
  raw: SigV4Request
  /** The parsed signature, or undefined when the request carries none. */
  signature: ParsedSignature | undefined
}

export interface AuthenticateOptions {
  /** The SigV4 signing name the scope must carry (`sts`, `iam`, `eks`, `eks-auth`, `s3`, …). */
  service?: string
  /** Remove dot segments before canonicalizing the path: true for every service but S3. */
  normalizePath?: boolean
  /**
   * Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD`. Only S3 does; every other service hashes the body it
   * received, so a request signed over UNSIGNED-PAYLOAD fails its signature check there.
   * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
   */
  allowUnsignedPayload?: boolean
  /**
   * Regions the credential scope may name. Default: any AWS Region, or `configuredRegion`. Global services
   * (IAM) pass `[GLOBAL_SIGNING_REGION, configuredRegion]`.
   */
  regions?: readonly string[]
  /** The server's own region (always valid in a scope). */
  configuredRegion?: string
}

export interface Authenticated {
  caller: Caller
  signature: ParsedSignature
  /** The credential scope's Region (validated): the request's `aws:RequestedRegion`. */
  region: string
}

/** What authentication reads: access keys, the session keyring and the clock. */
export type AuthenticatorPorts = Pick<
  IdentityPorts,
  'accessKeys' | 'keyring' | 'now' | 'randomBytes'
>

export const INVALID_TOKEN_MESSAGE = 'The security token included in the request is invalid.'
export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired'

/**
 * Parses the request's SigV4 material once. Throws `IncompleteSignature` (AwsError) when it is malformed;
 * `signature` is undefined when there is none.
 */
export function readSignedRequest(request: HttpRequestInput): SignedRequest {
  const raw = toSigV4Request(request)
  return { raw, signature: parseSignature(raw) }
}

function isSignedRequest(request: HttpRequestInput | SignedRequest): request is SignedRequest {
  return 'raw' in request
}

function checkScope(signature: ParsedSignature, options: AuthenticateOptions): void {
  if (options.service !== undefined && signature.service !== options.service)
    throw new AwsError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${options.service}'. `,
    )
  const region = signature.region
  const valid =
    options.regions !== undefined
      ? options.regions.includes(region)
      : isKnownRegion(region, options.configuredRegion)
  if (!valid)
    throw new AwsError(
      'SignatureDoesNotMatch',
      `Credential should be scoped to a valid region, not '${region.slice(0, 64)}'. `,
    )
}

export async function authenticate(
  ports: AuthenticatorPorts,
  request: HttpRequestInput | SignedRequest,
  options: AuthenticateOptions = {},
): Promise<Authenticated> {
  const { raw, signature: parsed } = isSignedRequest(request) ? request : readSignedRequest(request)
  if (parsed === undefined)
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token')
  checkScope(parsed, options)
  const now = ports.now()
  checkClock(parsed, now)
  const canonical = {
    normalizePath: options.normalizePath ?? true,
    allowUnsignedPayload: options.allowUnsignedPayload ?? false,
  }

  if (parsed.securityToken !== undefined || parsed.accessKeyId.startsWith('ASIA')) {
    if (parsed.securityToken === undefined)
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    let opened
    try {
      opened = await openSessionToken(ports, parsed.securityToken)
    } catch {
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    }
    if (opened.accessKeyId !== parsed.accessKeyId)
      throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
    verifySignature(raw, parsed, opened.secretAccessKey, canonical)
    if (opened.expiration.getTime() <= now.getTime())
      throw new AwsError('ExpiredToken', EXPIRED_TOKEN_MESSAGE)
    return { caller: opened.caller, signature: parsed, region: parsed.region }
  }

  const key = await ports.accessKeys.getAccessKey(parsed.accessKeyId)
  if (key === undefined || key.status !== 'Active')
    throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
  verifySignature(raw, parsed, key.secretAccessKey, canonical)
  ports.accessKeys.noteAccessKeyUse?.(key.accessKeyId, now, parsed.service, parsed.region)
  const isRoot = /^arn:[^:]+:iam::\d{12}:root$/.test(key.userArn)
  const caller: Caller = {
    arn: key.userArn,
    accountId: key.accountId,
    userId: isRoot ? key.accountId : key.userId,
    accessKeyId: key.accessKeyId,
    type: isRoot ? 'Root' : 'IAMUser',
    ...(isRoot ? {} : { userName: key.userName }),
  }
  return { caller, signature: parsed, region: parsed.region }
}

/** The authenticated caller of a signed request (throws `AwsError`); `authenticate` also gives the scope. */
export async function authenticateRequest(
  ports: AuthenticatorPorts,
  request: HttpRequestInput | SignedRequest,
  options: AuthenticateOptions = {},
): Promise<Caller> {
  return (await authenticate(ports, request, options)).caller
}
