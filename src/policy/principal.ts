/**
 * @module policy/principal
 * Request principals and Principal-element matching (IAM User Guide, "AWS JSON policy elements: Principal").
 * A role ARN matches the role and every session of it; `arn:aws:iam::A:root` or `A` names the account
 * (delegation to its identity policies); session, user, federated and service principals match exactly.
 */

export type PrincipalKind =
  | 'anonymous'
  | 'root'
  | 'user'
  | 'role'
  | 'session'
  | 'federatedUser'
  | 'provider'
  | 'service'
  | 'other'

export interface RequestPrincipal {
  raw: string
  kind: PrincipalKind
  account: string | undefined
  /** For roles and role sessions: the role name (last path segment). */
  roleName: string | undefined
  /**
   * A service-linked role or one of its sessions: the role lives under `/aws-service-role/`, and its name (the only
   * part a session ARN keeps) starts with `AWSServiceRoleFor` (IAM User Guide, "Using service-linked roles").
   */
  serviceLinkedRole: boolean
  /**
   * For a federated user session (GetFederationToken): the ARN of the IAM user who federated. The session's own
   * ARN does not name that user, so the request carries it (`AuthorizationRequest.sessionIssuer`).
   */
  issuer?: string
}

/** The principal of an unauthenticated request. */
export const ANONYMOUS = 'anonymous'

const ACCOUNT = /^\d{12}$/

const cache = new Map<string, RequestPrincipal>()
const CACHE_SIZE = 4096

/** Parses a request principal; results are memoised (bounded) because the gateway sees few distinct callers. */
export function parsePrincipal(raw: string): RequestPrincipal {
  const hit = cache.get(raw)
  if (hit !== undefined) return hit
  const parsed = parsePrincipalUncached(raw)
  if (cache.size >= CACHE_SIZE) cache.clear()
  cache.set(raw, parsed)
  return parsed
}

/** A principal that is neither a role nor a role session. */
function plain(raw: string, kind: PrincipalKind, account?: string): RequestPrincipal {
  return { raw, kind, account, roleName: undefined, serviceLinkedRole: false }
}

function parsePrincipalUncached(raw: string): RequestPrincipal {
  if (raw === ANONYMOUS || raw === '*' || raw === '') return plain(raw, 'anonymous')
  if (ACCOUNT.test(raw)) return plain(raw, 'root', raw)
  if (!raw.startsWith('arn:')) return plain(raw, 'service')
  const parts = raw.split(':')
  const service = parts[2] ?? ''
  const account = parts[4] === undefined || parts[4] === '' ? undefined : parts[4]
  const resource = parts.slice(5).join(':')
  let kind: PrincipalKind = 'other'
  let roleName: string | undefined
  let serviceLinkedRole = false
  if (service === 'iam') {
    if (resource === 'root') kind = 'root'
    else if (resource.startsWith('user/')) kind = 'user'
    else if (resource.startsWith('role/')) {
      kind = 'role'
      roleName = resource.slice(resource.lastIndexOf('/') + 1)
      serviceLinkedRole = resource.startsWith('role/aws-service-role/')
    } else if (resource.startsWith('oidc-provider/') || resource.startsWith('saml-provider/')) {
      kind = 'provider'
    }
  } else if (service === 'sts') {
    if (resource.startsWith('assumed-role/')) {
      kind = 'session'
      roleName = resource.split('/')[1]
      serviceLinkedRole = roleName?.startsWith(SERVICE_LINKED_ROLE_PREFIX) === true
    } else if (resource.startsWith('federated-user/')) kind = 'federatedUser'
  }
  return { raw, kind, account, roleName, serviceLinkedRole }
}

const SERVICE_LINKED_ROLE_PREFIX = 'AWSServiceRoleFor'

/**
 * How a resource-policy statement named the principal: decides which implicit denies still apply (IAM User
 * Guide, "Policy evaluation logic", resource-based policies:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 */
