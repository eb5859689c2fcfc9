/**
 * @module gateway/sqs
 * The SQS side of the gateway, JSON and query protocols: authenticates (SigV4 over the whole body; SQS
 * bodies are at most 1 MiB, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html),
 * decides with the engine (identity, session, boundary and the stored queue policy), keeps queue policies
 * (`Policy` attribute of CreateQueue / SetQueueAttributes / GetQueueAttributes) in podtrust, and forwards
 * the call re-signed, mapping queue URLs between the gateway's account and the backend's.
 */
import { randomUUID } from 'node:crypto'
import { AwsError } from '../aws/errors.ts'
import { authenticate } from '../aws/sigv4/authenticate.ts'
import { sha256Hex } from '../aws/sigv4/sigv4.ts'
import { dataEvent } from './audit.ts'
import { signBackendRequest, type BackendResponse } from './backend.ts'
import {
  accessDeniedMessage,
  denialPolicy,
  sqsErrorResponse,
  xmlEscape,
  type ServiceErrorInput,
} from './errors.ts'
import {
  BodyTooLargeError,
  readBounded,
  relayResponse,
  responseHeaders,
  sendRendered,
  type Exchange,
  type GatewayDeps,
} from './exchange.ts'
import { userIdentityOf, type Caller } from './identity.ts'
import {
  parseSqsRequest,
  queryMap,
  SqsMappingError,
  type SqsOperation,
  type SqsProtocol,
} from './sqs-operations.ts'

const MAX_SQS_BODY = 2 * 1024 * 1024
const MAX_REWRITTEN_RESPONSE = 16 * 1024 * 1024

class SqsFailure extends Error {
  readonly error: ServiceErrorInput
  constructor(code: string, message: string, status: number) {
    super(message)
    this.error = { code, message, status }
  }
}

/** Whether a request is SQS's: its JSON target, or a SigV4 scope naming `sqs` (query protocol). */
export function isSqsRequest(ex: Exchange): boolean {
  if (ex.header.get('x-amz-target')?.startsWith('AmazonSQS.') === true) return true
  const auth = ex.header.get('authorization')
  if (auth !== undefined) return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/sqs\/aws4_request/.test(auth)
  return /X-Amz-Credential=[^&]*%2Fsqs%2Faws4_request/i.test(ex.query)
}

/** SQS bodies are small and in memory: the one SigV4 authenticator checks them (scope `sqs`, this Region). */
async function authenticateSqs(d: GatewayDeps, ex: Exchange, body: Buffer): Promise<Caller> {
  try {
    const { caller } = await authenticate(
      d.ctx,
      { method: ex.method, url: ex.req.url ?? '/', headers: ex.headers, body },
      { service: 'sqs', regions: [d.region], configuredRegion: d.region },
    )
    return caller
  } catch (err) {
    if (err instanceof AwsError) throw new SqsFailure(err.code, err.message, err.status)
    throw err
  }
}

function origin(ex: Exchange): string {
  return `${ex.secure ? 'https' : 'http'}://${ex.host}`
}

/** Gateway queue URL → the backend's (origin and account mapped), keeping the queue name. */
function toBackendUrl(d: GatewayDeps, url: string): string {
  const m = /^[a-z]+:\/\/[^/]+(\/.*)?$/i.exec(url)
  const path = m?.[1] ?? url
  const mapped = path.replace(/^\/(\d{12})\//, (_all, account: string) =>
    account === d.resourceAccount ? `/${d.backendAccount}/` : `/${account}/`,
  )
  return `${d.sqs.target.url.origin}${d.sqs.basePath}${mapped}`
}

/** Backend queue URLs in a response → the gateway's. */
function rewriteResponse(d: GatewayDeps, ex: Exchange, text: string): string {
  const gateway = `${origin(ex)}/${d.resourceAccount}/`
  const backendOrigins = new Set([
    `${d.sqs.target.url.origin}${d.sqs.basePath}`,
    `http://${d.sqs.host}${d.sqs.basePath}`,
    `https://${d.sqs.host}${d.sqs.basePath}`,
  ])
  let out = text
  for (const o of backendOrigins) out = out.split(`${o}/${d.backendAccount}/`).join(gateway)
  return out
}

