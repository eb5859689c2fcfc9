/**
 * @module aws/eks/authorize-caller
 * IAM authorization of a signed EKS / EKS Auth caller: its identity policies (user or role, inline and
 * attached), its session policies and its role's permissions boundary, through the policy engine with the
 * shared request context. Root is always allowed, as in AWS.
 */
import { createIamRepo } from '../iam/repo.ts'
import { buildRequestContext } from '../../identity/context.ts'
import type { Caller } from '../../identity/types.ts'
import { type CompiledPolicy, authorize } from '../../policy/index.ts'
import { compileCached } from './policy-cache.ts'
import type { AppContext } from '../../app/context.ts'

function compileAll(
  docs: { id: string; document: string }[],
  type: 'identity' | 'session' | 'boundary',
): CompiledPolicy[] {
  const out: CompiledPolicy[] = []
  for (const d of docs) {
    // A stored document that no longer parses grants nothing (IAM validated it at save time).
    const p = compileCached(d.id, d.document, type)
    if (p !== undefined) out.push(p)
  }
  return out
}

export async function authorizeCaller(
  ctx: AppContext,
  caller: Caller,
  action: string,
  resource: string,
  extra: Record<string, string | string[]> = {},
): Promise<boolean> {
  if (caller.type === 'Root') return true
  const iam = createIamRepo(ctx.db)
  let identity: { id: string; document: string }[] = []
  let boundary: { id: string; document: string }[] = []
  const sessionDocs: { id: string; document: string }[] = []
  if (caller.type === 'IAMUser') {
    identity = await iam.getUserPolicyDocuments(
      caller.accountId,
      caller.userName ?? caller.arn.split('/').pop() ?? '',
    )
    const user = await iam.getUserByArn(caller.arn)
    const b = user?.permissionsBoundaryArn
    if (b !== undefined) {
      const doc = await iam.getManagedPolicyDocument(b)
      boundary = doc === undefined ? [] : [{ id: b, document: doc }]
    }
  } else if (caller.session !== undefined) {
    const role = await iam.getRoleByArn(caller.session.roleArn)
    if (role === undefined) return false
    identity = await iam.getRolePolicyDocuments(role.accountId, role.roleName)
    if (role.permissionsBoundaryArn !== undefined) {
      const doc = await iam.getManagedPolicyDocument(role.permissionsBoundaryArn)
      boundary = doc === undefined ? [] : [{ id: role.permissionsBoundaryArn, document: doc }]
    }
    caller.session.sessionPolicies.forEach((d, i) =>
      sessionDocs.push({ id: `session/${i}`, document: d }),
    )
    for (const arn of caller.session.sessionPolicyArns) {
      const doc = await iam.getManagedPolicyDocument(arn)
      if (doc !== undefined) sessionDocs.push({ id: arn, document: doc })
    }
  }
  const hasSessionPolicies =
    caller.session !== undefined &&
    (caller.session.sessionPolicies.length > 0 || caller.session.sessionPolicyArns.length > 0)
  const result = authorize({
    principal: caller.arn,
    action,
    resource,
    context: buildRequestContext({
      now: ctx.now(),
      caller,
      secureTransport: ctx.settings.baseUrl.startsWith('https:'),
      region: ctx.settings.region,
      extra,
    }),
    identityPolicies: compileAll(identity, 'identity'),
    ...(boundary.length > 0 ? { permissionBoundaries: compileAll(boundary, 'boundary') } : {}),
    ...(hasSessionPolicies ? { sessionPolicies: compileAll(sessionDocs, 'session') } : {}),
  })
  return result.decision === 'Allowed'
}
