/**
 * @module aws/sts/errors
 * The assume-role pipeline's typed failures as STS answers them: code, HTTP status and message (STS API
 * reference, "Errors" of AssumeRole and AssumeRoleWithWebIdentity:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Errors). A trust
 * denial's message depends on the entry point, so each handler renders `TRUST_DENIED` itself.
 */
import { AwsError } from '../errors.ts'
import { AssumeRoleError, type AssumeRoleErrorCode } from '../../identity/assume-role/index.ts'

const STS_CODES: Record<AssumeRoleErrorCode, string> = {
  INVALID_ROLE_ARN: 'ValidationError',
  INVALID_SOURCE_IDENTITY: 'ValidationError',
  CHAINED_DURATION_EXCEEDED: 'ValidationError',
  ROLE_DURATION_EXCEEDED: 'ValidationError',
  DUPLICATE_TAG_KEYS: 'InvalidParameterValue',
  TRANSITIVE_KEY_NOT_IN_TAGS: 'InvalidParameterValue',
  TRANSITIVE_KEY_CONFLICT: 'InvalidParameterValue',
  SOURCE_IDENTITY_CHANGED: 'AccessDenied',
  TRUST_DENIED: 'AccessDenied',
  MALFORMED_SESSION_POLICY: 'MalformedPolicyDocument',
  PACKED_POLICY_TOO_LARGE: 'PackedPolicyTooLarge',
  POLICY_ARN_NOT_FOUND: 'InvalidParameterValue',
  SESSION_CREDENTIALS: 'AccessDenied',
  FEDERATION_DENIED: 'AccessDenied',
}

export function toStsError(err: AssumeRoleError): AwsError {
  return new AwsError(STS_CODES[err.code], err.message)
}

/** Runs a pipeline step, answering its typed failure as STS does. */
export function stsStep<T>(step: () => T): T {
  try {
    return step()
  } catch (err) {
    throw err instanceof AssumeRoleError ? toStsError(err) : err
  }
}

/**
 * Runs a handler body; an `AssumeRoleError` becomes STS's error. `render` may answer one first (a trust
 * denial's entry-specific message); it returns undefined to leave the default.
 */
export async function withStsErrors<T>(
  body: () => Promise<T>,
  render?: (err: AssumeRoleError) => Promise<AwsError | undefined> | AwsError | undefined,
): Promise<T> {
  try {
    return await body()
  } catch (err) {
    if (!(err instanceof AssumeRoleError)) throw err
    throw (await render?.(err)) ?? toStsError(err)
  }
}
