/**
 * @module gcp/errors
 * Errors of the Google-compatible endpoints, in Google's own vocabularies: the STS (`/v1/token`,
 * `/v1/introspect`) answers OAuth-style `{error, error_description}` (RFC 6749 §5.2 / RFC 8693 §2.2.2);
 * IAM Credentials answers the Google API envelope `{error: {code, message, status, details}}`.
 * Messages are Google STS's own (https://cloud.google.com/iam/docs/troubleshooting-workload-identity-federation);
 * docs/gcp.md lists them.
 */
import { PodtrustError } from '../errors.ts'

export const stsErrorCodes = [
  'invalid_request',
  'invalid_grant',
  'invalid_target',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
] as const

export type StsErrorCode = (typeof stsErrorCodes)[number]

/** An OAuth error of Google STS: always HTTP 400 (401 for invalid_client, which we never raise). */
export class GoogleStsError extends PodtrustError<StsErrorCode> {}

/** The google.rpc.Code names the IAM Credentials API answers with, and their HTTP statuses. */
export const apiStatuses = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
} as const

export type ApiStatus = keyof typeof apiStatuses

/** An error in Google's API envelope (`{"error":{"code","message","status","details"}}`). */
export class GoogleApiError extends PodtrustError<ApiStatus> {
  readonly reason: string | undefined
  readonly metadata: Record<string, string> | undefined

  constructor(
    status: ApiStatus,
    message: string,
    options: { reason?: string; metadata?: Record<string, string> } = {},
  ) {
    super(status, message)
    this.reason = options.reason
    this.metadata = options.metadata
  }

  get httpStatus(): number {
    return apiStatuses[this.code]
  }

  toJSON(): { error: Record<string, unknown> } {
    const details =
      this.reason === undefined
        ? []
        : [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: this.reason,
              domain: 'iam.googleapis.com',
              metadata: this.metadata ?? {},
            },
          ]
    return {
      error: { code: this.httpStatus, message: this.message, status: this.code, details },
    }
  }
}

/** A store write refused because it would change an identity (a service account's uniqueId). */
export class GcpStoreError extends PodtrustError<'GCP_UNIQUE_ID_CHANGED'> {}
