/**
 * @module server/retryable
 * The "try again" answers the server gives outside a protocol module's own error path, each in the wire form
 * of the API the path belongs to, so every SDK maps it to its retry policy:
 *
 * - unavailable (the store is unreachable, the server is draining): AWS awsQuery `503 ServiceUnavailable`
 *   (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html), EKS / EKS Auth
 *   `503 ServiceUnavailableException` (restJson1, `x-amzn-ErrorType`), Entra `503 temporarily_unavailable`
 *   AADSTS90033 ("A transient error has occurred"), Google `503 UNAVAILABLE` (google.rpc status).
 * - throttled (the per-source rate limit): AWS awsQuery `400 Throttling` "Rate exceeded", EKS
 *   `429 ThrottlingException`, Entra `429` AADSTS90055 (too many requests), Google `429 RESOURCE_EXHAUSTED`.
 *
 * Every answer carries `Retry-After` (seconds).
 */
import { randomUUID } from 'node:crypto'

export type ApiFamily = 'aws-query' | 'aws-rest' | 'entra' | 'google' | 'plain'

/** Which API a path belongs to (the route table's layout: REST modules mount specific paths, awsQuery the rest). */
export function apiFamilyOf(path: string): ApiFamily {
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return 'plain'
  if (path.startsWith('/clusters/') || path === '/clusters') return 'aws-rest'
  if (
    path.startsWith('/v1/') ||
    path.startsWith('/google/') ||
    path === '/tokeninfo' ||
    path.startsWith('/podtrust/')
  )
    return path.startsWith('/podtrust/') ? 'plain' : 'google'
  if (/^\/[^/]+\/(oauth2\/v2\.0\/token|v2\.0\/\.well-known\/|discovery\/v2\.0\/keys)/.test(path))
    return 'entra'
  if (path.startsWith('/common/') || path.startsWith('/adfs/')) return 'entra'
  if (path.includes('/.well-known/') || path.endsWith('/jwks')) return 'plain'
  return 'aws-query'
}

function entraBody(code: number, error: string, text: string): Record<string, unknown> {
  const traceId = randomUUID()
  const correlationId = randomUUID()
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
  return {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  }
}

function awsQueryXml(code: string, message: string, requestId: string, type: string): string {
  return (
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${type}</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  )
}

/** The awsQuery 503: status, headers in the order they are sent, body. */
export function unavailableQueryAnswer(retryAfterSeconds = 1): {
  status: number
  headers: Record<string, string>
  body: string
} {
  const requestId = randomUUID()
  return {
    status: 503,
    headers: {
      'retry-after': String(retryAfterSeconds),
      'x-amzn-requestid': requestId,
      'content-type': 'text/xml',
    },
    body: awsQueryXml(
      'ServiceUnavailable',
      'The request has failed due to a temporary failure of the server.',
      requestId,
      'Receiver',
    ),
  }
}

/** The 503 answer for `path`: the store is unavailable or the server is shutting down. */
export function unavailableResponse(path: string, retryAfterSeconds = 1): Response {
  const requestId = randomUUID()
  const headers: Record<string, string> = {
    'retry-after': String(retryAfterSeconds),
    'x-amzn-requestid': requestId,
  }
  switch (apiFamilyOf(path)) {
    case 'aws-query': {
      const answer = unavailableQueryAnswer(retryAfterSeconds)
      return new Response(answer.body, { status: answer.status, headers: answer.headers })
    }
    case 'aws-rest':
      return Response.json(
        { message: 'The service is temporarily unavailable. Try again.' },
        {
          status: 503,
          headers: { ...headers, 'x-amzn-errortype': 'ServiceUnavailableException' },
        },
      )
    case 'entra':
      return Response.json(
        entraBody(
          90033,
          'temporarily_unavailable',
          'A transient error has occurred. Please try again.',
        ),
        { status: 503, headers },
      )
    case 'google':
      return Response.json(
        {
          error: {
            code: 503,
            message: 'The service is currently unavailable.',
            status: 'UNAVAILABLE',
          },
        },
        { status: 503, headers },
      )
    case 'plain':
      return Response.json(
        { error: 'ServiceUnavailable', message: 'try again' },
        { status: 503, headers },
      )
  }
}

/** The throttling answer for `path`: the per-source rate limit refused the request. */
export function throttledResponse(path: string, retryAfterSeconds: number): Response {
  const requestId = randomUUID()
  const headers: Record<string, string> = {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    'x-amzn-requestid': requestId,
  }
  switch (apiFamilyOf(path)) {
    case 'aws-query':
      return new Response(awsQueryXml('Throttling', 'Rate exceeded', requestId, 'Sender'), {
        status: 400,
        headers: { ...headers, 'content-type': 'text/xml' },
      })
    case 'aws-rest':
      return Response.json(
        { message: 'Rate exceeded' },
        { status: 429, headers: { ...headers, 'x-amzn-errortype': 'ThrottlingException' } },
      )
    case 'entra':
      return Response.json(
        entraBody(
          90055,
          'temporarily_unavailable',
          'There are too many incoming requests. Please try again later.',
        ),
        { status: 429, headers },
      )
    case 'google':
      return Response.json(
        { error: { code: 429, message: 'Rate exceeded.', status: 'RESOURCE_EXHAUSTED' } },
        { status: 429, headers },
      )
    case 'plain':
      return Response.json(
        { error: 'Throttling', message: 'Rate exceeded' },
        { status: 429, headers },
      )
  }
}
