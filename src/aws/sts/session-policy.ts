/**
 * @module aws/sts/session-policy
 * Session policies (`Policy`, `PolicyArns`) as STS reads them off the wire and answers their failures; the
 * limits themselves are the assume-role pipeline's (`src/identity/assume-role/session-policy.ts`).
 */
import {
  checkPackedSize,
  checkPolicyArnMembers,
  validateSessionPolicy as validateSessionPolicyStep,
} from '../../identity/assume-role/index.ts'
import type { SessionTag } from '../../identity/types.ts'
import { stsStep } from './errors.ts'
import type { Problems } from './validate.ts'

export { MALFORMED_SESSION_POLICY } from '../../identity/assume-role/index.ts'

/** `PolicyArns.member.N.arn` → ARNs (≤ 10, each 20–2048 chars). */
export function sessionPolicyArnsOf(
  list: Record<string, string>[] | undefined,
  problems: Problems,
): string[] {
  const arns = policyArnsOf(list)
  checkPolicyArnMembers(problems, arns)
  return arns
}

/** The ARNs of a `PolicyArns` struct list (an entry without `arn` is the empty string, then too short). */
export function policyArnsOf(list: Record<string, string>[] | undefined): string[] {
  return (list ?? []).map((entry) => entry['arn'] ?? '')
}

/** Session policy JSON must parse and pass IAM's save-time checks; else MalformedPolicyDocument. */
export function validateSessionPolicy(policy: string): void {
  stsStep(() => validateSessionPolicyStep(policy))
}

/** The packed size percentage; > 100 is `PackedPolicyTooLarge`. */
export function packAndCheck(
  policy: string | undefined,
  policyArns: readonly string[],
  tags: readonly SessionTag[],
): number {
  return stsStep(() => checkPackedSize(policy, policyArns, tags))
}