function auditSqs(
  d: GatewayDeps,
  ex: Exchange,
  op: SqsOperation | undefined,
  caller: Caller | undefined,
  outcome: { errorCode?: string; errorMessage?: string; detail?: Record<string, unknown> },
): Promise<void> {
  const p = op?.params ?? {}
  const entries = p['Entries']
  const event = dataEvent({
    now: d.ctx.now(),
    eventSource: 'sqs.amazonaws.com',
    eventName: op?.name ?? 'Unknown',
    region: d.region,
    sourceIp: ex.sourceIp,
    userAgent: ex.userAgent,
    userIdentity: caller === undefined ? { type: 'Unknown' } : userIdentityOf(caller),
    requestParameters: {
      queueUrl: p['QueueUrl'],
      queueName: p['QueueName'],
      maxNumberOfMessages: p['MaxNumberOfMessages'],
      entries: Array.isArray(entries) ? entries.length : undefined,
    },
    resources:
      op?.queue === undefined
        ? []
        : [{ type: 'AWS::SQS::Queue', ARN: op.resource, accountId: op.queue.account }],
    requestId: ex.requestId,
    eventId: randomUUID(),
    readOnly: op?.readOnly ?? true,
    recipientAccountId: op?.queue?.account ?? d.resourceAccount,
    ...(outcome.errorCode === undefined ? {} : { errorCode: outcome.errorCode }),
    ...(outcome.errorMessage === undefined ? {} : { errorMessage: outcome.errorMessage }),
    ...(outcome.detail === undefined
      ? {}
      : { additionalEventData: { policyDecision: outcome.detail } }),
  })
  // Denials are durable before the error goes out; allowed calls join the next batch.
  if (outcome.errorCode !== undefined) return d.ctx.audit.record(event)
  d.events.add(event)
  return Promise.resolve()
}

function success(ex: Exchange, protocol: SqsProtocol, action: string, json: object): void {
  const body =
    protocol === 'json'
      ? JSON.stringify(json)
      : `<?xml version="1.0"?><${action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ResponseMetadata><RequestId>${ex.requestId}</RequestId></ResponseMetadata></${action}Response>`
  ex.res.writeHead(200, {
    'content-type': protocol === 'json' ? 'application/x-amz-json-1.0' : 'text/xml',
    'x-amzn-requestid': ex.requestId,
    'content-length': String(Buffer.byteLength(body)),
  })
  ex.res.end(body)
}

/** Pulls `Policy` out of a request's attributes (it is podtrust's to keep); returns it and the rest. */
function takePolicy(op: SqsOperation): { policy: string | undefined; remaining: number } {
  if (op.protocol === 'json') {
    const attrs = op.params['Attributes']
    if (attrs === null || typeof attrs !== 'object') return { policy: undefined, remaining: 0 }
    const record = attrs as Record<string, unknown>
    const policy = typeof record['Policy'] === 'string' ? (record['Policy'] as string) : undefined
    delete record['Policy']
    return { policy, remaining: Object.keys(record).length }
  }
  const attrs = queryMap(op.params, 'Attribute')
  const policy = attrs['Policy']
  if (policy === undefined) return { policy: undefined, remaining: Object.keys(attrs).length }
  // Rebuild the flattened attribute list without Policy.
  for (const k of Object.keys(op.params)) if (k.startsWith('Attribute.')) delete op.params[k]
  let i = 1
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'Policy') continue
    op.params[`Attribute.${i}.Name`] = name
    op.params[`Attribute.${i}.Value`] = value
    i++
  }
  return { policy, remaining: i - 1 }
}

function validatePolicy(d: GatewayDeps, op: SqsOperation, text: string): void {
  if (text.trim() === '') return
  try {
    d.authz.compileResourcePolicy(text, op.resource)
  } catch (err) {
    throw new SqsFailure(
      'InvalidAttributeValue',
      `Invalid value for the parameter Policy. Reason: ${err instanceof Error ? err.message : 'invalid policy'}`,
      400,
    )
  }
}

