/**
 * @module aws/iam/validate
 * IAM's parameter constraints (botocore's iam model: lengths, patterns, ranges) with AWS's exact
 * `ValidationError` wording, and the IAM-specific `InvalidInput` / `LimitExceeded` rules for tags, ARNs,
 * OIDC URLs and thumbprints (IAM API reference, CreateOpenIDConnectProvider:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html; LocalStack's
 * AWS-recorded snapshots). Pure.
 */
import { AwsError, validationError } from '../errors.ts'
import type { Tag } from './repo.ts'

/** A model constraint on one member; `check` returns the failed rule text or undefined. */
type Rule = (value: string) => string | undefined

export const rules = {
  length(min: number, max: number): Rule {
    return (v) =>
      v.length > max
        ? `have length less than or equal to ${max}`
        : v.length < min
          ? `have length greater than or equal to ${min}`
          : undefined
  },
  pattern(re: RegExp, shown: string): Rule {
    return (v) => (re.test(v) ? undefined : `satisfy regular expression pattern: ${shown}`)
  },
}

/**
 * One problem of a `ValidationError`. IAM names the member but never echoes the offending value (AWS-recorded:
 * "Value at 'url' failed to satisfy constraint: …", "Value at 'tags.1.member.key' …").
 */
export function iamProblem(member: string, rule: string): string {
  return `Value at '${member}' failed to satisfy constraint: Member must ${rule}`
}

/** Every problem of one member, in the model's order (length before pattern, as AWS reports). */
export function problemsOf(member: string, value: string | undefined, checks: Rule[]): string[] {
  if (value === undefined) return []
  const out: string[] = []
  for (const check of checks) {
    const failed = check(value)
    if (failed !== undefined) out.push(iamProblem(member, failed))
  }
  return out
}

/** Throws one `ValidationError` listing every problem (AWS reports them together). */
export function throwIfProblems(problems: string[]): void {
  if (problems.length > 0) throw validationError(problems)
}

const NAME_CHARS = /^[\w+=,.@-]+$/
export const NAME_PATTERN = '[\\w+=,.@-]+'
const PATH = /^(\/|\/[\u0021-\u007E]+\/)$/
const PATH_SHOWN = '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)'
const POLICY_PATH = /^((\/[A-Za-z0-9.,+@=_-]+)*)\/$/
const POLICY_PATH_SHOWN = '((/[A-Za-z0-9\\.,\\+@=_-]+)*)/'
const PATH_PREFIX = /^\/[\u0021-\u007F]*$/
const PATH_PREFIX_SHOWN = '\\u002F[\\u0021-\\u007F]*'
// eslint-disable-next-line no-control-regex -- TAB, LF and CR are the characters IAM's pattern allows
const DOCUMENT_CHARS = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/
const DOCUMENT_SHOWN = '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+'
// eslint-disable-next-line no-control-regex -- TAB, LF and CR are the characters IAM's pattern allows
const DESCRIPTION = /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/
const DESCRIPTION_SHOWN = '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*'

export const nameRules = (max: number): Rule[] => [
  rules.length(1, max),
  rules.pattern(NAME_CHARS, NAME_PATTERN),
]
export const roleNameRules = nameRules(64)
export const userNameRules = nameRules(64)
export const policyNameRules = nameRules(128)
export const pathRules: Rule[] = [rules.length(1, 512), rules.pattern(PATH, PATH_SHOWN)]
export const policyPathRules: Rule[] = [
  rules.length(1, 512),
  rules.pattern(POLICY_PATH, POLICY_PATH_SHOWN),
]
export const pathPrefixRules: Rule[] = [
  rules.length(1, 512),
  rules.pattern(PATH_PREFIX, PATH_PREFIX_SHOWN),
]
export const documentRules: Rule[] = [
  rules.length(1, 131072),
  rules.pattern(DOCUMENT_CHARS, DOCUMENT_SHOWN),
]
export const descriptionRules = (max: number): Rule[] => [
  rules.length(0, max),
  rules.pattern(DESCRIPTION, DESCRIPTION_SHOWN),
]
export const arnRules: Rule[] = [rules.length(20, 2048)]
export const versionIdRules: Rule[] = [
  rules.pattern(/^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/, 'v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?'),
]
export const accessKeyIdRules: Rule[] = [rules.length(16, 128), rules.pattern(/^[\w]+$/, '[\\w]+')]

