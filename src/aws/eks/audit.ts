/**
 * @module aws/eks/audit
 * CloudTrail events for the EKS management API (ListClusters, DescribeCluster and the five pod identity
 * association operations), recorded through the server's audit sink like STS, IAM and EKS Auth.
 *
 * The routes (src/aws/eks/routes.ts) stay unaware of auditing: `eksAuditMiddleware` runs around them and
 * `auditedAuthenticate` wraps their SigV4 dependency, sharing one per-request record through
 * AsyncLocalStorage. The event is durable before the response leaves; when it cannot be recorded the
 * client gets EKS's generic `ServerException` instead (no decision leaves without its audit record).
 *
 * @example
 * app.use('/clusters/*', eksAuditMiddleware(deps))
 * mountEksRoutes(app, { ...http, authenticate: auditedAuthenticate(http.authenticate) })
 */
import { createAsyncScope } from '../../store/async-scope.ts'
import type { Context, MiddlewareHandler } from 'hono'
import type { AuditEvent } from '../../audit/types.ts'
import type { Caller } from '../../identity/types.ts'
import { requestFacts } from '../request-facts.ts'
import { userIdentityOf } from '../query/dispatch.ts'
import { isoSeconds } from '../xml.ts'
import { uuidV4 } from './ids.ts'
import { isStoreUnavailable } from '../../store/errors.ts'
import { errorResponse } from './rest.ts'
import type { HttpRequestForAuth } from './routes.ts'

export const EKS_EVENT_SOURCE = 'eks.amazonaws.com'

/** One operation of the route table: method, path (labels captured in order) and request members. */
interface Operation {
  method: string
  path: RegExp
  action: string
  /** Model member names of the path labels, in order (DescribeCluster's label is `name`). */
  labels: readonly string[]
  /** Query-string members recorded. */
  query: readonly string[]
  /** JSON body members recorded (none carries a secret; unknown members are left out). */
  body: readonly string[]
  readOnly: boolean
}

const ASSOCIATION_MEMBERS = [
  'namespace',
  'serviceAccount',
  'roleArn',
  'targetRoleArn',
  'disableSessionTags',
  'policy',
  'tags',
  'clientRequestToken',
] as const
const CLUSTER = '/clusters/([^/]+)'
const ASSOCIATIONS = `${CLUSTER}/pod-identity-associations`

/** The routes of src/aws/eks/routes.ts, in CloudTrail's vocabulary (members as in the eks model). */
const OPERATIONS: readonly Operation[] = [
  {
    method: 'GET',
    path: /^\/clusters$/,
    action: 'ListClusters',
    labels: [],
    query: ['maxResults', 'nextToken'],
    body: [],
    readOnly: true,
  },
  {
    method: 'GET',
    path: new RegExp(`^${CLUSTER}$`),
    action: 'DescribeCluster',
    labels: ['name'],
    query: [],
    body: [],
    readOnly: true,
  },
  {
    method: 'POST',
    path: new RegExp(`^${ASSOCIATIONS}$`),
    action: 'CreatePodIdentityAssociation',
    labels: ['clusterName'],
    query: [],
    body: ASSOCIATION_MEMBERS,
    readOnly: false,
  },
  {
    method: 'GET',
    path: new RegExp(`^${ASSOCIATIONS}$`),
    action: 'ListPodIdentityAssociations',
    labels: ['clusterName'],
    query: ['namespace', 'serviceAccount', 'maxResults', 'nextToken'],
    body: [],
    readOnly: true,
  },
  {
    method: 'GET',
    path: new RegExp(`^${ASSOCIATIONS}/([^/]+)$`),
    action: 'DescribePodIdentityAssociation',
    labels: ['clusterName', 'associationId'],
    query: [],
    body: [],
    readOnly: true,
  },
  {
    method: 'POST',
    path: new RegExp(`^${ASSOCIATIONS}/([^/]+)$`),
    action: 'UpdatePodIdentityAssociation',
    labels: ['clusterName', 'associationId'],
    query: [],
    body: ASSOCIATION_MEMBERS,
    readOnly: false,
  },
  {
    method: 'DELETE',
    path: new RegExp(`^${ASSOCIATIONS}/([^/]+)$`),
    action: 'DeletePodIdentityAssociation',
    labels: ['clusterName', 'associationId'],
    query: [],
    body: [],
    readOnly: false,
  },
]

/** What the wrapped authenticator learns during one request. */
interface RequestRecord {
  caller?: Caller
  body?: string
}

// On only while an EKS request is in flight (store/async-scope.ts).
const current = createAsyncScope<RequestRecord>()

/** The routes' SigV4 dependency, noting the caller (and the body it saw) for the request's event. */
export function auditedAuthenticate<R extends { caller: Caller }>(
  authenticate: (request: HttpRequestForAuth) => Promise<R>,
): (request: HttpRequestForAuth) => Promise<R> {
  return async (request) => {
    const record = current.getStore()
    if (record !== undefined) record.body = request.body
    const authenticated = await authenticate(request)
    if (record !== undefined) record.caller = authenticated.caller
    return authenticated
  }
}

