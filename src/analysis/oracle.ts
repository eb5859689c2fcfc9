/**
 * @module analysis/oracle
 * The scan's questions to the policy engine, behind one small interface so the engine's simulation mode (requests
 * on `*` or pattern resources, wildcard intersection) can replace the stand-in here without touching the checks.
 *
 * Stand-in for "allowed on any resource": the request names the resource `*`. The engine matches a request
 * resource as a concrete string, so only statements with `Resource: "*"` (or a `NotResource` not listing `*`)
 * apply — cloudsplaining's "without resource constraints" — while identity ∩ boundary, explicit Deny and
 * conditions (absent keys fail, as with no request context) are judged by the engine itself. Resource patterns
 * that are nearly `*` (`arn:aws:iam::*:role/*`) are checked by the callers that care (PERM-006).
 */
import { authorize, type AuthorizationResult, type CompiledPolicy } from '../policy/index.ts'

/** A principal's permission policies, already resolved from GAAD (inline + attached default versions + groups). */
export interface PrincipalPolicies {
  arn: string
  identity: CompiledPolicy[]
  boundary?: CompiledPolicy | undefined
}

export interface PermissionOracle {
  /** Allowed without resource constraint and without conditions (no request context). */
  allowsOnAnyResource(principal: PrincipalPolicies, action: string): boolean
  /** One concrete request (identity ∩ boundary, minus Deny). */
  decide(
    principal: PrincipalPolicies,
    action: string,
    resource: string,
    context?: Record<string, string | string[]>,
  ): AuthorizationResult
}

export function engineOracle(): PermissionOracle {
  const cache = new Map<string, boolean>()
  return {
    allowsOnAnyResource(principal, action) {
      const key = `${principal.arn}\u0000${action.toLowerCase()}`
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      const result = authorize({
        principal: principal.arn,
        action,
        resource: '*',
        context: {},
        identityPolicies: principal.identity,
        ...(principal.boundary !== undefined ? { permissionBoundaries: [principal.boundary] } : {}),
      })
      const allowed = result.decision === 'Allowed'
      if (cache.size > 1_000_000) cache.clear()
      cache.set(key, allowed)
      return allowed
    },
    decide(principal, action, resource, context = {}) {
      return authorize({
        principal: principal.arn,
        action,
        resource,
        context,
        identityPolicies: principal.identity,
        ...(principal.boundary !== undefined ? { permissionBoundaries: [principal.boundary] } : {}),
      })
    },
  }
}
