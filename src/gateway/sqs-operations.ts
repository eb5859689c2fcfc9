/**
 * @module gateway/sqs-operations
 * Parses an SQS request in either protocol — JSON (`X-Amz-Target: AmazonSQS.<Op>`, what current SDKs send;
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-json.html)
 * or query (`Action=<Op>` form or query string) — and maps it to the IAM action and queue ARN
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html). Pure: no I/O.
 */

export type SqsProtocol = 'json' | 'query'

export interface SqsQueueRef {
  account: string
  name: string
}

export interface SqsOperation {
  protocol: SqsProtocol
  name: string
  action: string
  /** `arn:aws:sqs:REGION:ACCOUNT:NAME`, or `*` for ListQueues. */
  resource: string
  queue?: SqsQueueRef
  /** JSON: the parsed body; query: the parameters as a flat map. */
  params: Record<string, unknown>
  readOnly: boolean
  /** Condition keys from the request (aws:RequestTag/*, aws:TagKeys on CreateQueue / TagQueue). */
  requestTags: { key: string; value: string }[]
}

export class SqsMappingError extends Error {
  readonly code: string
  readonly status: number
  constructor(code: string, message: string, status = 400) {
    super(message)
    this.code = code
    this.status = status
  }
}

/** Operations whose IAM action differs from `sqs:<Operation>` (the batch variants). */
const ACTION_OF: Record<string, string> = {
  SendMessageBatch: 'sqs:SendMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
}

const SUPPORTED = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'GetQueueUrl',
  'ListQueues',
  'CreateQueue',
  'DeleteQueue',
  'PurgeQueue',
  'ListQueueTags',
  'TagQueue',
  'UntagQueue',
  'ListDeadLetterSourceQueues',
])

const READ_ONLY = new Set([
  'ReceiveMessage',
  'GetQueueAttributes',
  'GetQueueUrl',
  'ListQueues',
  'ListQueueTags',
  'ListDeadLetterSourceQueues',
])

/** `https://host/ACCOUNT/NAME` (or a bare `/ACCOUNT/NAME` path) → the queue. */
export function queueFromUrl(url: string): SqsQueueRef | undefined {
  const path = url.replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/[?#].*$/, '')
  const m = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/.exec(path)
  return m === null ? undefined : { account: m[1] as string, name: m[2] as string }
}

export function queueArn(region: string, queue: SqsQueueRef): string {
  return `arn:aws:sqs:${region}:${queue.account}:${queue.name}`
}

/** Query-protocol flattened maps: `Attribute.1.Name=Policy&Attribute.1.Value=…` → { Policy: … }. */
export function queryMap(params: Record<string, unknown>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 1; i <= 100; i++) {
    const name = params[`${prefix}.${i}.Name`] ?? params[`${prefix}.${i}.Key`]
    if (typeof name !== 'string') break
    out[name] = String(params[`${prefix}.${i}.Value`] ?? '')
  }
  return out
}

export interface SqsRequestInput {
  /** `X-Amz-Target` header, when sent. */
  target: string | undefined
  /** The request path (query protocol may address the queue URL directly). */
  path: string
  /** JSON text, or the form body / query string of the query protocol. */
  body: string
  /** Query string (query protocol GET). */
  query: string
  region: string
  /** The account a queue belongs to when the request names only a queue name (CreateQueue, GetQueueUrl). */
  defaultAccount: string
}

export function parseSqsRequest(input: SqsRequestInput): SqsOperation {
  let protocol: SqsProtocol
  let name: string
  let params: Record<string, unknown>
  if (input.target !== undefined) {
    protocol = 'json'
    const m = /^AmazonSQS\.(\w+)$/.exec(input.target)
    if (m === null)
      throw new SqsMappingError(
        'UnknownOperationException',
        `Unknown operation ${input.target.slice(0, 100)}`,
      )
    name = m[1] as string
    try {
      const parsed: unknown = input.body.trim() === '' ? {} : JSON.parse(input.body)
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object')
      params = parsed as Record<string, unknown>
    } catch {
      throw new SqsMappingError(
        'SerializationException',
        'Start of structure or map found where not expected.',
      )
    }
  } else {
    protocol = 'query'
    params = {}
    for (const source of [input.query, input.body])
      for (const [k, v] of new URLSearchParams(source)) if (!(k in params)) params[k] = v
    const action = params['Action']
    if (typeof action !== 'string' || action === '')
      throw new SqsMappingError('MissingAction', 'Missing Action')
    name = action
  }
  if (!SUPPORTED.has(name))
    throw new SqsMappingError(
      protocol === 'json' ? 'UnknownOperationException' : 'InvalidAction',
      `The action ${name.slice(0, 100)} is not valid for this endpoint.`,
    )
  const action = ACTION_OF[name] ?? `sqs:${name}`
  const requestTags: { key: string; value: string }[] = []
  const tagSource =
    protocol === 'json'
      ? (params['tags'] ?? params['Tags'])
      : queryMap(params, name === 'CreateQueue' ? 'Tag' : 'Tag')
  if (
    (name === 'CreateQueue' || name === 'TagQueue') &&
    tagSource !== null &&
    typeof tagSource === 'object'
  )
    for (const [key, value] of Object.entries(tagSource as Record<string, unknown>))
      requestTags.push({ key, value: String(value) })

  if (name === 'ListQueues')
    return { protocol, name, action, resource: '*', params, readOnly: true, requestTags }
  let queue: SqsQueueRef | undefined
  if (name === 'CreateQueue' || name === 'GetQueueUrl') {
    const queueName = params['QueueName']
    if (typeof queueName !== 'string' || !/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(queueName))
      throw new SqsMappingError(
        protocol === 'json' ? 'InvalidParameterValue' : 'InvalidParameterValue',
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      )
    const owner = params['QueueOwnerAWSAccountId']
    queue = {
      account: typeof owner === 'string' && /^\d{12}$/.test(owner) ? owner : input.defaultAccount,
      name: queueName,
    }
  } else {
    const url = params['QueueUrl']
    queue =
      typeof url === 'string' && url !== ''
        ? queueFromUrl(url)
        : protocol === 'query'
          ? queueFromUrl(input.path)
          : undefined
    if (queue === undefined)
      throw new SqsMappingError(
        typeof url === 'string' ? 'InvalidAddress' : 'MissingParameter',
        typeof url === 'string'
          ? 'The address is not valid for this endpoint.'
          : 'The request must contain the parameter QueueUrl.',
        400,
      )
  }
  return {
    protocol,
    name,
    action,
    resource: queueArn(input.region, queue),
    queue,
    params,
    readOnly: READ_ONLY.has(name),
    requestTags,
  }
}
