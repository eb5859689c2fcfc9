/**
 * @module policy/errors
 * Errors of the policy engine. Only compilation throws; authorization returns data (a decision is never an
 * exception).
 */
import { PodtrustError } from '../errors.ts'

export const policyErrorCodes = [
  'INVALID_JSON',
  'INVALID_POLICY',
  'UNKNOWN_OPERATOR',
  'TOO_LARGE',
] as const
export type PolicyErrorCode = (typeof policyErrorCodes)[number]

/** A policy document that cannot be compiled: not JSON, wrong shape, unknown operator, too large. */
export class PolicyError extends PodtrustError<PolicyErrorCode> {
  readonly path: string | undefined
  constructor(
    code: PolicyErrorCode,
    message: string,
    options: { path?: string; cause?: unknown } = {},
  ) {
    super(code, message, {
      hint: 'check the policy document against the IAM JSON policy grammar',
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    })
    this.path = options.path
  }
}
