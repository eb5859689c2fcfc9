/**
 * @module analysis/checks/resource-scope
 * PERM-003: actions that change things (access level not List/Read) granted on `Resource: "*"` although the action
 * supports resource-level permissions, so the grant could name resources — cloudsplaining's
 * "missing resource constraints for modify actions", plus the data reads it always includes (`s3:GetObject`,
 * `ssm:GetParameter*`, `secretsmanager:GetSecretValue`, `rds:CopyDBSnapshot`, `rds:CreateDBSnapshot`). Candidates
 * come from the unconditioned `Resource: "*"` statements, expanded with the IAM action data; the engine then decides
 * each one for the principal (boundary, explicit Deny), so a grant taken back is not reported.
 */
import { finding, type ScanContext } from '../context.ts'
import type { IamRole, IamUser, ScanFinding } from '../model.ts'
import { describe, EXFIL_ACTIONS, isAdmin, objectsOf } from './permissions.ts'

const READ_LEVELS = new Set(['list', 'read'])
const ALWAYS_INCLUDED = new Set(EXFIL_ACTIONS.map((a) => a.toLowerCase()))
/** More than this many actions, or several services, is "in aggregate" (medium). */
const AGGREGATE_ACTIONS = 10
const SHOWN = 8

export function checkResourceScope(ctx: ScanContext): ScanFinding[] {
  const catalog = ctx.options.actionCatalog
  if (catalog === undefined) return []
  const out: ScanFinding[] = []
  const byPolicySet = new Map<string, string[]>()
  for (const principal of ctx.auditedPrincipals()) {
    const p = ctx.policiesOf(principal)
    if (p.identity.length === 0 || isAdmin(ctx, principal)) continue
    const key = `${p.identity.map((c) => c.id).join('\u0000')}\u0001${p.boundary?.id ?? ''}`
    let actions = byPolicySet.get(key)
    if (actions === undefined) {
      actions = unscopedActions(ctx, principal)
      byPolicySet.set(key, actions)
    }
    if (actions.length === 0) continue
    const services = new Set(actions.map((a) => a.slice(0, a.indexOf(':'))))
    const shown = actions.slice(0, SHOWN).join(', ')
    out.push(
      finding(
        'PERM-003',
        actions.length > AGGREGATE_ACTIONS || services.size > 2 ? 'medium' : 'low',
        objectsOf(ctx, principal),
        `${describe(ctx, principal)} may ${actions.length} action(s) that support resource-level permissions on any resource: ${shown}${actions.length > SHOWN ? `, and ${actions.length - SHOWN} more` : ''}`,
        'name the resource ARNs in Resource (these actions accept them), or add conditions',
      ),
    )
  }
  return out
}

function unscopedActions(ctx: ScanContext, principal: IamRole | IamUser): string[] {
  const catalog = ctx.options.actionCatalog!
  const p = ctx.policiesOf(principal)
  const candidates = new Set<string>()
  for (const policy of p.identity)
    for (const st of policy.model.statements) {
      if (st.effect !== 'Allow' || st.conditions.length > 0) continue
      if (st.action === undefined || st.resource?.includes('*') !== true) continue
      for (const pattern of st.action)
        for (const info of catalog.expand(pattern))
          if (
            !info.wildcardOnly &&
            (!READ_LEVELS.has(info.accessLevel.toLowerCase()) ||
              ALWAYS_INCLUDED.has(info.action.toLowerCase()))
          )
            candidates.add(info.action)
    }
  return [...candidates].filter((a) => ctx.oracle.allowsOnAnyResource(p, a)).sort()
}
