/**
 * @module policy/authorize
 * Combines policy types into one decision, following the IAM User Guide's evaluation logic ("Policy evaluation
 * logic", "Cross-account policy evaluation logic", Organizations "RCP evaluation"):
 * explicit Deny anywhere → RCP levels → SCP levels → resource policy (same account) → identity → boundary →
 * session. The result is data, never an exception.
 */
import type { CompiledPolicy } from './compile.ts'
import { compilePolicy } from './compile.ts'
import { normalizeContext, type Context } from './context.ts'
import {
  explainMismatch,
  matchStatement,
  prepareResource,
  type PreparedRequest,
  type ResourcePattern,
} from './evaluate.ts'
import { isAwsOwnedResourceWrite, isKmsAliasRequest } from './services.ts'
import {
  MATCH_ACCOUNT,
  MATCH_DIRECT,
  MATCH_NONE,
  MATCH_ROLE,
  parsePrincipal,
  type MatchKind,
  type RequestPrincipal,
} from './principal.ts'
import type {
  AuthorizationRequestOf,
  AuthorizationResult,
  Blocker,
  Decision,
  StatementMismatch,
  StatementRef,
} from './types.ts'

/** One authorization request over compiled policies. */
export type AuthorizationRequest = AuthorizationRequestOf<CompiledPolicy>

