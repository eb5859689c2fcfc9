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
 * S3 streams its bodies, so it signs over the payload hash the client declares (`x-amz-content-sha256`):
 * `declaredPayloadHash` checks the signature over that value without reading the body, and returns the seed
 * that aws-chunked chunk signatures chain from (`./chunked.ts`); the caller checks a hex hash while the body
 * streams. https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 *
 * @example
 * const { caller, region } = await authenticate(ctx, { method, url, headers, body }, { service: 'eks' })
 */
import type { IdentityPorts } from '../../identity/ports.ts'
import { openSessionToken } from '../../identity/sessions.ts'
import type { Caller } from '../../identity/types.ts'
import { AwsError } from '../errors.ts'
import { isKnownRegion } from '../regions.ts'
import { verifyWithPayloadHash, type VerifiedSeed } from './chunked.ts'
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
  /**
   * S3 only: the `x-amz-content-sha256` value the client sent (`UNSIGNED-PAYLOAD`, a `STREAMING-…` value or
   * a hex SHA-256). The signature is checked over it instead of the body's hash and the body is not read;
   * a hex hash must then be checked by the caller against the body as it streams. Mismatches throw
   * `SignatureMismatchError`, which carries the canonical request and string to sign S3 echoes back.
   */
  declaredPayloadHash?: string
  /** Clock skew allowed around the signing time (default 5 minutes; S3 allows 15). */
  maxClockSkewMs?: number
  /** Where credentials come from (default: `resolveCredentials` on the ports, no cache). */
  resolveCredentials?: CredentialResolver
}

export interface Authenticated {
  caller: Caller
  signature: ParsedSignature
  /** The credential scope's Region (validated): the request's `aws:RequestedRegion`. */
  region: string
  /** With `declaredPayloadHash`: the verified signature and key that aws-chunked chunk signatures chain from. */
  seed?: VerifiedSeed
}

/** The caller and secret behind an access key id (+ session token). */
export interface ResolvedCredentials {
  caller: Caller
  secretAccessKey: string
  /** Session credentials: when they stop working (checked after the signature, as AWS orders the checks). */
  expiration?: Date
}

/** Why credentials did not resolve: no such active access key, or a session token that does not open. */
export type CredentialProblem = 'unknown-key' | 'invalid-token'

export type CredentialResolver = (
  accessKeyId: string,
  securityToken: string | undefined,
) => Promise<ResolvedCredentials | CredentialProblem>

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
  checkClock(parsed, now, options.maxClockSkewMs)
  const resolve =
    options.resolveCredentials ?? ((id, token) => resolveCredentials(ports, id, token))
  const resolved = await resolve(parsed.accessKeyId, parsed.securityToken)
  if (typeof resolved === 'string')
    throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
  let seed: VerifiedSeed | undefined
  if (options.declaredPayloadHash !== undefined)
    seed = verifyWithPayloadHash(
      raw,
      parsed,
      resolved.secretAccessKey,
      options.declaredPayloadHash,
      { normalizePath: options.normalizePath ?? true },
    )
  else
    verifySignature(raw, parsed, resolved.secretAccessKey, {
      normalizePath: options.normalizePath ?? true,
      allowUnsignedPayload: options.allowUnsignedPayload ?? false,
    })
  if (resolved.expiration !== undefined) {
    if (resolved.expiration.getTime() <= now.getTime())
      throw new AwsError('ExpiredToken', EXPIRED_TOKEN_MESSAGE)
  } else {
    ports.accessKeys.noteAccessKeyUse?.(parsed.accessKeyId, now, parsed.service, parsed.region)
  }
  return {
    caller: resolved.caller,
    signature: parsed,
    region: parsed.region,
    ...(seed === undefined ? {} : { seed }),
  }
}

/**
 * Resolves an access key id (+ session token) to its caller and secret: a sealed session token (temporary
 * credentials from every identity path) must open and name this key id; otherwise the key must be an active
 * long-term access key. Problems are returned, not thrown, so callers can answer in their service's words.
 */
export async function resolveCredentials(
  ports: AuthenticatorPorts,
  accessKeyId: string,
  securityToken: string | undefined,
): Promise<ResolvedCredentials | CredentialProblem> {
  if (securityToken !== undefined || accessKeyId.startsWith('ASIA')) {
    if (securityToken === undefined) return 'invalid-token'
    try {
      const opened = await openSessionToken(ports, securityToken)
      if (opened.accessKeyId !== accessKeyId) return 'invalid-token'
      return {
        caller: opened.caller,
        secretAccessKey: opened.secretAccessKey,
        expiration: opened.expiration,
      }
    } catch {
      return 'invalid-token'
    }
  }
  const key = await ports.accessKeys.getAccessKey(accessKeyId)
  if (key === undefined || key.status !== 'Active') return 'unknown-key'
  const isRoot = /^arn:[^:]+:iam::\d{12}:root$/.test(key.userArn)
  return {
    caller: {
      arn: key.userArn,
      accountId: key.accountId,
      userId: isRoot ? key.accountId : key.userId,
      accessKeyId: key.accessKeyId,
      type: isRoot ? 'Root' : 'IAMUser',
      ...(isRoot ? {} : { userName: key.userName }),
    },
    secretAccessKey: key.secretAccessKey,
  }
}

/** The authenticated caller of a signed request (throws `AwsError`); `authenticate` also gives the scope. */
export async function authenticateRequest(
  ports: AuthenticatorPorts,
  request: HttpRequestInput | SignedRequest,
  options: AuthenticateOptions = {},
): Promise<Caller> {
  return (await authenticate(ports, request, options)).caller
}
