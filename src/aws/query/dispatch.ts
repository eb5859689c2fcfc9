/**
 * @module aws/query/dispatch
 * The awsQuery front door: parses the form (body + query string), picks the service by the SigV4 credential
 * scope (or, unsigned, by `Version`/`Action`), authenticates every action the service does not list as
 * unsigned, runs the handler, records the audit event durably, and renders AWS's XML (or `<ErrorResponse>`).
 * Framework-free: the Hono module (`module.ts`) adapts requests to `QueryHttpRequest`.
 */
import { randomUUID } from 'node:crypto'
import type { AppContext } from '../../app/context.ts'
import type { AuditEvent } from '../../audit/types.ts'
import { AwsError, serviceUnavailable } from '../errors.ts'
import { isStoreUnavailable } from '../../store/errors.ts'
import { redactParameterValue } from '../../audit/redact.ts'
import { renderErrorResponse, renderQueryResponse, isoSeconds, type XmlValue } from '../xml.ts'
import { authenticate, readSignedRequest, type SignedRequest } from '../sigv4/authenticate.ts'
import { GLOBAL_SIGNING_REGION } from '../regions.ts'
import { headerValue as header, type HeaderInput } from '../sigv4/request.ts'
import type { Caller } from '../../identity/types.ts'
import {
  lowerFirst,
  type QueryRequest,
  type QueryService,
  type QueryServiceTable,
} from './registry.ts'

export interface QueryHttpRequest {
  method: string
  /** Raw request target (`/path?query`). */
  url: string
  headers: HeaderInput
  body: Uint8Array
  sourceIp: string
  secureTransport: boolean
  /** `process.hrtime.bigint()` at arrival, for the decision-latency metric (else the request scope's). */
  startedAt?: bigint
}

export interface QueryHttpResponse {
  status: number
  headers: Record<string, string>
  body: string
}

const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** Parameters never written to the audit log or logs (CloudTrail omits them too). */
const SECRET_PARAMS = new Set([
  'WebIdentityToken',
  'SAMLAssertion',
  'SecretAccessKey',
  'SessionToken',
  'Password',
  'OldPassword',
  'NewPassword',
  'TokenCode',
  'PrivateKey',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Credential',
])
const SECRET_RESULT_KEYS = new Set(['SecretAccessKey', 'SessionToken', 'Password', 'PrivateKey'])
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g

/** Whether this request is awsQuery-shaped: a form POST, or a GET/POST with `Action` in the query string. */
export function looksLikeQuery(method: string, url: string, headers: HeaderInput): boolean {
  const q = url.indexOf('?')
  const hasActionInQuery = q !== -1 && /(^|&)Action=/.test(url.slice(q + 1))
  if (hasActionInQuery) return true
  if (method !== 'POST') return false
  const type = (header(headers, 'content-type') ?? '').toLowerCase()
  return type.startsWith('application/x-www-form-urlencoded')
}

/** Form body + query string; body wins on duplicate names (as AWS merges them). */
export function parseQueryParams(url: string, body: Uint8Array): Record<string, string> {
  const params: Record<string, string> = {}
  const q = url.indexOf('?')
  if (q !== -1) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) params[k] = v
  if (body.length > 0) {
    // A view, not a copy: Node's body chunks are Buffers already.
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
    for (const [k, v] of new URLSearchParams(text)) params[k] = v
  }
  return params
}

function redactText(text: string): string {
  // Every audited string passes here: skip the global replace when the JWT marker is absent.
  return text.includes('eyJ') ? text.replace(JWT, '***') : text
}

/** `lowerFirst` of response element names, remembered: the names come from handlers, a small fixed set. */
const auditNames = new Map<string, string>()
const MAX_AUDIT_NAMES = 4096

function auditName(key: string): string {
  let name = auditNames.get(key)
  if (name === undefined) {
    name = lowerFirst(key)
    if (auditNames.size >= MAX_AUDIT_NAMES) auditNames.clear()
    auditNames.set(key, name)
  }
  return name
}

export function auditRequestParameters(
  params: Record<string, string>,
): Record<string, unknown> | null {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(params)) {
    if (k === 'Action' || k === 'Version' || k.startsWith('X-Amz-')) continue
    if (SECRET_PARAMS.has(k)) continue
    out[lowerFirst(k)] = redactParameterValue(redactText(v))
  }
  return Object.keys(out).length === 0 ? null : out
}

export function auditResponseElements(value: XmlValue): unknown {
  if (value === null || value === undefined) return value
  if (value instanceof Date) return isoSeconds(value)
  if (Array.isArray(value)) return value.map((v) => auditResponseElements(v))
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || SECRET_RESULT_KEYS.has(k)) continue
      out[auditName(k)] = auditResponseElements(v)
    }
    return out
  }
  return typeof value === 'string' ? redactText(value) : value
}

