/**
 * @module aws/sts/validate
 * STS parameter constraints from the botocore model, reported in AWS's ValidationError format: all problems
 * of one request in one message (`N validation errors detected: …; …`).
 */
import { AwsError, constraintProblem, validationError } from '../errors.ts'

export const SESSION_NAME_PATTERN = /^[\w+=,.@-]*$/
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]*$/
// eslint-disable-next-line no-control-regex -- AWS's model pattern includes tab, LF and CR
export const POLICY_PATTERN = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/
export const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
export const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

/** Collects constraint problems, then throws them as one ValidationError. */
export class Problems {
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

  custom(message: string): void {
    this.list.push(message)
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw validationError(this.list)
  }
}

/** A role ARN `arn:P:iam::ACCT:role/[path/]NAME`; anything else is `ValidationError "<arn> is invalid"`. */
export function parseRoleArn(arn: string): {
  partition: string
  accountId: string
  path: string
  roleName: string
} {
  const m = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):role\/(.+)$/.exec(arn)
  if (m === null) throw new AwsError('ValidationError', `${arn} is invalid`)
  const resource = m[3] as string
  const slash = resource.lastIndexOf('/')
  const roleName = resource.slice(slash + 1)
  if (roleName === '' || !/^[\w+=,.@-]+$/.test(roleName))
    throw new AwsError('ValidationError', `${arn} is invalid`)
  return {
    partition: m[1] as string,
    accountId: m[2] as string,
    path: slash === -1 ? '/' : `/${resource.slice(0, slash + 1)}`,
    roleName,
  }
}

/** Tag rules shared by AssumeRole's `Tags` and the web identity token's `principal_tags`. */
export function checkTags(
  problems: Problems,
  tags: readonly { key: string; value: string }[],
  member = 'tags',
): void {
  if (tags.length > 50)
    problems.custom(
      `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to 50`,
    )
  tags.forEach((tag, i) => {
    const at = `${member}.${i + 1}.member`
    problems.length(tag.key, `${at}.key`, 1, 128)
    problems.pattern(tag.key, `${at}.key`, TAG_KEY_PATTERN, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+')
    problems.length(tag.value, `${at}.value`, 0, 256)
    problems.pattern(tag.value, `${at}.value`, TAG_VALUE_PATTERN, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*')
  })
}

export function duplicateTagKeys(tags: readonly { key: string }[]): boolean {
  const seen = new Set<string>()
  for (const t of tags) {
    const k = t.key.toLowerCase()
    if (seen.has(k)) return true
    seen.add(k)
  }
  return false
}

export const DUPLICATE_TAG_KEYS_MESSAGE =
  'Duplicate tag keys found. Please note that Tag keys are case insensitive.'
export const TRANSITIVE_NOT_IN_TAGS_MESSAGE =
  'The specified transitive tag key must be included in the requested tags.'
export const TRANSITIVE_CONFLICT_MESSAGE =
  "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."
