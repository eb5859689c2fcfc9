/**
 * @module identity/assume-role/parameters
 * Parameter checks: the member constraints of AssumeRole, AssumeRoleWithWebIdentity (and
 * GetFederationToken's shared members) from the STS API reference, in the order STS reports them
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_RequestParameters,
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
 * The checks report into a `ConstraintProblems` sink the adapter implements, so the wire format of the one
 * collected validation error (STS: `N validation errors detected: …`) stays in the adapter.
 */
import { AssumeRoleError } from './errors.ts'
import type { SessionTag } from '../types.ts'

export const SESSION_NAME_PATTERN = /^[\w+=,.@-]*$/
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]*$/
// eslint-disable-next-line no-control-regex -- STS's model pattern includes tab, LF and CR
export const POLICY_PATTERN = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/
export const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
export const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

/** Where constraint problems go; all of one request are reported together by `throwIfAny`. */
export interface ConstraintProblems {
  required(value: string | undefined, member: string): value is string
  /** `show = false` keeps a long or secret value out of the message. */
  length(value: string | undefined, member: string, min: number, max?: number, show?: boolean): void
  pattern(
    value: string | undefined,
    member: string,
    pattern: RegExp,
    source: string,
    show?: boolean,
  ): void
  /** An integer in [min, max]; a value that is not an integer at all fails at once. */
  integer(value: string | undefined, member: string, min: number, max: number): number | undefined
  /** A list member with more than `max` items. */
  tooMany(member: string, max: number): void
  throwIfAny(): void
}

/** The request members, as the adapter parsed them off the wire (lists already split). */
export interface AssumeRoleParameters {
  roleArn?: string | undefined
  roleSessionName?: string | undefined
  webIdentityToken?: string | undefined
  durationSeconds?: string | undefined
  policy?: string | undefined
  policyArns?: string[] | undefined
  tags?: SessionTag[] | undefined
  transitiveTagKeys?: string[] | undefined
  externalId?: string | undefined
  sourceIdentity?: string | undefined
  serialNumber?: string | undefined
  tokenCode?: string | undefined
}

export interface CheckedParameters {
  roleArn: string
  roleSessionName: string
  webIdentityToken?: string
  durationSeconds?: number
  policy?: string
  policyArns: string[]
  tags: SessionTag[]
  transitiveTagKeys: string[]
  externalId?: string
  sourceIdentity?: string
}

/** Which members an entry point takes; `policyMaxLength` is the Policy member's model maximum. */
export interface ParameterSpec {
  webIdentityToken?: boolean
  tags?: boolean
  externalId?: boolean
  sourceIdentity?: boolean
  mfa?: boolean
  policyMaxLength?: number
}

export const ASSUME_ROLE_PARAMETERS: ParameterSpec = {
  tags: true,
  externalId: true,
  sourceIdentity: true,
  mfa: true,
}
export const WEB_IDENTITY_PARAMETERS: ParameterSpec = {
  webIdentityToken: true,
  policyMaxLength: 2048,
}

