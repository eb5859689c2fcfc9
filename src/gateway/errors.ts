/**
 * @module gateway/errors
 * The gateway's error answers in each service's own wire form:
 * S3's `<Error>` XML with RequestId/HostId (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html),
 * SQS JSON (`__type` + `message`, `x-amzn-query-error: <query code>;Sender`;
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html) and
 * SQS query XML (`<ErrorResponse>`).
 */

export interface ServiceErrorInput {
  code: string
  message: string
  status: number
  /** Extra S3 elements, in order (AWSAccessKeyId, StringToSign, …). */
  extra?: [string, string][]
}

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

export interface RenderedError {
  status: number
  headers: Record<string, string>
  body: string
}

export function s3ErrorResponse(
  error: ServiceErrorInput,
  requestId: string,
  hostId: string,
  head = false,
): RenderedError {
  const extra = (error.extra ?? []).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('')
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message>${extra}` +
    `<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`
  return {
    status: error.status,
    headers: {
      'content-type': 'application/xml',
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
    },
    // HEAD answers carry no body (S3 sends the status and headers only).
    body: head ? '' : body,
  }
}

/** JSON `__type` for each query-protocol code SQS answers with in its JSON protocol. */
const SQS_JSON_TYPE: Record<string, string> = {
  AccessDenied: 'com.amazon.coral.service#AccessDeniedException',
  InvalidClientTokenId: 'com.amazon.coral.service#UnrecognizedClientException',
  SignatureDoesNotMatch: 'com.amazon.coral.service#InvalidSignatureException',
  IncompleteSignature: 'com.amazon.coral.service#IncompleteSignatureException',
  MissingAuthenticationToken: 'com.amazon.coral.service#MissingAuthenticationTokenException',
  ExpiredToken: 'com.amazon.coral.service#ExpiredTokenException',
  InternalFailure: 'com.amazon.coral.service#InternalFailure',
  ServiceUnavailable: 'com.amazon.coral.service#ServiceUnavailableException',
  'AWS.SimpleQueueService.NonExistentQueue': 'com.amazonaws.sqs#QueueDoesNotExist',
  InvalidAddress: 'com.amazonaws.sqs#InvalidAddress',
  InvalidAttributeValue: 'com.amazonaws.sqs#InvalidAttributeValue',
  UnknownOperationException: 'com.amazon.coral.service#UnknownOperationException',
  SerializationException: 'com.amazon.coral.service#SerializationException',
  MissingParameter: 'com.amazonaws.sqs#MissingParameter',
  InvalidParameterValue: 'com.amazonaws.sqs#InvalidParameterValueException',
}

export function sqsErrorResponse(
  error: ServiceErrorInput,
  protocol: 'json' | 'query',
  requestId: string,
): RenderedError {
  if (protocol === 'json') {
    return {
      status: error.status,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        'x-amzn-query-error': `${error.code};${error.status >= 500 ? 'Receiver' : 'Sender'}`,
      },
      body: JSON.stringify({
        __type: SQS_JSON_TYPE[error.code] ?? `com.amazonaws.sqs#${error.code}`,
        message: error.message,
      }),
    }
  }
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error>` +
      `<Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${xmlEscape(error.code)}</Code>` +
      `<Message>${xmlEscape(error.message)}</Message><Detail/></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  }
}

/** The policy type that decided a denial, in AWS's words (used in the access-denied sentence). */
export function denialPolicy(
  result: {
    decision: string
    blockedBy: readonly string[]
    matched: readonly { policyType: string; effect: 'Allow' | 'Deny' }[]
  },
  hasSessionPolicies: boolean,
): string {
  const words: Record<string, string> = {
    resource: 'resource-based policy',
    boundary: 'permissions boundary',
    pb: 'permissions boundary',
    session: 'session policy',
    scp: 'service control policy',
    rcp: 'resource control policy',
  }
  if (result.decision === 'ExplicitlyDenied') {
    const deny = result.matched.find((m) => m.effect === 'Deny')
    return words[deny?.policyType ?? ''] ?? 'identity-based policy'
  }
  for (const b of ['scp', 'rcp', 'pb']) if (result.blockedBy.includes(b)) return words[b] as string
  const identityAllows = result.matched.some(
    (m) => m.effect === 'Allow' && ['identity', 'inline', 'managed'].includes(m.policyType),
  )
  const sessionAllows = result.matched.some(
    (m) => m.effect === 'Allow' && m.policyType === 'session',
  )
  if (hasSessionPolicies && identityAllows && !sessionAllows) return 'session policy'
  return 'identity-based policy'
}

/**
 * AWS's access-denied sentence (same-account requests; S3 and SQS include it since 2023:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
export function accessDeniedMessage(input: {
  principalArn: string
  action: string
  /** As the service prints it (S3 quotes the ARN). */
  resource: string
  explicit: boolean
  policy: string
}): string {
  const head = `User: ${input.principalArn} is not authorized to perform: ${input.action} on resource: ${input.resource}`
  const article = /^[aeiou]/.test(input.policy) ? 'an' : 'a'
  return input.explicit
    ? `${head} with an explicit deny in ${article} ${input.policy}`
    : `${head} because no ${input.policy} allows the ${input.action} action`
}
