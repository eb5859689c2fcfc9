/**
 * @module policy/simulate
 * The simulator's entry point, for offline questions (`podtrust policy simulate`, IAM's SimulatePrincipalPolicy
 * and SimulateCustomPolicy, `scan`): "can this principal do X on `*`, or on `arn:aws:s3:::bucket/*`?". It is a
 * separate function with its own request type so that the run-time paths (STS, the gateway, IAM's own
 * authorization), which import `authorize`, can never ask a pattern question by accident.
 *
 * A request resource holding `*` or `?` names a set of resources. An Allow statement matches when its Resource
 * patterns could match one of them (the patterns intersect: `arn:aws:s3:::bucket/*` and
 * `arn:aws:s3:::bucket/logs/*`, or `*` and any ARN); a Deny matches only when it covers all of them, so a deny of
 * part of the set does not answer "no" for the whole set. NotResource inverts the relation: an Allow with
 * NotResource applies unless the excluded patterns cover the whole set, a Deny with NotResource only when the
 * excluded patterns miss it entirely. ARNs are compared segment by segment (IAM User Guide, "IAM JSON policy
 * elements: Resource": wildcards apply within a segment).
 *
 * For an action without resource-level permissions (Service Authorization Reference: resource type `*`), `*` is
 * the resource AWS itself evaluates and is matched literally, as at run time.
 */
import { evaluateRequest } from './authorize.ts'
import type { CompiledPolicy } from './compile.ts'
import { prepareResourcePattern } from './evaluate.ts'
import type { AuthorizationResult, SimulationRequestOf } from './types.ts'

/** A simulation question over compiled policies. */
export type SimulationRequest = SimulationRequestOf<CompiledPolicy>

/** Does the resource name several resources (a pattern) rather than one? */
export function isResourcePattern(resource: string): boolean {
  return resource.includes('*') || resource.includes('?')
}

/**
 * Answers a simulation question. Pure and total, like `authorize`.
 * @example
 * simulate({ principal: roleArn, action: 's3:GetObject', resource: 'arn:aws:s3:::data/*', context: {},
 *   identityPolicies: [compilePolicy(doc)] }).decision
 */
export function simulate(request: SimulationRequest): AuthorizationResult {
  const resource = String(request.resource)
  const pattern =
    request.wildcardOnlyAction !== true && isResourcePattern(resource)
      ? prepareResourcePattern(resource)
      : undefined
  return evaluateRequest(request, pattern)
}