/** AWS attaches RCPFullAWSAccess to every level and it cannot be detached (Organizations, "RCPs"). */
export const RCP_FULL_AWS_ACCESS = compilePolicy(
  { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  { id: 'RCPFullAWSAccess', type: 'rcp' },
)

interface SetResult {
  present: boolean
  allow: MatchKind
  deny: boolean
}

interface LevelsResult {
  present: boolean
  allAllow: boolean
  deny: boolean
}

interface Summary {
  anonymous: boolean
  /** An AWS service principal has no identity policies: only the resource policy can allow it. */
  service: boolean
  crossAccount: boolean
  gate: boolean
  /** kms:Create/Update/DeleteAlias on an alias: the alias (identity) and the key (key policy) must both allow. */
  kmsAlias: boolean
  /** GetFederationToken sessions have no permissions without a session policy. */
  needsSessionPolicy: boolean
  identity: SetResult
  resource: SetResult
  boundary: SetResult
  session: SetResult
  vpce: SetResult
  scp: LevelsResult
  rcp: LevelsResult
}

type Excluded = ReadonlySet<'identity' | 'resource' | Blocker>

const NONE: ReadonlySet<never> = new Set()
const ABSENT: SetResult = Object.freeze({ present: false, allow: MATCH_NONE, deny: false })
const GUARDRAILS = ['pb', 'scp', 'rcp', 'vpce'] as const

function evalSet(
  policies: readonly CompiledPolicy[] | undefined,
  req: PreparedRequest,
  matched: StatementRef[],
  seen: CompiledPolicy[],
): SetResult {
  // Absent policy types (most requests have no endpoint, boundary or session policy) share one empty result.
  if (policies === undefined || policies.length === 0) return ABSENT
  const out: SetResult = { present: true, allow: MATCH_NONE, deny: false }
  for (const p of policies) {
    seen.push(p)
    for (const s of p.statements) {
      const k = matchStatement(s, req)
      if (k === MATCH_NONE) continue
      matched.push(s.ref)
      if (s.deny) out.deny = true
      else if (k > out.allow) out.allow = k
    }
  }
  return out
}

function evalLevels(
  levels: AuthorizationRequest['serviceControlPolicies'],
  extra: CompiledPolicy | undefined,
  req: PreparedRequest,
  matched: StatementRef[],
  seen: CompiledPolicy[],
): LevelsResult {
  const out: LevelsResult = {
    present: levels !== undefined && levels.length > 0,
    allAllow: true,
    deny: false,
  }
  if (levels === undefined) return out
  for (const level of levels) {
    const policies = extra === undefined ? level.policies : [extra, ...level.policies]
    const r = evalSet(policies, req, matched, seen)
    if (r.deny) out.deny = true
    if (r.allow === MATCH_NONE) out.allAllow = false
  }
  return out
}

function decide(s: Summary, ex: Excluded): Decision {
  const pb = !ex.has('pb')
  const scp = !ex.has('scp') && !s.anonymous
  const rcp = !ex.has('rcp')
  const vpce = !ex.has('vpce')
  const identity = !ex.has('identity') && !s.anonymous
  const resource = !ex.has('resource')
  if (
    (identity && s.identity.deny) ||
    (resource && s.resource.deny) ||
    (!s.anonymous && s.session.deny) ||
    (pb && !s.anonymous && s.boundary.deny) ||
    (scp && s.scp.deny) ||
    (rcp && s.rcp.deny) ||
    (vpce && s.vpce.deny)
  ) {
    return 'ExplicitlyDenied'
  }
  // The endpoint policy must allow the request, anonymous ones included; it never grants by itself.
  if (vpce && s.vpce.present && s.vpce.allow === MATCH_NONE) return 'ImplicitlyDenied'
  if (rcp && s.rcp.present && !s.rcp.allAllow) return 'ImplicitlyDenied'
  if (scp && s.scp.present && !s.scp.allAllow) return 'ImplicitlyDenied'
  const identityOk = identity && s.identity.allow !== MATCH_NONE
  const boundaryOk = !pb || !s.boundary.present || s.boundary.allow !== MATCH_NONE
  const sessionOk = s.session.present ? s.session.allow !== MATCH_NONE : !s.needsSessionPolicy
  const kind = resource ? s.resource.allow : MATCH_NONE
  let allowed: boolean
  if (s.service) {
    allowed = kind !== MATCH_NONE
  } else if (s.kmsAlias) {
    // The alias needs an IAM permission; the key needs its key policy (naming the account delegates to the same
    // IAM policies). Aliases cannot be managed from another account.
    allowed = !s.crossAccount && identityOk && boundaryOk && sessionOk && kind !== MATCH_NONE
  } else if (s.crossAccount) {
    // Cross-account: both the resource policy and the principal's own policies must allow.
    allowed = kind !== MATCH_NONE && identityOk && boundaryOk && sessionOk
  } else if (kind === MATCH_DIRECT) {
    allowed = true
  } else if (kind === MATCH_ROLE && boundaryOk && sessionOk) {
    allowed = true
  } else if (s.gate && kind !== MATCH_ACCOUNT) {
    // Trust and key policies are the gate: naming only the account delegates to identity policies.
    allowed = false
  } else {
    allowed = identityOk && boundaryOk && sessionOk
  }
  return allowed ? 'Allowed' : 'ImplicitlyDenied'
}

const NEUTRAL: SetResult = { present: false, allow: MATCH_NONE, deny: false }

/**
 * Every guardrail and policy that turned an allowed request into a deny. The "core" decision is the one the
 * identity, resource and session policies reach without the guardrails, where a policy set that holds a matching
 * Deny grants nothing; when that core allows, each guardrail (boundary, SCP levels, RCP levels, endpoint policy)
 * that denies on its own is listed, and so are the identity and resource policies whose explicit Deny blocked it.
 */
function blame(s: Summary, decision: Decision): Blocker[] {
  if (decision === 'Allowed') return []
  const core: Summary = {
    ...s,
    identity: s.identity.deny ? NEUTRAL : s.identity,
    resource: s.resource.deny ? NEUTRAL : s.resource,
  }
  const allGuards = new Set<'identity' | 'resource' | Blocker>(GUARDRAILS)
  if (decide(core, allGuards) !== 'Allowed') return []
  const out: Blocker[] = []
  for (const g of GUARDRAILS) {
    const others = new Set<'identity' | 'resource' | Blocker>(GUARDRAILS.filter((x) => x !== g))
    if (decide(core, others) !== 'Allowed') out.push(g)
  }
  if (s.identity.deny && !s.anonymous) out.push('identity')
  if (s.resource.deny) out.push('resource')
  return out
}

const GET_CALLER_IDENTITY = 'sts:getcalleridentity'
const SERVICE_LINKED_ROLE_ARN = /^arn:[^:]+:iam::\d{12}:role\/aws-service-role\//

/**
 * Is the caller a service-linked role? A role session's ARN keeps only the role's name, so the role's ARN in
 * `aws:PrincipalArn` (its path included) decides when the caller supplies it; without it, the name's
 * `AWSServiceRoleFor` prefix does.
 */
function isServiceLinkedRole(p: RequestPrincipal, ctx: Context): boolean {
  if (p.kind !== 'session') return p.serviceLinkedRole
  const roleArn = ctx.get('aws:principalarn')
  return typeof roleArn === 'string' ? SERVICE_LINKED_ROLE_ARN.test(roleArn) : p.serviceLinkedRole
}

/**
 * Decides one request. Pure and total: bad input yields an ImplicitlyDenied result with `errors`.
 * @example
 * authorize({ principal: providerArn, action: 'sts:AssumeRoleWithWebIdentity', resource: roleArn,
 *   context: { [`${issuerHost}:sub`]: 'system:serviceaccount:ns:sa' }, identityPolicies: [],
 *   resourcePolicy: trust, resourcePolicyIsGate: true })
 */
export function authorize(request: AuthorizationRequest): AuthorizationResult {
  // The run-time entry point: the resource is one concrete ARN (or `*` for actions without resource-level
  // permissions), compared literally even when it holds `*` or `?`.
  return evaluateRequest(request, undefined)
}

/**
 * The shared decision procedure. `pattern` is set only by the simulator (simulate.ts) for a request resource that
 * names many resources; `authorize` never passes one, so a run-time request is always about one resource.
 */
export function evaluateRequest(
  request: AuthorizationRequest,
  pattern: ResourcePattern | undefined,
): AuthorizationResult {
  try {
    return authorizeUnchecked(request, pattern)
  } catch (err) {
    return {
      decision: 'ImplicitlyDenied',
      blockedBy: [],
      matched: [],
      unmatched: [],
      errors: [
        `request could not be evaluated: ${err instanceof Error ? err.message : String(err)}`,
      ],
    }
  }
}

function authorizeUnchecked(
  request: AuthorizationRequest,
  pattern?: ResourcePattern,
): AuthorizationResult {
  const action = String(request.action).toLowerCase()
  const resource = String(request.resource)
  const parsed = parsePrincipal(String(request.principal))
  // parsePrincipal's results are shared (memoised): the issuer goes on a copy.
  const principal =
    request.sessionIssuer !== undefined && parsed.kind === 'federatedUser'
      ? { ...parsed, issuer: String(request.sessionIssuer) }
      : parsed
  const boundaries = request.permissionBoundaries
  const req: PreparedRequest = {
    action,
    resource,
    resourceParts: prepareResource(resource),
    ctx: normalizeContext(request.context),
    principal,
    hasBoundary: boundaries !== undefined && boundaries.length > 0,
    pattern,
  }
  const matched: StatementRef[] = []
  const seen: CompiledPolicy[] = []
  // "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
  if (action === GET_CALLER_IDENTITY && principal.kind !== 'anonymous') {
    return result('Allowed', [], matched, seen, req)
  }
  const anonymous = principal.kind === 'anonymous'
  const resourceAccount = request.resourceAccount ?? principal.account
  const management = request.managementAccount
  // Only organization policies care; most requests carry none, so the check is skipped for them.
  const orgPolicies =
    (request.serviceControlPolicies?.length ?? 0) + (request.resourceControlPolicies?.length ?? 0) >
    0
  const serviceLinked = orgPolicies && isServiceLinkedRole(principal, req.ctx)
  // SCPs restrict the IAM principals of member accounts: not anonymous callers, service or web-identity principals,
  // service-linked roles, or the management account (Organizations User Guide, "Service control policies": "SCPs
  // don't affect … service-linked roles", "SCPs don't affect users or roles in the management account").
  const scpApplies =
    !anonymous &&
    principal.kind !== 'service' &&
    principal.kind !== 'provider' &&
    !serviceLinked &&
    (management === undefined || principal.account !== management)
  // RCPs restrict resources of member accounts, whoever calls, except actions by service-linked roles and resources
  // of the management account (Organizations User Guide, "Resource control policies", "Resources and entities not
  // restricted by RCPs"). Service principals stay restricted: AWS's RCP examples gate them with
  // aws:PrincipalIsAWSService.
  const rcpApplies = !serviceLinked && (management === undefined || resourceAccount !== management)
  const summary: Summary = {
    anonymous,
    service: principal.kind === 'service',
    crossAccount:
      principal.account !== undefined &&
      resourceAccount !== undefined &&
      principal.account !== resourceAccount,
    // A gate guards a named resource. Actions on `*` (kms:CreateKey, kms:ListKeys…) have no key policy to consult:
    // IAM policies alone decide them (AWS KMS Developer Guide, "IAM policies": "… not on a particular KMS key").
    gate: request.resourcePolicyIsGate === true && resource !== '*',
    kmsAlias: isKmsAliasRequest(action, resource),
    needsSessionPolicy: principal.kind === 'federatedUser',
    identity: evalSet(anonymous ? undefined : request.identityPolicies, req, matched, seen),
    resource: evalSet(
      request.resourcePolicy === undefined ? undefined : [request.resourcePolicy],
      req,
      matched,
      seen,
    ),
    boundary: evalSet(anonymous ? undefined : boundaries, req, matched, seen),
    session: evalSet(anonymous ? undefined : request.sessionPolicies, req, matched, seen),
    vpce: evalSet(request.endpointPolicies, req, matched, seen),
    scp: evalLevels(
      scpApplies ? request.serviceControlPolicies : undefined,
      undefined,
      req,
      matched,
      seen,
    ),
    rcp: evalLevels(
      rcpApplies ? request.resourceControlPolicies : undefined,
      RCP_FULL_AWS_ACCESS,
      req,
      matched,
      seen,
    ),
  }
  let decision = decide(summary, NONE)
  // AWS-owned IAM resources refuse writes whatever the policies allow (services.ts).
  if (decision === 'Allowed' && isAwsOwnedResourceWrite(action, resource))
    decision = 'ImplicitlyDenied'
  return result(decision, blame(summary, decision), matched, seen, req)
}

/**
 * The result object. `unmatched` (an explanation of every statement that did not apply) costs a second pass, so it
 * is computed on first access; `toJSON` includes it.
 */
class Result implements AuthorizationResult {
  readonly decision: Decision
  readonly blockedBy: Blocker[]
  readonly matched: StatementRef[]
  readonly errors: string[] = []
  #seen: CompiledPolicy[]
  #req: PreparedRequest
  #unmatched: StatementMismatch[] | undefined

  constructor(
    decision: Decision,
    blockedBy: Blocker[],
    matched: StatementRef[],
    seen: CompiledPolicy[],
    req: PreparedRequest,
  ) {
    this.decision = decision
    this.blockedBy = blockedBy
    this.matched = matched
    this.#seen = seen
    this.#req = req
  }

  get unmatched(): StatementMismatch[] {
    if (this.#unmatched === undefined) {
      const out: StatementMismatch[] = []
      for (const p of new Set(this.#seen)) {
        for (const s of p.statements) {
          const why = explainMismatch(s, this.#req)
          if (why !== undefined) out.push({ ...s.ref, ...why })
        }
      }
      this.#unmatched = out
    }
    return this.#unmatched
  }

  toJSON(): AuthorizationResult {
    return {
      decision: this.decision,
      blockedBy: this.blockedBy,
      matched: this.matched,
      unmatched: this.unmatched,
      errors: this.errors,
    }
  }
}

function result(
  decision: Decision,
  blockedBy: Blocker[],
  matched: StatementRef[],
  seen: CompiledPolicy[],
  req: PreparedRequest,
): AuthorizationResult {
  return new Result(decision, blockedBy, matched, seen, req)
}