/** Tag rules shared by AssumeRole's `Tags` and the web identity token's `principal_tags`. */
export function checkTagMembers(
  problems: ConstraintProblems,
  tags: readonly SessionTag[],
  member = 'tags',
): void {
  if (tags.length > 50) problems.tooMany(member, 50)
  tags.forEach((tag, i) => {
    const at = `${member}.${i + 1}.member`
    problems.length(tag.key, `${at}.key`, 1, 128)
    problems.pattern(tag.key, `${at}.key`, TAG_KEY_PATTERN, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+')
    problems.length(tag.value, `${at}.value`, 0, 256)
    problems.pattern(tag.value, `${at}.value`, TAG_VALUE_PATTERN, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*')
  })
}

export function checkSourceIdentityMember(
  problems: ConstraintProblems,
  value: string | undefined,
): void {
  problems.length(value, 'sourceIdentity', 2, 64)
  problems.pattern(value, 'sourceIdentity', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
}

/** `Policy`: at least one character (at most `maxLength`) of STS's pattern; the value is never echoed. */
export function checkPolicyMember(
  problems: ConstraintProblems,
  policy: string | undefined,
  maxLength: number | undefined,
): void {
  problems.length(policy, 'policy', 1, maxLength, false)
  problems.pattern(
    policy,
    'policy',
    POLICY_PATTERN,
    '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
    false,
  )
}

/** `PolicyArns`: at most 10, each 20–2048 characters. */
export function checkPolicyArnMembers(problems: ConstraintProblems, arns: readonly string[]): void {
  if (arns.length > 10) problems.tooMany('policyArns', 10)
  arns.forEach((arn, i) => problems.length(arn, `policyArns.${i + 1}.member.arn`, 20, 2048))
}

/**
 * Runs every member check of `spec` in STS's order, then the rules that follow a clean model check:
 * `SourceIdentity` must not start with `aws:` (STS API reference, AssumeRole, SourceIdentity).
 */
export function checkParameters(
  problems: ConstraintProblems,
  p: AssumeRoleParameters,
  spec: ParameterSpec,
): CheckedParameters {
  problems.required(p.roleArn, 'roleArn')
  problems.length(p.roleArn, 'roleArn', 20, 2048)
  problems.required(p.roleSessionName, 'roleSessionName')
  problems.length(p.roleSessionName, 'roleSessionName', 2, 64)
  problems.pattern(p.roleSessionName, 'roleSessionName', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
  if (spec.webIdentityToken === true) {
    problems.required(p.webIdentityToken, 'webIdentityToken')
    // SDKs send the token file verbatim; a trailing newline is not part of the JWT.
    problems.length(p.webIdentityToken?.trim(), 'webIdentityToken', 4, 20000, false)
  }
  const durationSeconds = problems.integer(p.durationSeconds, 'durationSeconds', 900, 43200)
  checkPolicyMember(problems, p.policy, spec.policyMaxLength)
  const policyArns = p.policyArns ?? []
  checkPolicyArnMembers(problems, policyArns)
  const tags = spec.tags === true ? (p.tags ?? []) : []
  const transitiveTagKeys = spec.tags === true ? (p.transitiveTagKeys ?? []) : []
  if (spec.tags === true) {
    checkTagMembers(problems, tags)
    if (transitiveTagKeys.length > 50) problems.tooMany('transitiveTagKeys', 50)
  }
  if (spec.externalId === true) {
    problems.length(p.externalId, 'externalId', 2, 1224)
    problems.pattern(p.externalId, 'externalId', EXTERNAL_ID_PATTERN, '[\\w+=,.@:\\/-]*')
  }
  if (spec.sourceIdentity === true) checkSourceIdentityMember(problems, p.sourceIdentity)
  if (spec.mfa === true) {
    problems.length(p.serialNumber, 'serialNumber', 9, 256)
    problems.length(p.tokenCode, 'tokenCode', 6, 6)
    problems.pattern(p.tokenCode, 'tokenCode', /^\d*$/, '[\\d]*')
  }
  problems.throwIfAny()
  const sourceIdentity = spec.sourceIdentity === true ? p.sourceIdentity : undefined
  if (sourceIdentity !== undefined) checkSourceIdentityPrefix(sourceIdentity)
  const webIdentityToken = p.webIdentityToken?.trim()
  return {
    roleArn: p.roleArn as string,
    roleSessionName: p.roleSessionName as string,
    policyArns,
    tags,
    transitiveTagKeys,
    ...(spec.webIdentityToken === true && webIdentityToken !== undefined
      ? { webIdentityToken }
      : {}),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(p.policy === undefined ? {} : { policy: p.policy }),
    ...(spec.externalId === true && p.externalId !== undefined ? { externalId: p.externalId } : {}),
    ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
  }
}

/** "You cannot use a value that begins with the text aws:" (STS API reference, SourceIdentity). */
export function checkSourceIdentityPrefix(sourceIdentity: string): void {
  if (sourceIdentity.toLowerCase().startsWith('aws:'))
    throw new AssumeRoleError(
      'INVALID_SOURCE_IDENTITY',
      'SourceIdentity cannot start with the prefix aws:',
    )
}
