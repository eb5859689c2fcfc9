/**
 * @module identity/assume-role/duration
 * Duration limits (STS API reference, AssumeRole, DurationSeconds:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): one hour by default; a role
 * chained from a role session is capped at one hour; no session outlives the role's MaxSessionDuration.
 */
import { AssumeRoleError } from './errors.ts'

export const DEFAULT_DURATION_SECONDS = 3600
/** "Role chaining limits your AWS CLI or AWS API role session to a maximum of one hour." */
export const CHAINED_MAX_DURATION_SECONDS = 3600

export function limitChainedDuration(durationSeconds: number, chained: boolean): void {
  if (chained && durationSeconds > CHAINED_MAX_DURATION_SECONDS)
    throw new AssumeRoleError(
      'CHAINED_DURATION_EXCEEDED',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    )
}

export function limitToRoleMaxDuration(
  durationSeconds: number,
  role: { maxSessionDuration: number },
): void {
  if (durationSeconds > role.maxSessionDuration)
    throw new AssumeRoleError(
      'ROLE_DURATION_EXCEEDED',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    )
}
