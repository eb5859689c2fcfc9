/**
 * @module analysis/oracle
 * The scan's questions to the policy engine, behind one small interface. Pattern questions ("on some resource
 * matching `arn:aws:s3:::b/*`") use the engine's simulation mode (`simulate`, wildcard intersection).
 *
 * "Allowed on any resource" (unrestricted) is deliberately not a simulation: the request names the resource `*`
 * through `authorize`, where it is matched literally. The engine matches a request
 * resource as a concrete string, so only statements with `Resource: "*"` (or a `NotResource` not listing `*`)
 * apply — cloudsplaining's "without resource constraints" — while identity ∩ boundary, explicit Deny and
 * conditions (absent keys fail, as with no request context) are judged by the engine itself. Resource patterns
 * that are nearly `*` (`arn:aws:iam::*:role/*`) are checked by the callers that care (PERM-006).
 */
import { authorize, simulate, type AuthorizationResult, type CompiledPolicy } from '../policy/index.ts'

/** A principal's permission policies, already resolved from GAAD (inline + attached default versions + groups). */
export interface PrincipalPolicies {
  arn: string
  identity: CompiledPolicy[]
  boundary?: CompiledPolicy | undefined
}

export interface PermissionOracle {
  /** Allowed without resource constraint and without conditions (no request context). */
  allowsOnAnyResource(principal: PrincipalPolicies, action: string): boolean
  /**
   * A pattern question, with the engine's simulation mode: may the principal perform `action` on some resource the
   * pattern names (an Allow whose Resource intersects it, unless a Deny covers the whole pattern)?
   */
  simulate(
    principal: PrincipalPolicies,
    action: string,
    resourcePattern: string,
    context?: Record<string, string | string[]>,
  ): AuthorizationResult
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
    simulate(principal, action, resourcePattern, context = {}) {
      return simulate({
        principal: principal.arn,
        action,
        resource: resourcePattern,
        context,
        identityPolicies: principal.identity,
        ...(principal.boundary !== undefined ? { permissionBoundaries: [principal.boundary] } : {}),
      })
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
