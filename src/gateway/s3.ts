/**
 * @module gateway/s3
 * The S3 side of the gateway: authenticates a request as S3 does (SigV4 header or presigned query, the
 * declared payload hash, aws-chunked), maps it to IAM checks, decides each with the engine (identity,
 * session, boundary and the stored bucket policy), answers bucket-policy calls itself, and streams every
 * allowed call to the backend re-signed. Errors are S3's ("Error responses",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; "Authenticating Requests (AWS
 * Signature Version 4)", https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html).
 */
import { randomUUID } from 'node:crypto'
import {
  finished,
  PassThrough,
  pipeline,
  type Readable,
  type Transform,
  type Writable,
} from 'node:stream'
import { AwsError } from '../aws/errors.ts'
import {
  AwsChunkedDecoder,
  AwsChunkedEncoder,
  payloadModeOf,
  Sha256CheckStream,
  SignatureMismatchError,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
  type PayloadMode,
  type VerifiedSeed,
} from '../aws/sigv4/chunked.ts'
import { authenticate, INVALID_TOKEN_MESSAGE } from '../aws/sigv4/authenticate.ts'
import {
  readSigV2,
  SigV2FormatError,
  signedAt,
  verifySigV2,
  type SigV2Credentials,
} from '../aws/sigv2/s3-sigv2.ts'
import {
  parseAmzDate,
  parseQuery,
  parseSignature,
  sha256Hex,
  type ParsedSignature,
} from '../aws/sigv4/sigv4.ts'
import type { CompiledPolicy } from '../policy/index.ts'
import { dataEvent } from './audit.ts'
import { forwardHeaders, signBackendRequest, stripAuthQuery } from './backend.ts'
import {
  accessDeniedMessage,
  denialPolicy,
  s3ErrorResponse,
  type ServiceErrorInput,
} from './errors.ts'
import {
  BodyTooLargeError,
  readBounded,
  responseSink,
  sendRendered,
  type Exchange,
  type GatewayDeps,
} from './exchange.ts'
import { userIdentityOf, type Caller, type RequestContext } from './identity.ts'
import {
  bucketArn,
  mapS3Request,
  parseTaggingXml,
  S3MappingError,
  tagContext,
  virtualHostBucket,
  type S3Check,
  type S3Operation,
} from './s3-operations.ts'

/** S3 allows 15 minutes of clock skew ("RequestTimeTooSkewed"). */
const S3_MAX_SKEW_MS = 15 * 60 * 1000
const MAX_POLICY_BYTES = 20 * 1024
const MAX_SMALL_BODY = 2 * 1024 * 1024
const EMPTY = new Uint8Array(0)

class S3Failure extends Error {
  readonly error: ServiceErrorInput
  constructor(error: ServiceErrorInput) {
    super(error.message)
    this.error = error
  }
}

function fail(
  code: string,
  message: string,
  status: number,
  extra?: [string, string][],
): S3Failure {
  return new S3Failure({ code, message, status, ...(extra === undefined ? {} : { extra }) })
}