/** A session's CloudTrail `sessionContext`: who issued it, when, without MFA (podtrust issues none with MFA). */
function sessionContextOf(
  accountId: string,
  issuer: { type: 'Role' | 'IAMUser'; principalId: string; arn: string; userName: string },
  issuedAt: Date,
) {
  return {
    sessionIssuer: { ...issuer, accountId },
    attributes: { creationDate: isoSeconds(issuedAt), mfaAuthenticated: 'false' },
  }
}

/**
 * The CloudTrail `userIdentity` element of a caller: an assumed role or a federated user (GetFederationToken)
 * carries the session's issuer, the role or the IAM user who federated.
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 */
export function userIdentityOf(caller: Caller): AuditEvent['userIdentity'] {
  const base = {
    type: caller.type,
    principalId: caller.userId,
    arn: caller.arn,
    accountId: caller.accountId,
    accessKeyId: caller.accessKeyId,
  }
  const s = caller.session
  if (caller.type === 'AssumedRole' && s !== undefined) {
    return {
      ...base,
      sessionContext: {
        ...sessionContextOf(
          caller.accountId,
          { type: 'Role', principalId: s.roleId, arn: s.roleArn, userName: s.roleName },
          s.issuedAt,
        ),
        ...(s.sourceIdentity === undefined ? {} : { sourceIdentity: s.sourceIdentity }),
        ...(s.webIdentity === undefined
          ? {}
          : { webIdFederationData: { federatedProvider: s.webIdentity.provider } }),
      },
    }
  }
  const f = caller.federatedUser
  if (caller.type === 'FederatedUser' && f !== undefined) {
    return {
      ...base,
      sessionContext: sessionContextOf(
        caller.accountId,
        { type: 'IAMUser', principalId: f.userId, arn: f.userArn, userName: f.userName },
        f.issuedAt,
      ),
    }
  }
  return { ...base, ...(caller.userName === undefined ? {} : { userName: caller.userName }) }
}

function isReadOnly(service: QueryService, action: string): boolean {
  if (service.readOnlyActions !== undefined) return service.readOnlyActions.includes(action)
  return /^(Get|List|Describe|Decode|Simulate|Generate)/.test(action)
}

function xmlResponse(status: number, requestId: string, body: string): QueryHttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body,
  }
}

/** The service a request goes to: by its credential scope when signed, else by `Version` / `Action`. */
interface Route {
  /** The parsed signature (parsed here, once); undefined when unsigned or malformed. */
  signed: SignedRequest | undefined
  /** A malformed signature, thrown only if the action needs one. */
  signatureError: unknown
  scopeService: string | undefined
  service: QueryService | undefined
}

function route(
  services: QueryServiceTable,
  http: QueryHttpRequest,
  params: Record<string, string>,
): Route {
  let signed: SignedRequest | undefined
  let signatureError: unknown
  try {
    signed = readSignedRequest(http)
  } catch (err) {
    signatureError = err
  }
  const scopeService = signed?.signature?.service
  const action = params['Action']
  const service =
    (scopeService === undefined ? undefined : services.get(scopeService)) ??
    (action === undefined ? undefined : services.forUnsigned(action, params['Version']))
  return { signed, signatureError, scopeService, service }
}

function newRequest(
  ctx: AppContext,
  http: QueryHttpRequest,
  params: Record<string, string>,
  target: Route,
  requestId: string,
): QueryRequest {
  return {
    action: params['Action'] ?? '',
    version: params['Version'],
    params,
    caller: undefined,
    requestId,
    service: target.service?.signingName ?? target.scopeService ?? 'sts',
    facts: {
      sourceIp: http.sourceIp,
      secureTransport: http.secureTransport,
      // The scope's Region only once the authenticator validated it: never an unverified claim.
      region: ctx.settings.region,
      userAgent: header(http.headers, 'user-agent') ?? '',
    },
    audit: {},
  }
}

interface Outcome {
  result: { [name: string]: XmlValue } | undefined
  failure: AwsError | undefined
}

