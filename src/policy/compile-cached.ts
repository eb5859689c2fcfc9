/**
 * @module policy/compile-cached
 * `compilePolicy` behind a bounded cache keyed by (type, id, document text): the run-time paths (STS, IAM,
 * EKS, EKS Auth) compile each stored document once. A changed document is a new key; when the cache is full
 * the oldest entry goes (entries are cheap to rebuild).
 *
 * Failure: a document that does not compile throws the `PolicyError` `compilePolicy` throws, every time (a
 * failure is not cached). The caller decides what a broken document means, and must fail closed: a trust
 * policy (a gate) that does not compile denies; an identity, boundary or session policy lets the error
 * propagate, because skipping a broken Deny, boundary or session policy would grant more, not less.
 */
import { compilePolicy, type CompiledPolicy } from './compile.ts'
import type { PolicyType } from './types.ts'

const CACHE_LIMIT = 2000
const compiled = new Map<string, CompiledPolicy>()

export function compileCached(
  document: string,
  options: { id: string; type: PolicyType },
): CompiledPolicy {
  const key = `${options.type}\u0000${options.id}\u0000${document}`
  const hit = compiled.get(key)
  if (hit !== undefined) return hit
  const policy = compilePolicy(document, options)
  if (compiled.size >= CACHE_LIMIT) {
    const oldest = compiled.keys().next().value
    if (oldest !== undefined) compiled.delete(oldest)
  }
  compiled.set(key, policy)
  return policy
}