function hexBytes(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ')
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

interface Authenticated {
  caller: Caller | undefined
  parsed: ParsedSignature | undefined
  /** `s3:signatureversion`: `AWS` (V2) or `AWS4-HMAC-SHA256`; undefined for anonymous requests. */
  signatureVersion: 'AWS' | 'AWS4-HMAC-SHA256' | undefined
  /** `s3:authType`. */
  authType: 'REST-HEADER' | 'REST-QUERY-STRING'
  mode: PayloadMode
  declared: string
  seed: VerifiedSeed | undefined
}

async function authenticateS3(d: GatewayDeps, ex: Exchange): Promise<Authenticated> {
  const v2 = readV2(d, ex)
  if (v2 !== undefined) return authenticateV2(d, ex, v2)
  const raw = {
    method: ex.method,
    path: ex.path,
    query: ex.query,
    headers: ex.headers,
    body: EMPTY,
  }
  let parsed: ParsedSignature | undefined
  try {
    parsed = parseSignature(raw)
  } catch (err) {
    if (!(err instanceof AwsError)) throw err
    const query =
      /X-Amz-Signature|X-Amz-Algorithm/.test(ex.query) && !ex.header.has('authorization')
    if (err.code === 'IncompleteSignature')
      throw fail(
        query ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed',
        query
          ? 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.'
          : `The authorization header is malformed; ${err.message}`,
        400,
      )
    throw fail(err.code, err.message, err.status)
  }
  if (parsed === undefined) {
    const declared = ex.header.get('x-amz-content-sha256') ?? UNSIGNED_PAYLOAD
    return {
      caller: undefined,
      parsed,
      signatureVersion: undefined,
      authType: 'REST-HEADER',
      mode: modeOf(declared),
      declared,
      seed: undefined,
    }
  }
  const isQuery = parsed.kind === 'query'
  if (isQuery && parsed.expires === undefined)
    throw fail(
      'AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      400,
    )
  const malformed = isQuery ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed'
  const prefix = isQuery
    ? 'Error parsing the X-Amz-Credential parameter; '
    : 'The authorization header is malformed; '
  if (parsed.service !== 's3')
    throw fail(
      malformed,
      `${prefix}incorrect service "${parsed.service}". This endpoint belongs to "s3".`,
      400,
    )
  if (parsed.region !== d.region)
    throw fail(
      malformed,
      `${prefix}the region '${parsed.region}' is wrong; expecting '${d.region}'`,
      400,
      [['Region', d.region]],
    )
  const signedAt = parseAmzDate(parsed.amzDate)
  if (signedAt === undefined)
    throw fail(
      'AccessDenied',
      isQuery
        ? "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        : 'AWS authentication requires a valid Date or x-amz-date header',
      isQuery ? 400 : 403,
    )
  if (parsed.amzDate.slice(0, 8) !== parsed.scopeDate)
    throw fail(
      malformed,
      `${prefix}Invalid credential date. Date is not the same as X-Amz-Date.`,
      400,
    )
  const now = d.ctx.now()
  if (isQuery) {
    if (signedAt.getTime() > now.getTime() + S3_MAX_SKEW_MS)
      throw fail('AccessDenied', 'Request is not valid yet', 403)
    const expiresAt = new Date(signedAt.getTime() + (parsed.expires as number) * 1000)
    if (expiresAt.getTime() < now.getTime())
      throw fail('AccessDenied', 'Request has expired', 403, [
        ['X-Amz-Expires', String(parsed.expires)],
        ['Expires', isoSeconds(expiresAt)],
        ['ServerTime', isoSeconds(now)],
      ])
  } else if (Math.abs(signedAt.getTime() - now.getTime()) > S3_MAX_SKEW_MS) {
    throw fail(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      403,
      [
        ['RequestTime', parsed.amzDate],
        ['ServerTime', isoSeconds(now)],
        ['MaxAllowedSkewMilliseconds', '900000'],
      ],
    )
  }

  let declared: string
  if (isQuery) {
    declared =
      parseQuery(ex.query).find(([k]) => k === 'X-Amz-Content-Sha256')?.[1] ??
      ex.header.get('x-amz-content-sha256') ??
      UNSIGNED_PAYLOAD
  } else {
    const h = ex.header.get('x-amz-content-sha256')
    if (h === undefined)
      throw fail(
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
        400,
      )
    declared = h.trim()
  }
  const mode = modeOf(declared)

  try {
    const { caller, seed } = await authenticate(
      d.ctx,
      { raw, signature: parsed },
      {
        service: 's3',
        regions: [d.region],
        normalizePath: false,
        declaredPayloadHash: declared,
        maxClockSkewMs: S3_MAX_SKEW_MS,
        resolveCredentials: d.authz.resolve,
      },
    )
    return {
      caller,
      parsed,
      signatureVersion: 'AWS4-HMAC-SHA256',
      authType: isQuery ? 'REST-QUERY-STRING' : 'REST-HEADER',
      mode,
      declared,
      seed,
    }
  } catch (err) {
    throw authenticationFailure(err, parsed)
  }
}

interface V2Request {
  credentials: SigV2Credentials
  request: Parameters<typeof verifySigV2>[0]
}

function readV2(d: GatewayDeps, ex: Exchange): V2Request | undefined {
  const request = { method: ex.method, path: ex.path, query: ex.query, headers: ex.headers }
  let credentials: SigV2Credentials | undefined
  try {
    credentials = readSigV2(request)
  } catch (err) {
    if (err instanceof SigV2FormatError) throw fail(err.code, err.message, err.status)
    throw err
  }
  if (credentials === undefined) return undefined
  // The bucket of a virtual-hosted request is part of what a V2 signature covers (nothing V4 needs).
  const hostBucket = virtualHostBucket(ex.host, d.baseHosts)
  return {
    credentials,
    request: hostBucket === undefined ? request : { ...request, hostBucket },
  }
}

/**
 * S3 Signature Version 2 (header or presigned query): the clock, the credentials (the same resolver as
 * SigV4: access keys and sealed session tokens), then the signature, in the order S3 answers.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html
 * The body is not covered by a V2 signature (Content-MD5 is, and the backend checks it).
 */
async function authenticateV2(
  d: GatewayDeps,
  ex: Exchange,
  { credentials, request }: V2Request,
): Promise<Authenticated> {
  const now = d.ctx.now()
  if (credentials.kind === 'query') {
    const expiresAt = new Date((credentials.expires as number) * 1000)
    if (expiresAt.getTime() < now.getTime())
      throw fail('AccessDenied', 'Request has expired', 403, [
        ['Expires', isoSeconds(expiresAt)],
        ['ServerTime', isoSeconds(now)],
      ])
  } else {
    const at = signedAt(request)
    if (at === undefined)
      throw fail(
        'AccessDenied',
        'AWS authentication requires a valid Date or x-amz-date header',
        403,
      )
    if (Math.abs(at.getTime() - now.getTime()) > S3_MAX_SKEW_MS)
      throw fail(
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        403,
        [
          ['RequestTime', ex.header.get('x-amz-date') ?? ex.header.get('date') ?? ''],
          ['ServerTime', isoSeconds(now)],
          ['MaxAllowedSkewMilliseconds', '900000'],
        ],
      )
  }
  const resolved = await d.authz.resolve(credentials.accessKeyId, credentials.securityToken)
  if (typeof resolved === 'string')
    throw authenticationFailure(
      new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE),
      credentials,
    )
  const verdict = verifySigV2(request, credentials, resolved.secretAccessKey)
  if (!verdict.ok)
    throw fail(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      403,
      [
        ['AWSAccessKeyId', credentials.accessKeyId],
        ['StringToSign', verdict.stringToSign],
        ['SignatureProvided', credentials.signature],
        ['StringToSignBytes', hexBytes(verdict.stringToSign)],
      ],
    )
  if (resolved.expiration !== undefined) {
    if (resolved.expiration.getTime() <= now.getTime())
      throw fail('ExpiredToken', 'The provided token has expired.', 400)
  } else {
    d.ctx.accessKeys.noteAccessKeyUse?.(credentials.accessKeyId, now, 's3', d.region)
  }
  return {
    caller: resolved.caller,
    parsed: undefined,
    signatureVersion: 'AWS',
    authType: credentials.kind === 'query' ? 'REST-QUERY-STRING' : 'REST-HEADER',
    mode: modeOf(UNSIGNED_PAYLOAD),
    declared: UNSIGNED_PAYLOAD,
    seed: undefined,
  }
}