/** An integer parameter in `[min, max]`; not an integer → AWS's query-layer message. */
export function intParam(
  member: string,
  raw: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined) return undefined
  if (!/^-?\d+$/.test(raw.trim())) {
    throw new AwsError(
      'ValidationError',
      `Invalid value '${raw}' for parameter ${member}: must be an integer`,
    )
  }
  const n = Number(raw)
  const field = member.charAt(0).toLowerCase() + member.slice(1)
  if (n < min)
    throw validationError([iamProblem(field, `have value greater than or equal to ${min}`)])
  if (n > max) throw validationError([iamProblem(field, `have value less than or equal to ${max}`)])
  return n
}

/** A boolean parameter: `true` / `false` (case-insensitive, as the query layer parses them). */
export function boolParam(member: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined
  const v = raw.toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new AwsError(
    'ValidationError',
    `Invalid value '${raw}' for parameter ${member}: must be a boolean`,
  )
}

/** An enum parameter. */
export function enumParam<T extends string>(
  member: string,
  raw: string | undefined,
  values: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined
  if ((values as readonly string[]).includes(raw)) return raw as T
  throw validationError([iamProblem(member, `satisfy enum value set: [${values.join(', ')}]`)])
}

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u
const TAG_KEY_SHOWN = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+'
const TAG_VALUE_SHOWN = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*'
const tagKeyRules: Rule[] = [rules.length(1, 128), rules.pattern(TAG_KEY, TAG_KEY_SHOWN)]
const tagValueRules: Rule[] = [rules.length(0, 256), rules.pattern(TAG_VALUE, TAG_VALUE_SHOWN)]

/**
 * Tags of a create/tag call: ≤ 50 (ValidationError), keys 1–128, values 0–256, AWS's character set (every
 * violation listed, values never echoed), then no duplicate keys and no `aws:` prefix. `caseInsensitiveKeys`:
 * roles, users and OIDC providers compare keys case-insensitively ("Duplicate tag keys found. Please note that Tag
 * keys are case insensitive."); managed policies keep keys that differ in case apart.
 */
export function checkTags(tags: Tag[], member = 'tags', caseInsensitiveKeys = true): void {
  const problems: string[] = []
  if (tags.length > 50) problems.push(iamProblem(member, 'have length less than or equal to 50'))
  tags.forEach((t, i) => {
    const at = `${member}.${i + 1}.member`
    problems.push(...problemsOf(`${at}.key`, t.key, tagKeyRules))
    problems.push(...problemsOf(`${at}.value`, t.value, tagValueRules))
  })
  throwIfProblems(problems)
  const seen = new Set<string>()
  for (const t of tags) {
    const k = caseInsensitiveKeys ? t.key.toLowerCase() : t.key
    if (seen.has(k)) {
      throw new AwsError(
        'InvalidInput',
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      )
    }
    seen.add(k)
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw new AwsError(
        'InvalidInput',
        'User-defined tag keys can\'t start with "aws:". This prefix is reserved for AWS tags.',
      )
    }
  }
}

const sameKey = (a: string, b: string, caseInsensitive: boolean): boolean =>
  caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b

/**
 * Merges tags: a key already present keeps its place and takes the new value (and, case-insensitively, the new
 * spelling); new keys follow in request order, the order IAM lists them in. > 50 → LimitExceeded.
 */
export function mergeTags(existing: Tag[], added: Tag[], caseInsensitiveKeys = true): Tag[] {
  const out = existing.map(
    (e) => added.find((a) => sameKey(a.key, e.key, caseInsensitiveKeys)) ?? e,
  )
  for (const a of added) if (!out.includes(a)) out.push(a)
  if (out.length > 50)
    throw new AwsError('LimitExceeded', 'The number of tags has reached the maximum limit.')
  return out
}

export function removeTags(existing: Tag[], keys: string[], caseInsensitiveKeys = true): Tag[] {
  return existing.filter((t) => !keys.some((k) => sameKey(k, t.key, caseInsensitiveKeys)))
}

/**
 * Tag key lists of Untag calls: ≤ 50 keys, each a tag key (1–128 characters of AWS's tag character set). A bad
 * element is reported on the list with every constraint of the element shape, as AWS words list members
 * ("Member must satisfy constraint: [Member must have length less than or equal to 255, …]").
 */
