/**
 * @module azure/errors
 * Entra ID (AADSTS) errors of the token endpoint. Codes, OAuth `error` values and wording follow
 * https://learn.microsoft.com/entra/identity-platform/reference-error-codes (docs/azure.md lists the ones
 * podtrust returns); the table is the one place a code's shape is decided.
 */
import { PodtrustError } from '../errors.ts'

/** AADSTS code → OAuth `error` and HTTP status. */
export const aadstsCodes = {
  50027: { error: 'invalid_request', status: 400 }, // invalid or malformed JWT
  50049: { error: 'invalid_instance', status: 400 }, // unknown or invalid instance
  70021: { error: 'invalid_client', status: 401 }, // no matching FIC record
  70025: { error: 'invalid_client', status: 401 }, // client has no FICs
  90002: { error: 'invalid_request', status: 400 }, // tenant not found
  90014: { error: 'invalid_request', status: 400 }, // a required field is missing
  90061: { error: 'invalid_request', status: 400 }, // external OIDC endpoint failed
  700016: { error: 'unauthorized_client', status: 400 }, // application not found in the directory
  700024: { error: 'invalid_client', status: 401 }, // assertion outside its valid time range
  700027: { error: 'invalid_client', status: 401 }, // assertion signature invalid
  700211: { error: 'invalid_client', status: 401 }, // no FIC for the assertion issuer
  700212: { error: 'invalid_client', status: 401 }, // no FIC for the assertion audience
  700213: { error: 'invalid_client', status: 401 }, // no FIC for the assertion subject
  7002131: { error: 'invalid_client', status: 401 }, // no FIC expression matched
  70011: { error: 'invalid_scope', status: 400 }, // invalid scope
  900144: { error: 'invalid_request', status: 400 }, // request body must contain a parameter
  900023: { error: 'invalid_request', status: 400 }, // invalid tenant identifier
  70003: { error: 'unsupported_grant_type', status: 400 },
  7000218: { error: 'invalid_request', status: 400 }, // client_assertion or client_secret is required
  7000215: { error: 'invalid_client', status: 401 }, // invalid client secret
  1002012: { error: 'invalid_scope', status: 400 }, // client credentials need RESOURCE/.default
} as const

export type AadstsCode = keyof typeof aadstsCodes

/** Entra's stable error code number as the PodtrustError code (`AADSTS700213`). */
export type EntraErrorCode = `AADSTS${AadstsCode}`

export class EntraError extends PodtrustError<EntraErrorCode> {
  readonly aadsts: AadstsCode

  /** `description` is the text after `AADSTSnnnn: ` in `error_description`; it must carry no secret. */
  constructor(aadsts: AadstsCode, description: string) {
    super(`AADSTS${aadsts}`, description)
    this.aadsts = aadsts
  }

  get error(): string {
    return aadstsCodes[this.aadsts].error
  }

  get status(): number {
    return aadstsCodes[this.aadsts].status
  }
}

export interface EntraErrorBody {
  error: string
  error_description: string
  error_codes: number[]
  timestamp: string
  trace_id: string
  correlation_id: string
  error_uri: string
}

/**
 * Renders the JSON Entra answers (https://learn.microsoft.com/entra/identity-platform/reference-error-codes): `error_description` ends with the trace id, correlation id and
 * timestamp lines, which @azure/identity repeats in its message.
 */
export function entraErrorBody(
  err: EntraError,
  ids: { traceId: string; correlationId: string; now: Date; authorityHost: string },
): EntraErrorBody {
  const timestamp = ids.now
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
  return {
    error: err.error,
    error_description:
      `AADSTS${err.aadsts}: ${err.message}\r\nTrace ID: ${ids.traceId}\r\n` +
      `Correlation ID: ${ids.correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.aadsts],
    timestamp,
    trace_id: ids.traceId,
    correlation_id: ids.correlationId,
    error_uri: `${ids.authorityHost.replace(/\/$/, '')}/error?code=${err.aadsts}`,
  }
}