export interface EksAuditDeps {
  now: () => Date
  randomBytes: (size: number) => Uint8Array
  /** The server's region (`awsRegion`). */
  region: string
  /** The durable sink (ctx.audit.record). */
  record(event: AuditEvent): Promise<void>
  log?: (event: string, fields: Record<string, unknown>) => void
}

/** Longest string kept in requestParameters / responseElements; an association's policy is ≤ 2048. */
const MAX_STRING = 2048
const MAX_ENTRIES = 50

/** A bounded copy of a JSON value: strings cut at MAX_STRING, at most MAX_ENTRIES keys or items, depth 4. */
function bounded(value: unknown, depth = 0): unknown {
  if (typeof value === 'string')
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value
  if (value === null || typeof value !== 'object') return value
  if (depth >= 4) return '…'
  if (Array.isArray(value)) return value.slice(0, MAX_ENTRIES).map((v) => bounded(v, depth + 1))
  return Object.fromEntries(
    Object.entries(value)
      .slice(0, MAX_ENTRIES)
      .map(([k, v]) => [k, bounded(v, depth + 1)]),
  )
}

function decodeLabel(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

function requestParameters(
  op: Operation,
  labels: readonly string[],
  url: URL,
  bodyText: string | undefined,
): Record<string, unknown> | null {
  const out: Record<string, unknown> = {}
  op.labels.forEach((member, i) => {
    out[member] = bounded(decodeLabel(labels[i] ?? ''))
  })
  for (const member of op.query) {
    const v = url.searchParams.get(member)
    if (v !== null) out[member] = bounded(v)
  }
  if (op.body.length > 0 && bodyText !== undefined && bodyText.trim() !== '') {
    let body: unknown
    try {
      body = JSON.parse(bodyText)
    } catch {
      body = undefined
    }
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const o = body as Record<string, unknown>
      for (const member of op.body) if (o[member] !== undefined) out[member] = bounded(o[member])
    }
  }
  return Object.keys(out).length === 0 ? null : out
}

async function jsonOf(res: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = await res.clone().json()
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Hono middleware for `/clusters/*`: after an EKS operation answers, records its CloudTrail event
 * (eventSource `eks.amazonaws.com`, eventName = the operation, the caller, source IP, user agent,
 * requestParameters from the path, query and known body members, errorCode/errorMessage on failure,
 * responseElements for the three mutating operations). Paths that are no EKS operation pass through.
 */
export function eksAuditMiddleware(deps: EksAuditDeps): MiddlewareHandler {
  return async (c: Context, next) => {
    const url = new URL(c.req.url)
    let op: Operation | undefined
    let labels: string[] = []
    for (const candidate of OPERATIONS) {
      if (candidate.method !== c.req.method) continue
      const m = candidate.path.exec(url.pathname)
      if (m !== null) {
        op = candidate
        labels = m.slice(1)
        break
      }
    }
    if (op === undefined || current.getStore() !== undefined) return next()
    const started = deps.now()
    const record: RequestRecord = {}
    await current.run(record, next)

    const res = c.res
    const requestId = res.headers.get('x-amzn-RequestId') ?? uuidV4(deps.randomBytes)
    const failed = res.status >= 400
    const body = await jsonOf(res)
    const { sourceIp } = requestFacts(c, deps.region)
    const event: AuditEvent = {
      eventVersion: '1.08',
      eventTime: isoSeconds(started),
      eventSource: EKS_EVENT_SOURCE,
      eventName: op.action,
      awsRegion: deps.region,
      sourceIPAddress: sourceIp,
      userAgent: c.req.header('user-agent') ?? '',
      userIdentity:
        record.caller === undefined ? { type: 'Unknown' } : userIdentityOf(record.caller),
      requestParameters: requestParameters(op, labels, url, record.body),
      responseElements:
        failed || op.readOnly || body === undefined
          ? null
          : (bounded(body) as Record<string, unknown>),
      ...(failed
        ? {
            errorCode: res.headers.get('x-amzn-ErrorType') ?? 'ServerException',
            errorMessage: bounded(
              typeof body?.['message'] === 'string' ? body['message'] : '',
            ) as string,
          }
        : {}),
      requestID: requestId,
      eventID: uuidV4(deps.randomBytes),
      readOnly: op.readOnly,
      eventType: 'AwsApiCall',
      ...(record.caller === undefined ? {} : { recipientAccountId: record.caller.accountId }),
    }
    try {
      await deps.record(event)
    } catch (err) {
      deps.log?.('audit.record_failed', { requestId, action: op.action, error: err })
      c.res = undefined
      // The store unreachable: EKS's retryable 503; any other audit failure: the generic 500.
      c.res = errorResponse(
        c,
        requestId,
        isStoreUnavailable(err)
          ? {
              code: 'ServiceUnavailableException',
              status: 503,
              message: 'The service is temporarily unavailable. Try again.',
            }
          : { code: 'ServerException', status: 500, message: 'An internal error occurred' },
      )
    }
  }
}