/** The shared authenticator's errors in S3's words ("Error responses", S3 API Reference). */
function authenticationFailure(
  err: unknown,
  parsed: { accessKeyId: string; signature: string; securityToken?: string | undefined },
): unknown {
  if (err instanceof SignatureMismatchError)
    return fail('SignatureDoesNotMatch', err.message, 403, [
      ['AWSAccessKeyId', parsed.accessKeyId],
      ['StringToSign', err.detail.stringToSign],
      ['SignatureProvided', parsed.signature],
      ['StringToSignBytes', hexBytes(err.detail.stringToSign)],
      ['CanonicalRequest', err.detail.canonicalRequest],
      ['CanonicalRequestBytes', hexBytes(err.detail.canonicalRequest)],
    ])
  if (!(err instanceof AwsError)) return err
  if (err.code === 'InvalidClientTokenId')
    return parsed.securityToken !== undefined || parsed.accessKeyId.startsWith('ASIA')
      ? fail('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400)
      : fail(
          'InvalidAccessKeyId',
          'The AWS Access Key Id you provided does not exist in our records.',
          403,
          [['AWSAccessKeyId', parsed.accessKeyId]],
        )
  if (err.code === 'ExpiredToken')
    return fail('ExpiredToken', 'The provided token has expired.', 400)
  return fail(err.code, err.message, err.status)
}

function modeOf(declared: string): PayloadMode {
  try {
    return payloadModeOf(declared)
  } catch (err) {
    if (err instanceof AwsError) throw fail(err.code, err.message, err.status)
    throw err
  }
}

/** The verifying transforms for the client's body, in order, and the decoder (for trailers). */
function bodyTransforms(
  ex: Exchange,
  auth: Authenticated,
): { transforms: Transform[]; decoder?: AwsChunkedDecoder } {
  const mode = auth.mode
  if (mode.kind === 'sha256') return { transforms: [new Sha256CheckStream(mode.hash)] }
  if (mode.kind !== 'chunked') return { transforms: [] }
  const lengthText = ex.header.get('x-amz-decoded-content-length')
  const announced = ex.header.get('x-amz-trailer')?.trim().toLowerCase()
  const decoder = new AwsChunkedDecoder({
    signed: mode.signed,
    trailer: mode.trailer,
    ...(auth.seed === undefined ? {} : { seed: auth.seed }),
    ...(lengthText !== undefined && /^\d+$/.test(lengthText)
      ? { decodedLength: Number(lengthText) }
      : {}),
    ...(announced === undefined || announced === '' ? {} : { announcedTrailer: announced }),
  })
  return { transforms: [decoder], decoder }
}

function hasBody(ex: Exchange): boolean {
  const length = ex.header.get('content-length')
  return ex.header.has('transfer-encoding') || (length !== undefined && length !== '0')
}

/** Reads a small body (policies, tagging, DeleteObjects), verified as its payload mode requires. */
async function readSmallBody(ex: Exchange, auth: Authenticated, limit: number): Promise<Buffer> {
  if (!hasBody(ex)) return Buffer.alloc(0)
  const { transforms } = bodyTransforms(ex, auth)
  const out = new PassThrough()
  const done = new Promise<void>((resolve, reject) =>
    pipeFromClient(ex, [...transforms, out], (err) => (err ? reject(err) : resolve())),
  )
  const [body] = await Promise.all([readBounded(out, limit), done])
  return body
}

/**
 * Pipes the client's body through `stages` with backpressure. The client request is not handed to
 * `pipeline` (which would destroy it, and the socket, on a verification failure): it is unpiped instead,
 * so the error can still be answered on the connection.
 */
function pipeFromClient(
  ex: Exchange,
  stages: NodeJS.WritableStream[],
  done: (err?: Error | null) => void,
): void {
  const first = stages[0] as unknown as Writable
  const chain = stages.length === 1 ? first : undefined
  const onClientError = (err: Error) => first.destroy(err)
  ex.req.once('error', onClientError)
  ex.req.once('close', () => {
    if (!ex.req.complete) first.destroy(new Error('the client went away'))
  })
  const finish = (err?: Error | null) => {
    ex.req.off('error', onClientError)
    if (err) ex.req.unpipe(first)
    done(err)
  }
  if (chain !== undefined) {
    finished(first, (err) => finish(err))
  } else {
    pipeline(stages as unknown as [Readable, Writable], (err) => finish(err))
  }
  ex.req.pipe(first)
}

function verificationFailure(err: unknown): S3Failure {
  if (err instanceof S3Failure) return err
  if (err instanceof AwsError) return fail(err.code, err.message, err.status)
  if (err instanceof BodyTooLargeError)
    return fail('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400)
  return fail(
    'IncompleteBody',
    'You did not provide the number of bytes specified by the Content-Length HTTP header',
    400,
  )
}

/** `s3:ExistingObjectTag/*` needs the object's tags: fetched from the backend only when a policy uses them. */
async function existingTags(
  d: GatewayDeps,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<[string, string][]> {
  const path = `${d.s3.basePath}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`
  const query =
    versionId === undefined ? 'tagging=' : `tagging=&versionId=${encodeURIComponent(versionId)}`
  const res = await ownBackendCall(d, 'GET', path, query)
  return res.statusCode === 200 ? parseTaggingXml(res.body.toString('utf8')) : []
}

interface Decision {
  allowed: boolean
  check: S3Check
  message: string
  detail?: Record<string, unknown>
}

async function decide(
  d: GatewayDeps,
  ex: Exchange,
  auth: Authenticated,
  op: S3Operation,
  extraContext: RequestContext,
): Promise<Decision> {
  const policies = auth.caller === undefined ? undefined : await d.authz.policiesOf(auth.caller)
  const bucketPolicies = new Map<string, CompiledPolicy | undefined>()
  const baseContext: RequestContext = {
    's3:authType': auth.authType,
    ...(auth.signatureVersion === undefined
      ? {}
      : { 's3:signatureversion': auth.signatureVersion }),
    // V2 requests carry no x-amz-content-sha256.
    ...(auth.signatureVersion === 'AWS' ? {} : { 's3:x-amz-content-sha256': auth.declared }),
    's3:ResourceAccount': d.resourceAccount,
    ...extraContext,
  }
  let last: Decision | undefined
  for (const check of op.checks) {
    const bucket =
      check.resource === '*'
        ? undefined
        : check.resource.slice('arn:aws:s3:::'.length).split('/')[0]
    let resourcePolicy: CompiledPolicy | undefined
    if (bucket !== undefined) {
      if (!bucketPolicies.has(bucket)) {
        const doc = await d.policies.get('s3', bucket)
        bucketPolicies.set(
          bucket,
          doc === undefined ? undefined : d.authz.compileResourcePolicy(doc, bucketArn(bucket)),
        )
      }
      resourcePolicy = bucketPolicies.get(bucket)
    }
    const context: RequestContext = { ...baseContext, ...check.context }
    if (
      check.object !== undefined &&
      (policies === undefined
        ? resourcePolicy !== undefined &&
          JSON.stringify(resourcePolicy.model).includes('ExistingObjectTag')
        : d.authz.mentions(policies, resourcePolicy, 'ExistingObjectTag'))
    ) {
      const tags = await existingTags(
        d,
        check.object.bucket,
        check.object.key,
        check.object.versionId,
      )
      Object.assign(context, tagContext('s3:ExistingObjectTag', tags))
    }
    const { result, context: full } = await d.authz.check(
      auth.caller,
      {
        action: check.action,
        resource: check.resource,
        resourceAccount: d.resourceAccount,
        resourcePolicy,
        context: {
          sourceIp: ex.sourceIp,
          secureTransport: ex.secure,
          region: d.region,
          userAgent: ex.userAgent,
          extra: context,
        },
      },
      policies,
    )
    const allowed = result.decision === 'Allowed'
    const message =
      allowed || auth.caller === undefined || auth.caller.accountId !== d.resourceAccount
        ? 'Access Denied'
        : accessDeniedMessage({
            principalArn: auth.caller.arn,
            action: check.action,
            resource: `"${check.resource}"`,
            explicit: result.decision === 'ExplicitlyDenied',
            policy: denialPolicy(result, policies?.sessionPolicies !== undefined),
          })
    last = {
      allowed,
      check,
      message,
      ...(allowed
        ? {}
        : {
            detail: d.authz.explain(
              auth.caller,
              result,
              check.action,
              check.resource,
              full,
            ) as unknown as Record<string, unknown>,
          }),
    }
    if (!allowed) return last
  }
  return last as Decision
}

const NO_PARAMETERS: ReadonlyMap<string, string> = new Map()

/**
 * A caller's CloudTrail `userIdentity`, built once per resolved caller (callers are cached with their
 * credentials, so every request of the same second shares one). The audit log copies what it stores.
 */
const identities = new WeakMap<Caller, ReturnType<typeof userIdentityOf>>()
function identityOf(caller: Caller): ReturnType<typeof userIdentityOf> {
  let identity = identities.get(caller)
  if (identity === undefined) {
    identity = userIdentityOf(caller)
    identities.set(caller, identity)
  }
  return identity
}

function audit(
  d: GatewayDeps,
  ex: Exchange,
  op: S3Operation | undefined,
  auth: Authenticated | undefined,
  outcome: {
    errorCode?: string
    errorMessage?: string
    detail?: Record<string, unknown>
    payload?: string
  },
): Promise<void> {
  const caller = auth?.caller
  const query = ex.query === '' ? NO_PARAMETERS : new Map(parseQuery(stripAuthQuery(ex.query)))
  const event = dataEvent({
    now: d.ctx.now(),
    eventSource: 's3.amazonaws.com',
    eventName: op?.name ?? 'Unknown',
    region: d.region,
    sourceIp: ex.sourceIp,
    userAgent: ex.userAgent,
    userIdentity:
      caller === undefined
        ? { type: 'AWSAccount', principalId: '', accountId: 'anonymous' }
        : identityOf(caller),
    requestParameters: {
      bucketName: op?.bucket,
      key: op?.key,
      Host: ex.host,
      prefix: query.get('prefix'),
      delimiter: query.get('delimiter'),
      'max-keys': query.get('max-keys'),
      uploadId: query.get('uploadId'),
      partNumber: query.get('partNumber'),
      versionId: query.get('versionId'),
      'x-amz-copy-source': ex.header.get('x-amz-copy-source'),
    },
    resources: (op?.checks ?? []).map((c) =>
      c.resource.includes('/')
        ? { type: 'AWS::S3::Object', ARN: c.resource }
        : c.resource === '*'
          ? { type: 'AWS::S3::Bucket' }
          : { type: 'AWS::S3::Bucket', ARN: c.resource, accountId: d.resourceAccount },
    ),
    requestId: ex.requestId,
    eventId: randomUUID(),
    readOnly: op?.readOnly ?? true,
    recipientAccountId: d.resourceAccount,
    ...(outcome.errorCode === undefined ? {} : { errorCode: outcome.errorCode }),
    ...(outcome.errorMessage === undefined ? {} : { errorMessage: outcome.errorMessage }),
    additionalEventData: {
      // CloudTrail's S3 data events: SigV2 or SigV4, QueryString or AuthHeader.
      SignatureVersion:
        auth?.signatureVersion === undefined
          ? undefined
          : auth.signatureVersion === 'AWS'
            ? 'SigV2'
            : 'SigV4',
      AuthenticationMethod: auth?.authType === 'REST-QUERY-STRING' ? 'QueryString' : 'AuthHeader',
      ...(outcome.payload === undefined
        ? {}
        : {
            'x-amz-content-sha256':
              outcome.payload.startsWith('STREAMING') || outcome.payload === 'UNSIGNED-PAYLOAD'
                ? outcome.payload
                : 'SHA256',
          }),
      ...(outcome.detail === undefined ? {} : { policyDecision: outcome.detail }),
    },
  })
  // Denials are durable before the error goes out; allowed calls join the next batch.
  if (outcome.errorCode !== undefined) return d.ctx.audit.record(event)
  d.events.add(event)
  return Promise.resolve()
}

/** Records a failed call's data event (durable before the answer), then answers in S3's form. */
async function answer(
  d: GatewayDeps,
  ex: Exchange,
  op: S3Operation | undefined,
  auth: Authenticated | undefined,
  failure: S3Failure,
  detail?: Record<string, unknown>,
): Promise<void> {
  await audit(d, ex, op, auth, {
    errorCode: failure.error.code,
    errorMessage: failure.error.message,
    ...(detail === undefined ? {} : { detail }),
  }).catch((err: unknown) => d.ctx.log.error('gateway.audit_failed', { error: String(err) }))
  sendRendered(ex, s3ErrorResponse(failure.error, ex.requestId, ex.hostId, ex.method === 'HEAD'))
}

/** Handles one S3 request end to end. Never throws: every failure is answered in S3's form. */
export async function handleS3(d: GatewayDeps, ex: Exchange): Promise<void> {
  let op: S3Operation | undefined
  let auth: Authenticated | undefined
  try {
    auth = await authenticateS3(d, ex)
    try {
      op = mapS3Request({
        method: ex.method,
        path: ex.path,
        query: parseQuery(stripAuthQuery(ex.query)),
        headers: ex.header,
        host: ex.host,
        baseHosts: d.baseHosts,
      })
    } catch (err) {
      if (err instanceof S3MappingError) throw fail(err.code, err.message, err.status)
      throw err
    }
    const needsBody =
      op.name === 'PutObjectTagging' ||
      op.name === 'DeleteObjects' ||
      op.local === 'PutBucketPolicy'
    let body: Buffer | undefined
    const extra: RequestContext = {}
    if (needsBody) {
      try {
        body = await readSmallBody(
          ex,
          auth,
          op.local === 'PutBucketPolicy' ? MAX_POLICY_BYTES : MAX_SMALL_BODY,
        )
      } catch (err) {
        if (err instanceof BodyTooLargeError && op.local === 'PutBucketPolicy')
          throw fail('PolicyTooLarge', 'Policy exceeds the maximum allowed document size.', 400)
        throw verificationFailure(err)
      }
      if (op.name === 'PutObjectTagging')
        Object.assign(
          extra,
          tagContext('s3:RequestObjectTag', parseTaggingXml(body.toString('utf8'))),
        )
      if (op.name === 'DeleteObjects') {
        // Every key is authorized as s3:DeleteObject; one denied key denies the request.
        const keys = [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
          (m[1] as string)
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&quot;/g, '"')
            .replace(/&apos;/g, "'")
            .replace(/&amp;/g, '&'),
        )
        op = {
          ...op,
          checks: keys.slice(0, 1000).map((k) => ({
            action: 's3:DeleteObject',
            resource: `arn:aws:s3:::${op?.bucket}/${k}`,
            context: {},
          })),
        }
      }
    }
    const decision = op.checks.length === 0 ? undefined : await decide(d, ex, auth, op, extra)
    if (decision !== undefined && !decision.allowed) {
      await answer(d, ex, op, auth, fail('AccessDenied', decision.message, 403), decision.detail)
      return
    }
    if (op.local !== undefined) {
      await bucketPolicyCall(d, ex, op, body)
      void audit(d, ex, op, auth, {}).catch((err: unknown) =>
        d.ctx.log.error('gateway.audit_failed', { error: String(err) }),
      )
      return
    }
    // Data events of allowed calls are recorded while the call streams (CloudTrail delivers data events
    // asynchronously too); a failure to record is logged, never silent.
    void audit(d, ex, op, auth, { payload: auth.declared }).catch((err: unknown) =>
      d.ctx.log.error('gateway.audit_failed', { error: String(err) }),
    )
    await forward(d, ex, op, auth, body)
  } catch (err) {
    if (err instanceof S3Failure) return answer(d, ex, op, auth, err)
    d.ctx.log.error('gateway.s3_failed', {
      error: err instanceof Error ? err.message : String(err),
    })
    return answer(
      d,
      ex,
      op,
      auth,
      fail('InternalError', 'We encountered an internal error. Please try again.', 500),
    )
  }
}

/** A small call the gateway makes to the S3 backend on its own behalf (object tags, bucket existence). */
async function ownBackendCall(
  d: GatewayDeps,
  method: 'GET' | 'HEAD',
  path: string,
  query: string,
): Promise<{ statusCode: number; body: Buffer }> {
  const headers = signBackendRequest({
    method,
    path,
    query,
    headers: [],
    host: d.s3.host,
    payloadHash: UNSIGNED_PAYLOAD,
    service: 's3',
    target: d.s3.target,
    now: d.ctx.now(),
  })
  const res = await d.s3.send({ method, path, query, headers })
  return { statusCode: res.statusCode, body: await readBounded(res.body, 64 * 1024) }
}

async function bucketExists(d: GatewayDeps, bucket: string): Promise<boolean> {
  const res = await ownBackendCall(d, 'HEAD', `${d.s3.basePath}/${encodeURIComponent(bucket)}`, '')
  if (res.statusCode === 404) return false
  if (res.statusCode >= 500)
    throw fail('ServiceUnavailable', 'Service is unable to handle request.', 503)
  return true
}

/** Put/Get/DeleteBucketPolicy: answered by podtrust, which stores and evaluates bucket policies. */
async function bucketPolicyCall(
  d: GatewayDeps,
  ex: Exchange,
  op: S3Operation,
  body: Buffer | undefined,
): Promise<void> {
  const bucket = op.bucket as string
  if (!(await bucketExists(d, bucket)))
    throw fail('NoSuchBucket', 'The specified bucket does not exist', 404, [['BucketName', bucket]])
  const ok = (status: number, text = '', type?: string) => {
    ex.res.writeHead(status, {
      'x-amz-request-id': ex.requestId,
      'x-amz-id-2': ex.hostId,
      'content-length': String(Buffer.byteLength(text)),
      ...(type === undefined ? {} : { 'content-type': type }),
    })
    ex.res.end(text)
  }
  if (op.local === 'GetBucketPolicy') {
    const doc = await d.policies.get('s3', bucket)
    if (doc === undefined)
      throw fail('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, [
        ['BucketName', bucket],
      ])
    return ok(200, doc, 'application/json')
  }
  if (op.local === 'DeleteBucketPolicy') {
    await d.policies.delete('s3', bucket)
    return ok(204)
  }
  const text = (body ?? Buffer.alloc(0)).toString('utf8')
  if (!text.trimStart().startsWith('{'))
    throw fail('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'", 400)
  try {
    d.authz.compileResourcePolicy(text, bucketArn(bucket))
  } catch (err) {
    throw fail('MalformedPolicy', err instanceof Error ? err.message : 'Invalid policy', 400)
  }
  await d.policies.put('s3', bucket, text, d.ctx.now())
  ok(204)
}

function backendPath(d: GatewayDeps, ex: Exchange, op: S3Operation): string {
  // Path style towards the backend whatever style the client used.
  const path =
    op.virtualHosted === true ? `/${encodeURIComponent(op.bucket as string)}${ex.path}` : ex.path
  return `${d.s3.basePath}${path === '' ? '/' : path}`
}

/** Streams the call to the backend and its answer back; bodies are verified on the way, never buffered. */
function forward(
  d: GatewayDeps,
  ex: Exchange,
  op: S3Operation,
  auth: Authenticated,
  body: Buffer | undefined,
): Promise<void> {
  const path = backendPath(d, ex, op)
  const query = stripAuthQuery(ex.query)
  const headers = forwardHeaders(ex.headers)
  const withBody = body !== undefined ? body.length > 0 : hasBody(ex)
  let payloadHash = UNSIGNED_PAYLOAD
  let transforms: Transform[] = []
  if (body !== undefined) {
    headers.push(['content-length', String(body.length)])
    payloadHash = sha256Hex(body)
  } else if (withBody) {
    const built = bodyTransforms(ex, auth)
    transforms = built.transforms
    if (auth.mode.kind === 'chunked') {
      const decodedLength = ex.header.get('x-amz-decoded-content-length')
      if (auth.mode.trailer && built.decoder !== undefined) {
        const decoder = built.decoder
        transforms.push(new AwsChunkedEncoder(() => decoder.trailers))
        headers.push(['content-encoding', 'aws-chunked'])
        if (decodedLength !== undefined)
          headers.push(['x-amz-decoded-content-length', decodedLength])
        const trailer = ex.header.get('x-amz-trailer')
        if (trailer !== undefined) headers.push(['x-amz-trailer', trailer])
        payloadHash = STREAMING_UNSIGNED_TRAILER
      } else {
        if (decodedLength === undefined || !/^\d+$/.test(decodedLength))
          return Promise.reject(
            fail('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411),
          )
        headers.push(['content-length', decodedLength])
      }
    } else {
      const length = ex.header.get('content-length')
      if (length === undefined)
        return Promise.reject(
          fail('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411),
        )
      headers.push(['content-length', length])
    }
  } else if (ex.method === 'PUT' || ex.method === 'POST') {
    headers.push(['content-length', '0'])
  }
  const signed = signBackendRequest({
    method: ex.method,
    path,
    query,
    headers,
    host: d.s3.host,
    payloadHash,
    service: 's3',
    target: d.s3.target,
    now: d.ctx.now(),
  })
  // The client's body reaches the backend through the verifying transforms, or one pass-through: the
  // backend leg never holds the client's request itself, so a failed call still answers on the connection.
  let upload: Readable | Buffer | undefined = body
  if (body === undefined && withBody) {
    const stages = transforms.length > 0 ? transforms : [new PassThrough()]
    upload = stages[stages.length - 1] as Readable
    // A failing stage aborts the backend request with its error, which lands below.
    pipeFromClient(ex, stages, () => undefined)
  }
  return d.s3
    .relay({ method: ex.method, path, query, headers: signed, body: upload }, responseSink(ex))
    .then(
      () => undefined,
      (err: unknown) => {
        // The client's body failed verification (a stage's S3 error) or the client went away: the backend
        // never got a complete body, and the client gets S3's error when it is still listening. Anything
        // else is the backend's failure (refused, reset, cut short).
        const clientGone = ex.req.destroyed && !ex.req.complete
        if (err instanceof AwsError || err instanceof BodyTooLargeError || clientGone)
          throw verificationFailure(err)
        if (ex.res.headersSent) {
          ex.res.destroy()
          return
        }
        throw fail('ServiceUnavailable', 'Service is unable to handle request.', 503)
      },
    )
}