export function checkTagKeys(keys: string[]): void {
  const problems: string[] = []
  if (keys.length > 50) problems.push(iamProblem('tagKeys', 'have length less than or equal to 50'))
  if (keys.some((k) => tagKeyRules.some((r) => r(k) !== undefined))) {
    problems.push(
      iamProblem(
        'tagKeys',
        `satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ${TAG_KEY_SHOWN}]`,
      ),
    )
  }
  throwIfProblems(problems)
}

/** Tags sorted by key, as ListRoleTags / ListOpenIDConnectProviderTags return them. */
export const sortedTags = (tags: Tag[]): Tag[] =>
  [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))

export interface ParsedArn {
  partition: string
  service: string
  region: string
  account: string
  resource: string
}

/** `arn:P:S:R:A:RES`; anything else → `ValidationError "ARN X is not valid."` (AWS's IAM wording). */
export function parseArn(
  arn: string,
  code: 'ValidationError' | 'InvalidInput' = 'ValidationError',
): ParsedArn {
  const parts = arn.split(':')
  if (
    parts.length < 6 ||
    parts[0] !== 'arn' ||
    parts[1] === '' ||
    parts[2] === '' ||
    parts.slice(5).join(':') === ''
  ) {
    throw new AwsError(code, `ARN ${arn} is not valid.`)
  }
  return {
    partition: parts[1]!,
    service: parts[2]!,
    region: parts[3]!,
    account: parts[4]!,
    resource: parts.slice(5).join(':'),
  }
}

/** A managed policy ARN (`arn:aws:iam::ACCT|aws:policy/…`); any other ARN → InvalidInput. */
export function checkPolicyArn(arn: string): void {
  const p = parseArn(arn)
  if (
    p.service !== 'iam' ||
    !/^policy\/.+/.test(p.resource) ||
    !(p.account === 'aws' || /^\d{12}$/.test(p.account))
  ) {
    throw new AwsError('InvalidInput', `ARN ${arn} is not valid.`)
  }
}

/** An OIDC provider ARN. */
export function checkOidcProviderArn(arn: string): void {
  const p = parseArn(arn)
  if (p.service !== 'iam' || !/^oidc-provider\/.+/.test(p.resource)) {
    throw new AwsError('InvalidInput', `ARN ${arn} is not valid.`)
  }
}

/**
 * An OIDC provider URL: `https://host[/path]`, no query, fragment, port or user info (IAM User Guide, "Create
 * an OpenID Connect (OIDC) identity provider": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html).
 * Returns the URL without the scheme, as IAM stores it (a trailing slash kept).
 */
export function checkOidcUrl(url: string): string {
  throwIfProblems(problemsOf('url', url, [rules.length(1, 255)]))
  if (!/^https:\/\//i.test(url))
    throw new AwsError('ValidationError', 'Invalid Open ID Connect Provider URL')
  const rest = url.slice('https://'.length)
  const host = rest.split('/')[0] ?? ''
  // AWS says the URL "should not contain a port"; podtrust's own issuer lives on `https://127.0.0.1:7443`,
  // so an explicit numeric port is accepted (a deliberate, documented extension).
  if (host === '' || /[?#@\s]/.test(rest) || !/^[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?$/.test(host)) {
    throw new AwsError('ValidationError', 'Invalid Open ID Connect Provider URL')
  }
  return rest
}

/** Client ids 1–255 each, ≤ 100 (LimitExceeded). */
export function checkClientIds(ids: string[]): void {
  if (ids.some((c) => c.length < 1 || c.length > 255)) {
    throw validationError([
      `Value at 'clientIDList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 1]`,
    ])
  }
  if (ids.length > 100) {
    throw new AwsError(
      'LimitExceeded',
      'Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100',
    )
  }
}

/** Thumbprints: exactly 40 chars each, ≤ 5 (InvalidInput, AWS's "fewer than 5" wording sic). */
export function checkThumbprints(list: string[]): void {
  if (list.some((t) => t.length !== 40)) {
    throw validationError([
      `Value at 'thumbprintList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 40, Member must have length greater than or equal to 40]`,
    ])
  }
  if (list.length > 5)
    throw new AwsError('InvalidInput', 'Thumbprint list must contain fewer than 5 entries.')
}
