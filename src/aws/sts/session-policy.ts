/**
 * @module aws/sts/session-policy
 * Session policies (`Policy`, `PolicyArns`) and the packed-size check shared by AssumeRole and
 * AssumeRoleWithWebIdentity.
 */
import { validatePolicy } from '../../policy/index.ts'
import { AwsError } from '../errors.ts'
import { packedPolicyPercent } from '../../identity/sessions.ts'
import type { SessionTag } from '../../identity/types.ts'
import type { Problems } from './validate.ts'

export const MALFORMED_SESSION_POLICY = 'The policy is not in the valid JSON format.'

/** `PolicyArns.member.N.arn` → ARNs (≤ 10, each 20–2048 chars). */
export function sessionPolicyArnsOf(
  list: Record<string, string>[] | undefined,
  problems: Problems,
): string[] {
  const arns = (list ?? []).map((entry) => entry['arn'] ?? '')
  if (arns.length > 10)
    problems.custom(
      "Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10",
    )
  arns.forEach((arn, i) => problems.length(arn, `policyArns.${i + 1}.member.arn`, 20, 2048))
  return arns
}

/** Session policy JSON must parse and pass IAM's save-time checks; else MalformedPolicyDocument. */
export function validateSessionPolicy(policy: string): void {
  let errors
  try {
    JSON.parse(policy)
    errors = validatePolicy(policy, { type: 'session' }).errors
  } catch {
    throw new AwsError('MalformedPolicyDocument', MALFORMED_SESSION_POLICY)
  }
  const first = errors[0]
  if (first !== undefined) throw new AwsError('MalformedPolicyDocument', first.message)
}

/** The packed size percentage; > 100 is `PackedPolicyTooLarge`. */
export function packAndCheck(
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
    throw new AwsError(
      'PackedPolicyTooLarge',
      `Packed policy consumes ${percent}% of allotted space`,
    )
  return percent
}