export const MATCH_NONE = 0
/** The account (`A` or `arn:aws:iam::A:root`): delegates to the account's identity policies. */
export const MATCH_ACCOUNT = 1
/**
 * The role ARN, for the role or one of its sessions, or the IAM user ARN for a federated user session of that user:
 * still limited by boundary and session policies.
 */
export const MATCH_ROLE = 2
/** `*`, a user, session, federated, service principal: grants by itself in the same account. */
export const MATCH_DIRECT = 3
export type MatchKind = 0 | 1 | 2 | 3

type AwsPattern =
  | { kind: 'any' }
  | { kind: 'account'; account: string }
  | { kind: 'role'; arn: string; account: string; roleName: string }
  | { kind: 'exact'; arn: string }

export interface PrincipalMatcher {
  wildcard: boolean
  aws: AwsPattern[]
  exact: Set<string>
}

export interface PrincipalSpec {
  wildcard: boolean
  aws: string[]
  federated: string[]
  service: string[]
  canonicalUser: string[]
}

function awsPattern(value: string): AwsPattern {
  if (value === '*') return { kind: 'any' }
  if (ACCOUNT.test(value)) return { kind: 'account', account: value }
  const p = parsePrincipal(value)
  if (p.kind === 'root' && p.account !== undefined) return { kind: 'account', account: p.account }
  if (p.kind === 'role' && p.account !== undefined && p.roleName !== undefined) {
    return { kind: 'role', arn: value, account: p.account, roleName: p.roleName }
  }
  return { kind: 'exact', arn: value }
}

export function compilePrincipal(spec: PrincipalSpec): PrincipalMatcher {
  return {
    wildcard: spec.wildcard,
    aws: spec.aws.map(awsPattern),
    exact: new Set([...spec.federated, ...spec.service, ...spec.canonicalUser]),
  }
}

export function matchPrincipal(m: PrincipalMatcher, p: RequestPrincipal): MatchKind {
  if (m.wildcard) return MATCH_DIRECT
  let best: MatchKind = MATCH_NONE
  for (const a of m.aws) {
    switch (a.kind) {
      case 'any':
        return MATCH_DIRECT
      case 'exact':
        if (a.arn === p.raw) return MATCH_DIRECT
        // "If a resource-based policy grants permission to the ARN of the IAM user who federated, then requests made
        // by the federated user during the session are limited by an implicit deny in a permission boundary or
        // session policy" (IAM User Guide, "How AWS enforcement code logic evaluates requests to allow or deny
        // access": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html).
        if (p.kind === 'federatedUser' && p.issuer === a.arn && best < MATCH_ROLE) best = MATCH_ROLE
        break
      case 'role':
        if (
          (p.kind === 'role' && p.raw === a.arn) ||
          (p.kind === 'session' && p.account === a.account && p.roleName === a.roleName)
        ) {
          if (best < MATCH_ROLE) best = MATCH_ROLE
        }
        break
      case 'account':
        if (p.account === a.account && p.kind !== 'anonymous' && p.kind !== 'service') {
          if (best < MATCH_ACCOUNT) best = MATCH_ACCOUNT
        }
        break
    }
  }
  if (best === MATCH_NONE && m.exact.has(p.raw)) return MATCH_DIRECT
  return best
}

/**
 * Does a NotPrincipal element list this principal itself? Unlike Principal, NotPrincipal names principals exactly:
 * the account ARN names the account (its root user), not every principal in it, and a role ARN names the role, not
 * its sessions. The IAM User Guide ("NotPrincipal") lists a user *and* its account, or a session, its role *and* its
 * account, to spare only that user or that session ("all principals except the user named Bob … are explicitly
 * denied"; "you cannot use a wildcard (*) to mean all sessions").
 */
export function listedExactly(m: PrincipalMatcher, p: RequestPrincipal): boolean {
  if (m.wildcard) return true
  for (const a of m.aws) {
    switch (a.kind) {
      case 'any':
        return true
      case 'exact':
      case 'role':
        if (a.arn === p.raw) return true
        break
      case 'account':
        if (p.kind === 'root' && p.account === a.account) return true
        break
    }
  }
  return m.exact.has(p.raw)
}
