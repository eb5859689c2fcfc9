/**
 * @module aws/errors
 * Errors of the awsQuery services (STS, IAM), with AWS's code, HTTP status and Sender/Receiver type. Thrown by
 * query handlers and rendered by the dispatcher as AWS's `<ErrorResponse>`; the message goes to the client
 * verbatim, so it must never carry a token, a secret or a session token.
 */
import { PodtrustError } from '../errors.ts'

/** Codes with a fixed status; a handler may throw any other AWS code by passing `status` explicitly. */
export const awsErrorStatus = {
  // STS (modelled)
  InvalidIdentityToken: 400,
  ExpiredTokenException: 400,
  IDPRejectedClaim: 403,
  IDPCommunicationError: 400,
  MalformedPolicyDocument: 400,
  PackedPolicyTooLarge: 400,
  RegionDisabledException: 403,
  InvalidAuthorizationMessageException: 400,
  // common query errors
  AccessDenied: 403,
  ValidationError: 400,
  InvalidParameterValue: 400,
  InvalidParameterCombination: 400,
  MissingParameter: 400,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  ExpiredToken: 403,
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  InvalidAction: 400,
  Throttling: 400,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  // IAM
  NoSuchEntity: 404,
  EntityAlreadyExists: 409,
  LimitExceeded: 409,
  DeleteConflict: 409,
  InvalidInput: 400,
  UnmodifiableEntity: 400,
  ConcurrentModification: 409,
  ServiceFailure: 500,
  OpenIdIdpCommunicationError: 400,
} as const

export type KnownAwsErrorCode = keyof typeof awsErrorStatus

/** One AWS error response. `code` is AWS's error code exactly (what SDKs map to exception classes). */
export class AwsError extends PodtrustError<string> {
  readonly status: number
  readonly type: 'Sender' | 'Receiver'

  constructor(
    code: KnownAwsErrorCode | (string & {}),
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.status = options.status ?? (awsErrorStatus as Record<string, number>)[code] ?? 400
    this.type = this.status >= 500 ? 'Receiver' : 'Sender'
  }
}

/** `1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: Member must …` */
export function validationError(problems: string[]): AwsError {
  const n = problems.length
  return new AwsError(
    'ValidationError',
    `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  )
}

/** One problem for `validationError`: `Value '<v>' at '<member>' failed to satisfy constraint: Member must <rule>`. */
export function constraintProblem(value: string | null, member: string, rule: string): string {
  const shown = value === null ? 'null' : `'${value}'`
  return `Value ${shown} at '${member}' failed to satisfy constraint: Member must ${rule}`
}

/**
 * AWS's common `503 ServiceUnavailable` ("The request has failed due to a temporary failure of the server."):
 * the store is unreachable or the audit record could not be committed. Every SDK retries it.
 * https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
 */
export function serviceUnavailable(): AwsError {
  return new AwsError(
    'ServiceUnavailable',
    'The request has failed due to a temporary failure of the server.',
  )
}

/** AWS's `400 Throttling` "Rate exceeded": the per-source rate limit refused the request; SDKs back off. */
export function throttling(): AwsError {
  return new AwsError('Throttling', 'Rate exceeded')
}
