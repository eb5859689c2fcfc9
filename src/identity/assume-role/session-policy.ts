/**
 * @module identity/assume-role/session-policy
 * Session-policy limits (IAM User Guide, "Session policies":
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session, and STS API
 * reference, AssumeRole, Policy / PolicyArns / PackedPolicyTooLarge): the inline policy must be valid JSON
 * passing IAM's checks; the policy, the policy ARNs and the session tags share one packed budget; every
 * policy ARN names an existing managed policy.
 */
import { validatePolicy } from '../../policy/index.ts'
import { packedPolicyPercent } from '../sessions.ts'
import type { ManagedPolicyLookup } from '../ports.ts'
import type { SessionTag } from '../types.ts'
import { AssumeRoleError } from './errors.ts'

export const MALFORMED_SESSION_POLICY = 'The policy is not in the valid JSON format.'

/** Session policy JSON must parse and pass IAM's save-time checks. */
export function validateSessionPolicy(policy: string): void {
  let errors
  try {
    JSON.parse(policy)
    errors = validatePolicy(policy, { type: 'session' }).errors
  } catch {
    throw new AssumeRoleError('MALFORMED_SESSION_POLICY', MALFORMED_SESSION_POLICY)
  }
  const first = errors[0]
  if (first !== undefined) throw new AssumeRoleError('MALFORMED_SESSION_POLICY', first.message)
}

/** The packed size percentage; over 100 is `PackedPolicyTooLarge`. */
export function checkPackedSize(
  policy: string | undefined,
  policyArns: readonly string[],
  tags: readonly SessionTag[],
): number {
  const percent = packedPolicyPercent({
    sessionPolicy: policy,
    sessionPolicyArns: policyArns,
    tags,
  })
  if (percent > 100)
    throw new AssumeRoleError(
      'PACKED_POLICY_TOO_LARGE',
      `Packed policy consumes ${percent}% of allotted space`,
    )
  return percent
}

export async function requirePolicyArns(
  policies: ManagedPolicyLookup,
  arns: readonly string[],
): Promise<void> {
  for (const arn of arns) {
    if ((await policies.getManagedPolicyDocument(arn)) === undefined)
      throw new AssumeRoleError(
        'POLICY_ARN_NOT_FOUND',
        `Policy ${arn} does not exist or is not attachable.`,
      )
  }
}

/** The three limits in STS's order; returns the packed size (0 when nothing was packed). */
export async function limitSessionPolicies(
  policies: ManagedPolicyLookup,
  input: {
    policy?: string | undefined
    policyArns: readonly string[]
    tags: readonly SessionTag[]
  },
): Promise<number> {
  if (input.policy !== undefined) validateSessionPolicy(input.policy)
  const packed = checkPackedSize(input.policy, input.policyArns, input.tags)
  await requirePolicyArns(policies, input.policyArns)
  return packed
}
