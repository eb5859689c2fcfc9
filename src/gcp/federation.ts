/**
 * @module gcp/federation
 * The pure core of workload identity federation: compiling a provider's attribute mapping and condition,
 * mapping a verified token's claims to `google.*` / `attribute.*`, evaluating the condition, and matching
 * the federated identity against IAM members (`principal://…/subject/S`, `principalSet://…/group/G`,
 * `principalSet://…/attribute.NAME/VALUE`, `principalSet://…/*`). Rules from
 * https://cloud.google.com/iam/docs/workload-identity-federation#mapping, #conditions and
 * https://cloud.google.com/iam/docs/principal-identifiers; docs/gcp.md describes them.
 */
import {
  asStrings,
  CelError,
  compile,
  evaluateCondition,
  typeName,
  type CelProgram,
  type CelValue,
} from './cel/index.ts'

export const MAX_MAPPING_EXPRESSION = 2048
export const MAX_CONDITION = 4096
export const MAX_CUSTOM_ATTRIBUTES = 50
export const MAX_SUBJECT_BYTES = 127
const MAX_ATTRIBUTE_NAME = 100
const MAX_MAPPED_BYTES = 8192

export interface CompiledProvider {
  mapping: { target: string; expr: CelProgram }[]
  condition: CelProgram | undefined
}

/** The federated identity a successful exchange produces. */
export interface FederatedIdentity {
  subject: string
  groups: string[]
  attributes: Record<string, string[]>
}

export interface PoolRef {
  projectNumber: string
  poolId: string
}

/**
 * Validates and compiles a provider's mapping and condition. Throws `CelError` with a message naming the
 * mapping key (`attributeMapping['attribute.ns']: …`) so config and API errors point at the field.
 */
export function compileProvider(
  attributeMapping: Readonly<Record<string, string>>,
  attributeCondition: string | undefined,
): CompiledProvider {
  const keys = Object.keys(attributeMapping)
  if (!keys.includes('google.subject')) {
    throw new CelError('CEL_UNSUPPORTED', "attributeMapping must map 'google.subject'")
  }
  let custom = 0
  const mapping = keys.map((target) => {
    if (target.startsWith('attribute.')) {
      custom += 1
      const name = target.slice('attribute.'.length)
      if (!/^[a-z0-9_]+$/.test(name) || name.length > MAX_ATTRIBUTE_NAME) {
        throw new CelError(
          'CEL_UNSUPPORTED',
          `attributeMapping key '${target}': custom attribute names use [a-z0-9_], at most ${MAX_ATTRIBUTE_NAME} characters`,
        )
      }
    } else if (target !== 'google.subject' && target !== 'google.groups') {
      throw new CelError(
        'CEL_UNSUPPORTED',
        `attributeMapping key '${target}' is not google.subject, google.groups or attribute.NAME`,
      )
    }
    const source = attributeMapping[target]!
    if (source.length > MAX_MAPPING_EXPRESSION) {
      throw new CelError(
        'CEL_SYNTAX',
        `attributeMapping['${target}'] is longer than ${MAX_MAPPING_EXPRESSION} characters`,
      )
    }
    try {
      return { target, expr: compile(source) }
    } catch (err) {
      throw prefixed(err, `attributeMapping['${target}']`)
    }
  })
  if (custom > MAX_CUSTOM_ATTRIBUTES) {
    throw new CelError('CEL_UNSUPPORTED', `at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes`)
  }
  let condition: CelProgram | undefined
  if (attributeCondition !== undefined && attributeCondition.trim() !== '') {
    if (attributeCondition.length > MAX_CONDITION) {
      throw new CelError(
        'CEL_SYNTAX',
        `attributeCondition is longer than ${MAX_CONDITION} characters`,
      )
    }
    try {
      condition = compile(attributeCondition)
    } catch (err) {
      throw prefixed(err, 'attributeCondition')
    }
  }
  return { mapping, condition }
}

function prefixed(err: unknown, where: string): unknown {
  if (err instanceof CelError) return new CelError(err.code, `${where}: ${err.message}`)
  return err
}

/** Why a mapping or a condition could not produce a decision; becomes an STS `invalid_grant`/`unauthorized_client`. */
export interface MappingFailure {
  ok: false
  reason:
    | 'mapping_failed'
    | 'subject_missing'
    | 'subject_too_long'
    | 'too_large'
    | 'condition_error'
    | 'condition_false'
  message: string
}

export type FederationResult = { ok: true; identity: FederatedIdentity } | MappingFailure

/**
 * Maps claims to the federated identity, then evaluates the condition over `assertion`, `google` and
 * `attribute`. A mapping expression that fails to evaluate (a missing claim) leaves that attribute unset,
 * as Google does, except `google.subject`, which must end up a non-empty string.
 */
