/**
 * @module aws/eks/errors
 * EKS and EKS Auth errors, named and statused exactly as the botocore models declare them (restJson1: the
 * name goes out in `x-amzn-ErrorType`, the text in `{"message"}`).
 */
import { PodtrustError } from '../../errors.ts'

/** EKS API (`eks` 2017-11-01) error shapes → HTTP status (model `error.httpStatusCode`). */
export const eksErrorStatus = {
  ServerException: 500,
  ResourceNotFoundException: 404,
  InvalidRequestException: 400,
  InvalidParameterException: 400,
  ResourceLimitExceededException: 400,
  ResourceInUseException: 409,
  ClientException: 400,
  ServiceUnavailableException: 503,
  // Not in the model's per-operation lists, but what AWS answers for a bad or missing signature.
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  AccessDeniedException: 403,
} as const

export type EksErrorCode = keyof typeof eksErrorStatus

/** One EKS API error; `clusterName` is echoed in the body as the model's error shapes allow. */
export class EksError extends PodtrustError<EksErrorCode> {
  readonly status: number
  readonly clusterName: string | undefined

  constructor(
    code: EksErrorCode,
    message: string,
    options: { clusterName?: string; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.status = eksErrorStatus[code]
    this.clusterName = options.clusterName
  }
}

/** EKS Auth (`eks-auth` 2023-11-26) error shapes → HTTP status; note access denied is 400 there. */
export const eksAuthErrorStatus = {
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  InvalidTokenException: 400,
  ResourceNotFoundException: 404,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  // A bad or missing SigV4 signature on the call itself (AWS's common error, not in the model's list).
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
} as const

export type EksAuthErrorCode = keyof typeof eksAuthErrorStatus

export class EksAuthError extends PodtrustError<EksAuthErrorCode> {
  readonly status: number

  constructor(code: EksAuthErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.status = eksAuthErrorStatus[code]
  }
}