export async function handleSqs(d: GatewayDeps, ex: Exchange): Promise<void> {
  const protocol: SqsProtocol = ex.header.has('x-amz-target') ? 'json' : 'query'
  let op: SqsOperation | undefined
  let caller: Caller | undefined
  const answer = async (failure: SqsFailure, detail?: Record<string, unknown>) => {
    await auditSqs(d, ex, op, caller, {
      errorCode: failure.error.code,
      errorMessage: failure.error.message,
      ...(detail === undefined ? {} : { detail }),
    }).catch((err: unknown) => d.ctx.log.error('gateway.audit_failed', { error: String(err) }))
    sendRendered(ex, sqsErrorResponse(failure.error, protocol, ex.requestId))
  }
  try {
    let body: Buffer
    try {
      body = await readBounded(ex.req, MAX_SQS_BODY)
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        throw new SqsFailure('RequestEntityTooLarge', 'Request body is too large.', 413)
      throw err
    }
    caller = await authenticateSqs(d, ex, body)
    try {
      op = parseSqsRequest({
        target: ex.header.get('x-amz-target'),
        path: ex.path,
        body: body.toString('utf8'),
        query: ex.query,
        region: d.region,
        defaultAccount: d.resourceAccount,
      })
    } catch (err) {
      if (err instanceof SqsMappingError) throw new SqsFailure(err.code, err.message, err.status)
      throw err
    }
    const resourceAccount = op.queue?.account ?? caller.accountId
    const policyDoc = op.queue === undefined ? undefined : await d.policies.get('sqs', op.resource)
    const resourcePolicy =
      policyDoc === undefined ? undefined : d.authz.compileResourcePolicy(policyDoc, op.resource)
    const policies = await d.authz.policiesOf(caller)
    const { result, context } = await d.authz.check(
      caller,
      {
        action: op.action,
        resource: op.resource,
        resourceAccount,
        resourcePolicy,
        context: {
          sourceIp: ex.sourceIp,
          secureTransport: ex.secure,
          region: d.region,
          userAgent: ex.userAgent,
          ...(op.requestTags.length > 0 ? { requestTags: op.requestTags } : {}),
        },
      },
      policies,
    )
    if (result.decision !== 'Allowed') {
      const action = op.action.toLowerCase()
      const message =
        caller.accountId === resourceAccount
          ? accessDeniedMessage({
              principalArn: caller.arn,
              action,
              resource: op.resource,
              explicit: result.decision === 'ExplicitlyDenied',
              policy: denialPolicy(result, policies.sessionPolicies !== undefined),
            })
          : 'Access to the resource https://sqs.' + d.region + '.amazonaws.com/ is denied.'
      await answer(
        new SqsFailure('AccessDenied', message, 403),
        d.authz.explain(caller, result, op.action, op.resource, context) as unknown as Record<
          string,
          unknown
        >,
      )
      return
    }
    void auditSqs(d, ex, op, caller, {}).catch((err: unknown) =>
      d.ctx.log.error('gateway.audit_failed', { error: String(err) }),
    )
    await forwardSqs(d, ex, op)
  } catch (err) {
    if (err instanceof SqsFailure) return answer(err)
    d.ctx.log.error('gateway.sqs_failed', {
      error: err instanceof Error ? err.message : String(err),
    })
    return answer(
      new SqsFailure(
        'InternalFailure',
        'The request processing has failed because of an unknown error, exception or failure.',
        500,
      ),
    )
  }
}

async function forwardSqs(d: GatewayDeps, ex: Exchange, op: SqsOperation): Promise<void> {
  let storePolicy: string | undefined
  if (op.name === 'SetQueueAttributes' || op.name === 'CreateQueue') {
    const { policy, remaining } = takePolicy(op)
    if (policy !== undefined) {
      validatePolicy(d, op, policy)
      storePolicy = policy
      if (op.name === 'SetQueueAttributes' && remaining === 0) {
        // Only the policy changes: nothing for the backend to do (the queue must still exist).
        const check = await send(d, ex, { ...op, name: 'GetQueueAttributes' }, true, {
          AttributeNames: ['QueueArn'],
        })
        if (check.status !== 200) return passBack(ex, check)
        await savePolicy(d, op, policy)
        return success(ex, op.protocol, 'SetQueueAttributes', {})
      }
    }
  }
  const rewrite = [
    'CreateQueue',
    'GetQueueUrl',
    'ListQueues',
    'GetQueueAttributes',
    'ListDeadLetterSourceQueues',
  ].includes(op.name)
  const response = await send(d, ex, op, rewrite)
  if (response.status === 200) {
    if (storePolicy !== undefined) await savePolicy(d, op, storePolicy)
    if (op.name === 'DeleteQueue') await d.policies.delete('sqs', op.resource)
  }
  if (response.buffered === undefined) return
  let text = rewriteResponse(d, ex, response.buffered.toString('utf8'))
  if (op.name === 'GetQueueAttributes' && response.status === 200)
    text = await mergePolicyAttribute(d, op, text)
  passBack(ex, { ...response, buffered: Buffer.from(text, 'utf8') })
}

async function savePolicy(d: GatewayDeps, op: SqsOperation, policy: string): Promise<void> {
  if (policy.trim() === '') await d.policies.delete('sqs', op.resource)
  else await d.policies.put('sqs', op.resource, policy, d.ctx.now())
}

