/**
 * @module aws/sts/validate
 * STS parameter constraints reported in AWS's ValidationError format: all problems of one request in one
 * message (`N validation errors detected: …; …`). `Problems` is the STS rendering of the assume-role
 * pipeline's `ConstraintProblems` sink; the checks themselves live in `src/identity/assume-role/`.
 */
import { AwsError, constraintProblem, validationError } from '../errors.ts'
import {
  checkTagMembers,
  parseRoleArn as parseRoleArnStep,
  type ConstraintProblems,
  type RoleArnParts,
} from '../../identity/assume-role/index.ts'
import type { SessionTag } from '../../identity/types.ts'
import { stsStep } from './errors.ts'

export {
  DUPLICATE_TAG_KEYS_MESSAGE,
  duplicateTagKeys,
  EXTERNAL_ID_PATTERN,
  POLICY_PATTERN,
  SESSION_NAME_PATTERN,
  TAG_KEY_PATTERN,
  TAG_VALUE_PATTERN,
  TRANSITIVE_CONFLICT_MESSAGE,
  TRANSITIVE_NOT_IN_TAGS_MESSAGE,
} from '../../identity/assume-role/index.ts'

/** Collects constraint problems, then throws them as one ValidationError. */
export class Problems implements ConstraintProblems {
  readonly list: string[] = []

  required(value: string | undefined, member: string): value is string {
    if (value === undefined) {
      this.list.push(constraintProblem(null, member, 'not be null'))
      return false
    }
    return true
  }

  length(value: string | undefined, member: string, min: number, max?: number, show = true): void {
    if (value === undefined) return
    const shown = show ? value : null
    if (value.length < min)
      this.list.push(
        constraintProblem(shown, member, `have length greater than or equal to ${min}`),
      )
    else if (max !== undefined && value.length > max)
      this.list.push(constraintProblem(shown, member, `have length less than or equal to ${max}`))
  }

  pattern(
    value: string | undefined,
    member: string,
    pattern: RegExp,
    source: string,
    show = true,
  ): void {
    if (value === undefined || pattern.test(value)) return
    this.list.push(
      constraintProblem(
        show ? value : null,
        member,
        `satisfy regular expression pattern: ${source}`,
      ),
    )
  }

  /** An integer member within [min, max]; returns the number (or undefined when absent / invalid). */
  integer(value: string | undefined, member: string, min: number, max: number): number | undefined {
    if (value === undefined) return undefined
    if (!/^-?\d+$/.test(value.trim())) {
      throw new AwsError(
        'MalformedInput',
        `Value '${value}' at '${member}' is not a valid integer`,
        {
          status: 400,
        },
      )
    }
    const n = Number(value)
    if (n < min)
      this.list.push(constraintProblem(value, member, `have value greater than or equal to ${min}`))
    else if (n > max)
      this.list.push(constraintProblem(value, member, `have value less than or equal to ${max}`))
    return n
  }

  tooMany(member: string, max: number): void {
    this.list.push(
      `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    )
  }

  custom(message: string): void {
    this.list.push(message)
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw validationError(this.list)
  }
}

/** A role ARN `arn:P:iam::ACCT:role/[path/]NAME`; anything else is `ValidationError "<arn> is invalid"`. */
export function parseRoleArn(arn: string): RoleArnParts {
  return stsStep(() => parseRoleArnStep(arn))
}

/** Tag rules shared by AssumeRole's `Tags` and the web identity token's `principal_tags`. */
export function checkTags(problems: Problems, tags: readonly SessionTag[], member = 'tags'): void {
  checkTagMembers(problems, tags, member)
}
