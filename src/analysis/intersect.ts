/**
 * @module analysis/intersect
 * Pattern questions over actions and resources ("can this principal do anything matching `iam:*` on anything
 * matching `arn:aws:s3:::b/*`?"): the engine's simulation mode answers for resource patterns; action patterns are
 * reduced to witnesses — for every Allow statement whose Action intersects the question's pattern, a concrete
 * action inside both (wildcards filled with a marker no real name uses) — each asked of the engine. Conditions
 * are evaluated with the context the caller passes; NotAction statements get the pattern's own witness.
 */
import type { PermissionOracle, PrincipalPolicies } from './oracle.ts'

const MARK = 'zzpodtrust'

/** Whether two `*`/`?` glob patterns can match a common string (DP over both patterns). */
export function globsIntersect(a: string, b: string, caseInsensitive = false): boolean {
  const x = caseInsensitive ? a.toLowerCase() : a
  const y = caseInsensitive ? b.toLowerCase() : b
  const memo = new Map<number, boolean>()
  const go = (i: number, j: number): boolean => {
    const key = i * (y.length + 1) + j
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    let r: boolean
    if (i === x.length && j === y.length) r = true
    else if (i < x.length && x[i] === '*')
      r =
        go(i + 1, j) ||
        (j < y.length && go(i, j + 1)) ||
        (j < y.length && y[j] === '*' && go(i + 1, j + 1))
    else if (j < y.length && y[j] === '*') r = go(i, j + 1) || (i < x.length && go(i + 1, j))
    else if (i < x.length && j < y.length && (x[i] === y[j] || x[i] === '?' || y[j] === '?'))
      r = go(i + 1, j + 1)
    else r = false
    memo.set(key, r)
    return r
  }
  return go(0, 0)
}

/** A concrete string matching both patterns (assumes they intersect); wildcards become a marker. */
export function witness(a: string, b: string, caseInsensitive = false): string | undefined {
  // Fill the more specific pattern's wildcards; check that it also matches the other.
  for (const p of [a, b]) {
    const candidate = p.replace(/\*/g, MARK).replace(/\?/g, 'z')
    if (
      globsIntersect(candidate, a, caseInsensitive) &&
      globsIntersect(candidate, b, caseInsensitive)
    )
      return candidate
  }
  return undefined
}

export function fill(pattern: string): string {
  return pattern.replace(/\*/g, MARK).replace(/\?/g, 'z')
}

/**
 * Whether the principal may perform some action matching `actionPattern` on some resource matching
 * `resourcePattern`: action witnesses from the statements whose Action intersects the pattern, each asked of the
 * engine's simulation mode with the resource pattern itself (Allow when the Resource patterns intersect; a Deny only
 * when it covers the whole pattern).
 */
export function allowsSome(
  oracle: PermissionOracle,
  principal: PrincipalPolicies,
  actionPattern: string,
  resourcePattern: string,
  context: Record<string, string | string[]> = {},
): { allowed: boolean; witness?: { action: string; resource: string } } {
  const actions = new Set([fill(actionPattern)])
  for (const policy of principal.identity) {
    for (const st of policy.model.statements) {
      if (st.effect !== 'Allow') continue
      for (const a of st.action ?? []) {
        if (!globsIntersect(a, actionPattern, true)) continue
        const w = witness(a, actionPattern, true)
        if (w !== undefined) actions.add(w)
      }
    }
  }
  for (const action of actions) {
    const result = oracle.simulate(principal, action, resourcePattern, context)
    if (result.decision === 'Allowed') {
      const statement = result.matched.find((m) => m.effect === 'Allow')
      return {
        allowed: true,
        witness: {
          action,
          resource: `${resourcePattern}${statement !== undefined ? ` (${statement.policyId} #${statement.index})` : ''}`,
        },
      }
    }
  }
  return { allowed: false }
}