/** GetQueueAttributes: the stored policy answers for `Policy` (and `All`). */
async function mergePolicyAttribute(
  d: GatewayDeps,
  op: SqsOperation,
  text: string,
): Promise<string> {
  const names =
    op.protocol === 'json'
      ? ((op.params['AttributeNames'] as unknown[] | undefined) ?? [])
      : Object.entries(op.params)
          .filter(([k]) => k.startsWith('AttributeName'))
          .map(([, v]) => v)
  if (!names.includes('Policy') && !names.includes('All')) return text
  const policy = await d.policies.get('sqs', op.resource)
  if (policy === undefined) return text
  if (op.protocol === 'json') {
    try {
      const parsed = JSON.parse(text) as { Attributes?: Record<string, string> }
      parsed.Attributes = { ...(parsed.Attributes ?? {}), Policy: policy }
      return JSON.stringify(parsed)
    } catch {
      return text
    }
  }
  const attribute = `<Attribute><Name>Policy</Name><Value>${xmlEscape(policy)}</Value></Attribute>`
  return text.includes('</GetQueueAttributesResult>')
    ? text.replace('</GetQueueAttributesResult>', `${attribute}</GetQueueAttributesResult>`)
    : text.replace(
        '<GetQueueAttributesResult/>',
        `<GetQueueAttributesResult>${attribute}</GetQueueAttributesResult>`,
      )
}

interface BackendAnswer {
  status: number
  rawHeaders: string[]
  buffered?: Buffer
}

function passBack(ex: Exchange, answer: BackendAnswer): void {
  // The body may have been rewritten: drop the backend's content-length and set ours.
  const pairs: string[] = []
  const raw = responseHeaders(answer.rawHeaders)
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() !== 'content-length')
      pairs.push(raw[i] as string, raw[i + 1] as string)
  const body = answer.buffered ?? Buffer.alloc(0)
  pairs.push('content-length', String(body.length))
  ex.res.writeHead(answer.status, pairs)
  ex.res.end(body)
}

/** Sends the (possibly amended) call to the backend; streams the answer unless `buffer`. */
async function send(
  d: GatewayDeps,
  ex: Exchange,
  op: SqsOperation,
  buffer: boolean,
  overrideParams?: Record<string, unknown>,
): Promise<BackendAnswer> {
  const params: Record<string, unknown> = { ...op.params, ...(overrideParams ?? {}) }
  if (typeof params['QueueUrl'] === 'string')
    params['QueueUrl'] = toBackendUrl(d, params['QueueUrl'])
  let body: string
  let path = `${d.sqs.basePath}/`
  const headers: [string, string][] = []
  if (op.protocol === 'json') {
    body = JSON.stringify(params)
    headers.push(
      ['content-type', 'application/x-amz-json-1.0'],
      ['x-amz-target', `AmazonSQS.${op.name}`],
    )
    const queryMode = ex.header.get('x-amzn-query-mode')
    if (queryMode !== undefined) headers.push(['x-amzn-query-mode', queryMode])
  } else {
    const form = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) form.append(k, String(v))
    if (overrideParams !== undefined) {
      form.set('Action', op.name)
      form.set('AttributeName.1', 'QueueArn')
    }
    if (typeof params['QueueUrl'] !== 'string' && op.queue !== undefined && ex.path !== '/')
      path = `${d.sqs.basePath}${new URL(toBackendUrl(d, ex.path)).pathname.slice(d.sqs.basePath.length)}`
    body = form.toString()
    headers.push(['content-type', 'application/x-www-form-urlencoded; charset=utf-8'])
  }
  const payload = Buffer.from(body, 'utf8')
  headers.push(['content-length', String(payload.length)])
  const signed = signBackendRequest({
    method: 'POST',
    path,
    query: '',
    headers,
    host: d.sqs.host,
    payloadHash: sha256Hex(payload),
    service: 'sqs',
    target: d.sqs.target,
    now: d.ctx.now(),
  })
  let res: BackendResponse
  try {
    res = await d.sqs.send({ method: 'POST', path, query: '', headers: signed, body: payload })
  } catch {
    throw new SqsFailure(
      'ServiceUnavailable',
      'The request has failed due to a temporary failure of the server.',
      503,
    )
  }
  if (!buffer && overrideParams === undefined) {
    relayResponse(ex, res)
    await new Promise<void>((resolve) => {
      res.body.once('end', resolve)
      res.body.once('close', resolve)
    })
    return { status: res.statusCode, rawHeaders: res.rawHeaders }
  }
  return {
    status: res.statusCode,
    rawHeaders: res.rawHeaders,
    buffered: await readBounded(res.body, MAX_REWRITTEN_RESPONSE),
  }
}