export function federate(
  provider: CompiledProvider,
  claims: Record<string, unknown>,
): FederationResult {
  const assertion = toCel(claims)
  let subject: string | undefined
  let groups: string[] = []
  const attributes: Record<string, string[]> = {}
  let bytes = 0
  for (const { target, expr } of provider.mapping) {
    let value: CelValue
    try {
      value = expr.evaluate({ assertion })
    } catch (err) {
      if (target === 'google.subject') {
        return {
          ok: false,
          reason: 'mapping_failed',
          message: `The mapping for 'google.subject' failed to evaluate: ${(err as Error).message}`,
        }
      }
      continue
    }
    const strings = asStrings(value)
    if (strings === undefined) {
      return {
        ok: false,
        reason: 'mapping_failed',
        message: `The mapping for '${target}' must produce a string or a list of strings, not ${typeName(value)}`,
      }
    }
    bytes += strings.reduce((n, s) => n + Buffer.byteLength(s), 0)
    if (target === 'google.subject') {
      if (typeof value !== 'string') {
        return {
          ok: false,
          reason: 'mapping_failed',
          message: "'google.subject' must map to a string",
        }
      }
      subject = value
    } else if (target === 'google.groups') groups = strings
    else attributes[target.slice('attribute.'.length)] = strings
  }
  if (subject === undefined || subject === '') {
    return {
      ok: false,
      reason: 'subject_missing',
      message: "The mapped attribute 'google.subject' must not be empty.",
    }
  }
  if (Buffer.byteLength(subject) > MAX_SUBJECT_BYTES) {
    return {
      ok: false,
      reason: 'subject_too_long',
      message: `The mapped attribute 'google.subject' exceeds ${MAX_SUBJECT_BYTES} bytes.`,
    }
  }
  if (bytes > MAX_MAPPED_BYTES) {
    return { ok: false, reason: 'too_large', message: 'The mapped attributes exceed 8 KB.' }
  }
  const identity: FederatedIdentity = { subject, groups, attributes }
  if (provider.condition !== undefined) {
    const attribute: Record<string, string | string[]> = {}
    for (const [name, values] of Object.entries(attributes)) {
      attribute[name] = values.length === 1 ? values[0]! : values
    }
    let allowed: boolean
    try {
      allowed = evaluateCondition(provider.condition, {
        assertion,
        google: { subject, groups },
        attribute,
      })
    } catch {
      // Google treats a condition that errors like one that is false.
      return {
        ok: false,
        reason: 'condition_error',
        message: 'The given credential is rejected by the attribute condition.',
      }
    }
    if (!allowed) {
      return {
        ok: false,
        reason: 'condition_false',
        message: 'The given credential is rejected by the attribute condition.',
      }
    }
  }
  return { ok: true, identity }
}

/** A JSON value as CEL input: objects become Maps (so a claim named `__proto__` is just a key). */
export type ClaimValue = null | string | number | boolean | ClaimValue[] | Map<string, ClaimValue>

/** JSON claims → CEL input (drops `undefined`; numbers stay JSON numbers, which CEL reads as doubles). */
export function toCel(value: unknown): ClaimValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return value
  if (Array.isArray(value)) return value.map(toCel)
  if (typeof value === 'object') {
    const out = new Map<string, ClaimValue>()
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) out.set(k, toCel(v))
    }
    return out
  }
  return null
}

const IAM_HOST = 'iam.googleapis.com'

export function poolResourceName(pool: PoolRef): string {
  return `projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}`
}

/** The provider's full resource name, the default allowed audience: `//iam.googleapis.com/projects/N/…/providers/P`. */
export function providerAudience(pool: PoolRef, providerId: string): string {
  return `//${IAM_HOST}/${poolResourceName(pool)}/providers/${providerId}`
}

/** `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S`. */
export function principalIdentifier(pool: PoolRef, subject: string): string {
  return `principal://${IAM_HOST}/${poolResourceName(pool)}/subject/${subject}`
}

const AUDIENCE_PATTERN =
  /^(?:https:)?\/\/iam\.googleapis\.com\/projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/

/** Parses an STS `audience` into its project number, pool and provider; undefined when malformed. */
export function parseProviderAudience(
  audience: string,
): { projectNumber: string; poolId: string; providerId: string } | undefined {
  const match = AUDIENCE_PATTERN.exec(audience)
  if (match === null) return undefined
  return { projectNumber: match[1]!, poolId: match[2]!, providerId: match[3]! }
}

/**
 * Does IAM member `member` include the federated identity of `pool`? Members of other pools never match.
 * Values after `subject/`, `group/` and `attribute.NAME/` compare exactly (case-sensitive).
 */
export function memberMatches(member: string, pool: PoolRef, identity: FederatedIdentity): boolean {
  const poolPrefix = `${IAM_HOST}/${poolResourceName(pool)}/`
  if (member.startsWith('principal://')) {
    const rest = member.slice('principal://'.length)
    return rest === `${poolPrefix}subject/${identity.subject}`
  }
  if (!member.startsWith('principalSet://')) return false
  const rest = member.slice('principalSet://'.length)
  if (!rest.startsWith(poolPrefix)) return false
  const selector = rest.slice(poolPrefix.length)
  if (selector === '*') return true
  if (selector.startsWith('group/'))
    return identity.groups.includes(selector.slice('group/'.length))
  const attribute = /^attribute\.([a-z0-9_]+)\/(.+)$/.exec(selector)
  if (attribute === null) return false
  return identity.attributes[attribute[1]!]?.includes(attribute[2]!) ?? false
}

/** Syntax check of a binding member, for config and setIamPolicy validation. */
export function isValidMember(member: string): boolean {
  if (/^(user|serviceAccount|group|domain):.+/.test(member)) return true
  const m =
    /^(principal|principalSet):\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/(.+)$/.exec(
      member,
    )
  if (m === null) return false
  const selector = m[2]!
  if (m[1] === 'principal') return /^subject\/.+/.test(selector)
  return (
    selector === '*' || /^group\/.+/.test(selector) || /^attribute\.[a-z0-9_]+\/.+/.test(selector)
  )
}
