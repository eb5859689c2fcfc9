/**
 * @module aws/eks/policy-cache
 * Compiled policies keyed by (type, id, document text): EKS Auth's first-time-token path and the EKS API's
 * caller authorization compile each stored document once. A changed document is a new key; the map is
 * bounded by clearing, since entries are cheap to rebuild.
 */
import { type CompiledPolicy, type PolicyType, compilePolicy } from '../../policy/index.ts'

const MAX_ENTRIES = 2000
const cache = new Map<string, CompiledPolicy | null>()

/** The compiled policy, or undefined when the document does not parse (it then grants nothing). */
export function compileCached(
  id: string,
  document: string,
  type: PolicyType,
): CompiledPolicy | undefined {
  const key = `${type}\u0000${id}\u0000${document}`
  let hit = cache.get(key)
  if (hit === undefined) {
    try {
      hit = compilePolicy(document, { id, type })
    } catch {
      hit = null
    }
    if (cache.size >= MAX_ENTRIES) cache.clear()
    cache.set(key, hit)
  }
  return hit ?? undefined
}
