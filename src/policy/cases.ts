/**
 * @module policy/cases
 * The engine-cases request format of the conformance corpus (../shared/conformance/iam-policy/README): one case
 * object → an AuthorizationRequest, applying the harness defaults (RCPFullAWSAccess per RCP level, corpus policies
 * evaluated as Version 2012-10-17, trust and KMS key policies as gates). Used by the conformance runner and by
 * `podtrust policy simulate --request`.
 */
import { compilePolicy, type CompiledPolicy } from './compile.ts'
import { PolicyError } from './errors.ts'
import { ANONYMOUS } from './principal.ts'
import type { AuthorizationRequest } from './authorize.ts'
import type { SimulationRequest } from './simulate.ts'
import type { PolicyType } from './types.ts'

export interface EngineCase {
  name?: string
  request: {
    action: string
    principal: string | { type: string }
    resource: { resource: string; accountId?: string }
    context?: Record<string, string | string[]>
    wildcardOnlyAction?: boolean
  }
  identityPolicies?: unknown[]
  sessionPolicy?: unknown
  permissionBoundaries?: unknown[]
  serviceControlPolicies?: { orgIdentifier: string; policies: unknown[] }[]
  resourceControlPolicies?: { orgIdentifier: string; policies: unknown[] }[]
  resourcePolicy?: unknown
  endpointPolicies?: unknown[]
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function bad(message: string): never {
  throw new PolicyError('INVALID_POLICY', message)
}

/**
 * Role trust policies and KMS key policies must allow by themselves (IAM User Guide, evaluation logic). Every STS
 * action on a role (AssumeRole*, TagSession, SetSourceIdentity, SetContext) is decided by the role's trust policy;
 * an STS action with no resource policy (GetFederationToken, GetSessionToken) by identity policies alone.
 */
export function isGateAction(action: string, hasResourcePolicy = true): boolean {
  const a = action.toLowerCase()
  return (a.startsWith('sts:') && hasResourcePolicy) || a.startsWith('kms:')
}

/** Checks the shape of a case object; throws PolicyError naming the first problem. */
export function parseEngineCase(value: unknown): EngineCase {
  if (!isObject(value)) bad('the request file must hold one case object')
  const request = value['request']
  if (!isObject(request)) bad('`request` must be an object')
  if (typeof request['action'] !== 'string') bad('`request.action` must be a string')
  const principal = request['principal']
  if (typeof principal !== 'string' && !isObject(principal))
    bad('`request.principal` must be a string or object')
  const resource = request['resource']
  if (!isObject(resource) || typeof resource['resource'] !== 'string') {
    bad('`request.resource.resource` must be a string')
  }
  const context = request['context']
  if (context !== undefined) {
    if (!isObject(context)) bad('`request.context` must be an object')
    for (const [k, v] of Object.entries(context)) {
      if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
        bad(`\`request.context.${k}\` must be a string or an array of strings`)
      }
    }
  }
  for (const key of ['identityPolicies', 'permissionBoundaries', 'endpointPolicies'] as const) {
    if (value[key] !== undefined && !Array.isArray(value[key])) bad(`\`${key}\` must be an array`)
  }
  for (const key of ['serviceControlPolicies', 'resourceControlPolicies'] as const) {
    const levels = value[key]
    if (levels === undefined) continue
    if (!Array.isArray(levels)) bad(`\`${key}\` must be an array of levels`)
    for (const l of levels) {
      if (!isObject(l) || !Array.isArray(l['policies']))
        bad(`each \`${key}\` level needs a \`policies\` array`)
    }
  }
  return value as unknown as EngineCase
}

/** Builds the request; `assumeVersion` defaults to the corpus' 2012-10-17 (its README explains why). */
export function engineCaseRequest(
  c: EngineCase,
  options: { assumeVersion?: '2012-10-17' | '2008-10-17' | 'document' } = {},
): AuthorizationRequest {
  const assume = options.assumeVersion ?? '2012-10-17'
  const compile = (doc: unknown, id: string, type: PolicyType): CompiledPolicy =>
    compilePolicy(doc as object, {
      id,
      type,
      ...(assume === 'document' ? {} : { assumeVersion: assume }),
    })
  const r = c.request
  const principal =
    typeof r.principal === 'string'
      ? r.principal
      : r.principal.type === 'Anonymous'
        ? ANONYMOUS
        : bad('unknown principal object')
  const resourcePolicyIsGate = isGateAction(r.action, c.resourcePolicy !== undefined)
  return {
    principal,
    action: r.action,
    resource: r.resource.resource,
    ...(r.resource.accountId === undefined ? {} : { resourceAccount: r.resource.accountId }),
    context: r.context ?? {},
    identityPolicies: (c.identityPolicies ?? []).map((p, i) => compile(p, String(i), 'identity')),
    ...(c.resourcePolicy === undefined
      ? {}
      : {
          resourcePolicy: compile(
            c.resourcePolicy,
            'ResourcePolicy',
            r.action.toLowerCase().startsWith('sts:') ? 'trust' : 'resource',
          ),
        }),
    resourcePolicyIsGate,
    permissionBoundaries: (c.permissionBoundaries ?? []).map((p, i) =>
      compile(p, String(i), 'boundary'),
    ),
    ...(c.sessionPolicy === undefined
      ? {}
      : { sessionPolicies: [compile(c.sessionPolicy, 'SessionPolicy', 'session')] }),
    ...(c.endpointPolicies === undefined
      ? {}
      : { endpointPolicies: c.endpointPolicies.map((p, i) => compile(p, String(i), 'vpce')) }),
    ...(c.serviceControlPolicies === undefined
      ? {}
      : {
          serviceControlPolicies: c.serviceControlPolicies.map((l) => ({
            orgIdentifier: l.orgIdentifier,
            policies: l.policies.map((p, i) => compile(p, String(i), 'scp')),
          })),
        }),
    ...(c.resourceControlPolicies === undefined
      ? {}
      : {
          resourceControlPolicies: c.resourceControlPolicies.map((l, level) => ({
            orgIdentifier: l.orgIdentifier,
            policies: l.policies.map((p) => compile(p, String(level), 'rcp')),
          })),
        }),
  }
}

/**
 * The case as a simulation question (the corpus' cases are an analyzer's questions: a request resource may be a
 * pattern, and `wildcardOnlyAction` says when `*` is the literal resource). Used by the conformance runner and
 * `podtrust policy simulate --request`.
 */
export function engineCaseSimulation(
  c: EngineCase,
  options: { assumeVersion?: '2012-10-17' | '2008-10-17' | 'document' } = {},
): SimulationRequest {
  return {
    ...engineCaseRequest(c, options),
    ...(c.request.wildcardOnlyAction === true ? { wildcardOnlyAction: true } : {}),
  }
}