/** Authenticates (unless the action is unsigned) and runs the handler; every failure becomes an AwsError. */
async function run(
  ctx: AppContext,
  http: QueryHttpRequest,
  target: Route,
  request: QueryRequest,
): Promise<Outcome> {
  const { service } = target
  const action = request.action
  try {
    if (action === '') throw new AwsError('MissingAction', 'Missing Action', { status: 400 })
    const handler = service?.actions[action]
    if (service === undefined || handler === undefined)
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${action} for version ${request.version ?? service?.version ?? 'NO_VERSION_SPECIFIED'}`,
      )
    if (service.unsignedActions?.includes(action) !== true) {
      if (target.signatureError !== undefined) throw target.signatureError
      const authenticated = await authenticate(ctx, target.signed ?? readSignedRequest(http), {
        service: service.signingName,
        configuredRegion: ctx.settings.region,
        ...(service.globalService === true
          ? { regions: [GLOBAL_SIGNING_REGION, ctx.settings.region] }
          : {}),
      })
      request.caller = authenticated.caller
      request.facts.region = authenticated.region
    }
    return { result: await handler(request, ctx), failure: undefined }
  } catch (err) {
    if (err instanceof AwsError) return { result: undefined, failure: err }
    if (isStoreUnavailable(err)) {
      ctx.log.warn('aws.query.store_unavailable', { action, requestId: request.requestId })
      return { result: undefined, failure: serviceUnavailable() }
    }
    const errorId = randomUUID()
    ctx.log.error('aws.query.error', { errorId, action, requestId: request.requestId, error: err })
    return {
      result: undefined,
      failure: new AwsError(
        'InternalFailure',
        'The request processing has failed because of an unknown error, exception or failure.',
      ),
    }
  }
}

/** The CloudTrail event of one request: its caller, redacted parameters and response, or its error. */
function auditEventOf(
  service: QueryService,
  request: QueryRequest,
  outcome: Outcome,
  now: Date,
): AuditEvent {
  const { failure, result } = outcome
  const { audit, caller } = request
  // Optional fields are assigned, not spread: V8 defines every property after a spread in a literal
  // through a runtime call.
  const event: AuditEvent = {
    eventVersion: '1.08',
    eventTime: isoSeconds(now),
    eventSource: service.eventSource ?? `${service.signingName}.amazonaws.com`,
    eventName: request.action,
    awsRegion: request.facts.region,
    sourceIPAddress: request.facts.sourceIp,
    userAgent: request.facts.userAgent,
    userIdentity:
      (audit.userIdentity as AuditEvent['userIdentity'] | undefined) ??
      (caller !== undefined ? userIdentityOf(caller) : { type: 'Unknown' }),
    requestParameters: auditRequestParameters(request.params),
    responseElements:
      failure !== undefined
        ? null
        : audit.responseElements !== undefined
          ? audit.responseElements
          : result === undefined
            ? null
            : (auditResponseElements(result) as Record<string, unknown>),
    requestID: request.requestId,
    eventID: randomUUID(),
    readOnly: isReadOnly(service, request.action),
    eventType: 'AwsApiCall',
  }
  if (failure !== undefined) {
    event.errorCode = failure.code
    event.errorMessage = redactText(failure.message)
  }
  const recipientAccountId = audit.recipientAccountId ?? caller?.accountId
  if (recipientAccountId !== undefined) event.recipientAccountId = recipientAccountId
  if (audit.additionalEventData !== undefined) event.additionalEventData = audit.additionalEventData
  return event
}

/**
 * Handles one awsQuery request end to end: route (the signature parsed once), authenticate, run, audit,
 * render. Never throws: every failure becomes AWS's error XML (unexpected errors are logged with an id and
 * answered as `InternalFailure`, without details).
 */
export async function dispatchQuery(
  ctx: AppContext,
  services: QueryServiceTable,
  http: QueryHttpRequest,
): Promise<QueryHttpResponse> {
  const requestId = randomUUID()
  const now = ctx.now()
  const params = parseQueryParams(http.url, http.body)
  const target = route(services, http, params)
  const request = newRequest(ctx, http, params, target, requestId)
  const outcome = await run(ctx, http, target, request)

  if (target.service !== undefined && request.action !== '') {
    try {
      const event = auditEventOf(target.service, request, outcome, now)
      await (http.startedAt === undefined
        ? ctx.audit.record(event)
        : ctx.audit.record(event, { startedAt: http.startedAt }))
    } catch (err) {
      // Fail closed: no decision leaves without its audit record.
      ctx.log.error('audit.record_failed', { requestId, action: request.action, error: err })
      outcome.failure = serviceUnavailable()
      outcome.result = undefined
    }
  }

  const xmlns = target.service?.xmlns ?? STS_XMLNS
  const { failure } = outcome
  if (failure !== undefined)
    return xmlResponse(
      failure.status,
      requestId,
      renderErrorResponse(
        xmlns,
        { type: failure.type, code: failure.code, message: failure.message },
        requestId,
      ),
    )
  return xmlResponse(
    200,
    requestId,
    renderQueryResponse(request.action, xmlns, outcome.result, requestId),
  )
}
