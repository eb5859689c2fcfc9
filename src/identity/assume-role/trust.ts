/**
 * @module identity/assume-role/trust
 * Trust authorization: the policy engine over the role's trust policy (a gate: the role's account must
 * allow the principal) with the request context, once per action the request needs — `sts:AssumeRole` (or
 * `sts:AssumeRoleWithWebIdentity`), plus `sts:TagSession` when the session gets tags and
 * `sts:SetSourceIdentity` when the request sets a source identity (IAM User Guide, "Permissions required
 * to tag sessions": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required,
 * and "Policy evaluation logic": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 * For a signed caller its own identity policies, boundary and session policies take part too.
 */
import { authorize, type AuthorizationResult, type CompiledPolicy } from '../../policy/index.ts'
import { compileCached } from '../../policy/compile-cached.ts'
import type { RequestContext } from '../context.ts'
import { AssumeRoleError } from './errors.ts'

/** The actions one request is authorized for, in the order STS checks them. */
export function trustActions(
  base: string,
  input: { tagging: boolean; setsSourceIdentity: boolean },
): string[] {
  const actions = [base]
  if (input.tagging) actions.push('sts:TagSession')
  if (input.setsSourceIdentity) actions.push('sts:SetSourceIdentity')
  return actions
}

/** The role's trust policy, compiled; undefined (deny) when the stored document does not compile. */
export function compileTrustPolicy(role: {
  arn: string
  assumeRolePolicyDocument: string
}): CompiledPolicy | undefined {
  try {
    return compileCached(role.assumeRolePolicyDocument, { id: `${role.arn}/trust`, type: 'trust' })
  } catch {
    return undefined
  }
}

/** The principal's own policies (a signed caller); a service or web identity principal has none. */
export interface PrincipalPolicies {
  identityPolicies: CompiledPolicy[]
  permissionBoundaries?: CompiledPolicy[]
  sessionPolicies?: CompiledPolicy[] | undefined
}

export interface TrustRequest {
  /** ARN, or a service principal such as `pods.eks.amazonaws.com`. */
  principal: string
  policies?: PrincipalPolicies
  resource: string
  resourceAccount: string
  trust: CompiledPolicy | undefined
  context: RequestContext
}

export function evaluateTrust(request: TrustRequest, action: string): AuthorizationResult {
  const p = request.policies
  return authorize({
    principal: request.principal,
    action,
    resource: request.resource,
    resourceAccount: request.resourceAccount,
    context: request.context,
    identityPolicies: p?.identityPolicies ?? [],
    resourcePolicyIsGate: true,
    ...(request.trust === undefined ? {} : { resourcePolicy: request.trust }),
    ...(p?.permissionBoundaries !== undefined && p.permissionBoundaries.length > 0
      ? { permissionBoundaries: p.permissionBoundaries }
      : {}),
    ...(p?.sessionPolicies === undefined ? {} : { sessionPolicies: p.sessionPolicies }),
  })
}

/** Every action must be allowed, and a trust policy must exist; the first denial throws `TRUST_DENIED`. */
export function authorizeTrust(request: TrustRequest, actions: readonly string[]): void {
  for (const action of actions) {
    const result = evaluateTrust(request, action)
    if (request.trust === undefined || result.decision !== 'Allowed') {
      throw new AssumeRoleError(
        'TRUST_DENIED',
        `${request.principal} is not authorized to perform: ${action} on resource: ${request.resource}`,
        {
          denial: {
            principal: request.principal,
            action,
            resource: request.resource,
            result,
            context: request.context,
          },
        },
      )
    }
  }
}
