/**
 * @module aws/eks/validate
 * Server-side validation of EKS request members. botocore only checks required members, types and minimums
 * before sending (parameter validation in botocore's `validate.py`, https://github.com/boto/botocore), so maxima and patterns are enforced here for every client.
 */
import { validatePolicy } from '../../policy/index.ts'
import { EksError } from './errors.ts'
import { parseRoleArn } from './ids.ts'

/** EKS cluster names: 1–100, `[0-9A-Za-z][A-Za-z0-9\-_]*` (eks-auth model `ClusterName`). */
export const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/

/** Kubernetes namespace: a DNS-1123 label. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
/** Kubernetes ServiceAccount name: a DNS-1123 subdomain. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function validateClusterName(name: string): void {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new EksError(
      'InvalidParameterException',
      `cluster name '${truncate(name)}' must be 1-100 characters of [A-Za-z0-9_-], starting with a letter or digit`,
    )
  }
}

export function validateNamespace(ns: unknown): string {
  if (typeof ns !== 'string' || ns.length === 0) {
    throw new EksError('InvalidParameterException', 'namespace is required')
  }
  if (!DNS1123_LABEL.test(ns)) {
    throw new EksError(
      'InvalidParameterException',
      `namespace '${truncate(ns)}' is not a valid Kubernetes namespace name (DNS-1123 label)`,
    )
  }
  return ns
}

export function validateServiceAccount(sa: unknown): string {
  if (typeof sa !== 'string' || sa.length === 0) {
    throw new EksError('InvalidParameterException', 'serviceAccount is required')
  }
  if (sa.length > 253 || !DNS1123_SUBDOMAIN.test(sa)) {
    throw new EksError(
      'InvalidParameterException',
      `serviceAccount '${truncate(sa)}' is not a valid Kubernetes service account name (DNS-1123 subdomain)`,
    )
  }
  return sa
}

/** A role ARN member: returns the parsed ARN or throws InvalidParameterException naming the member. */
export function validateRoleArn(
  member: string,
  value: unknown,
): { arn: string; accountId: string; roleName: string } {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EksError('InvalidParameterException', `${member} is required`)
  }
  const parsed = parseRoleArn(value)
  if (parsed === undefined) {
    throw new EksError(
      'InvalidParameterException',
      `${member} '${truncate(value)}' is not a valid IAM role ARN`,
    )
  }
  return { arn: value, accountId: parsed.accountId, roleName: parsed.roleName }
}

/**
 * A registered cluster's service-account issuer: an https URL (IAM accepts only https OIDC provider URLs)
 * without credentials, query or fragment. Returns it without trailing slashes.
 */
export function validateClusterIssuerUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new EksError('InvalidParameterException', `'${truncate(value)}' is not a URL`)
  }
  // The text itself, not only the parse: `https:host` and surrounding spaces parse as https URLs.
  if (url.protocol !== 'https:' || !/^https:\/\/\S+$/.test(value)) {
    throw new EksError('InvalidParameterException', `'${truncate(value)}' must be an https URL`)
  }
  // A bare `?` or `#` leaves search and hash empty: test the text too.
  if (url.username !== '' || url.password !== '' || /[?#]/.test(value)) {
    throw new EksError(
      'InvalidParameterException',
      `'${truncate(value)}' must be an https URL without credentials, query or fragment`,
    )
  }
  return value.replace(/\/+$/, '')
}

/** Model `TagMap`: 1–50 entries, key 1–128, value ≤ 256, and AWS reserves the `aws:` prefix. */
export function validateTags(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new EksError('InvalidParameterException', 'tags must be a map of strings')
  }
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length > 50) {
    throw new EksError('InvalidParameterException', 'tags must have at most 50 entries')
  }
  const out: Record<string, string> = {}
  for (const [k, v] of entries) {
    if (typeof v !== 'string') {
      throw new EksError(
        'InvalidParameterException',
        `tag '${truncate(k)}' must have a string value`,
      )
    }
    if (k.length < 1 || k.length > 128) {
      throw new EksError('InvalidParameterException', 'tag keys must be 1-128 characters')
    }
    if (v.length > 256) {
      throw new EksError(
        'InvalidParameterException',
        `tag '${truncate(k)}' value must be at most 256 characters`,
      )
    }
    if (k.toLowerCase().startsWith('aws:')) {
      throw new EksError(
        'InvalidParameterException',
        `tag key '${truncate(k)}' uses the reserved prefix 'aws:'`,
      )
    }
    out[k] = v
  }
  return out
}

/** The association `policy`: a JSON session policy of at most 2048 characters (the STS session-policy cap). */
export function validateSessionPolicyText(value: unknown): string {
  if (typeof value !== 'string') {
    throw new EksError('InvalidParameterException', 'policy must be a string')
  }
  if (value.length > 2048) {
    throw new EksError('InvalidParameterException', 'policy must be at most 2048 characters')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new EksError('InvalidParameterException', 'policy is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EksError('InvalidParameterException', 'policy must be a JSON object')
  }
  return value
}

/** The policy engine's save-time findings for a session policy (IAM's MalformedPolicyDocument messages). */
export function sessionPolicyErrors(document: string): string[] {
  return validatePolicy(document, { type: 'session' }).errors.map((e) => e.message)
}

/**
 * An association's `policy`, as EKS checks it on save: a JSON object of at most 2048 characters, then
 * `policyErrors` (the policy engine's session-policy checks; the API and the config both pass
 * `sessionPolicyErrors`). Throws InvalidParameterException.
 */
export function checkSessionPolicy(
  policy: string,
  policyErrors: ((document: string) => string[]) | undefined,
): string {
  validateSessionPolicyText(policy)
  const errors = policyErrors?.(policy) ?? []
  if (errors.length > 0) {
    throw new EksError('InvalidParameterException', `policy is invalid: ${errors.join('; ')}`)
  }
  return policy
}

export function optionalBoolean(member: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') {
    throw new EksError('InvalidParameterException', `${member} must be a boolean`)
  }
  return value
}

export function optionalString(member: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') {
    throw new EksError('InvalidParameterException', `${member} must be a string`)
  }
  return value
}

/** Echoes user input in messages without letting a huge value through. */
export function truncate(s: string): string {
  return s.length > 128 ? `${s.slice(0, 128)}…` : s
}
