/**
 * @module analysis/checks/util
 * Small helpers the checks share for reading statements (which statements to look at); decisions themselves come
 * from the policy engine.
 */
import type { StatementModel } from '../../policy/index.ts'

/** IAM action glob (case-insensitive, `*` and `?`). */
export function actionGlob(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase()
  const a = action.toLowerCase()
  let pi = 0
  let ai = 0
  let star = -1
  let mark = 0
  while (ai < a.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === a[ai])) {
      pi++
      ai++
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++
      mark = ai
    } else if (star >= 0) {
      pi = star + 1
      ai = ++mark
    } else return false
  }
  while (pi < p.length && p[pi] === '*') pi++
  return pi === p.length
}

/** Whether the statement's Action/NotAction admits the action. */
export function actionListed(st: StatementModel, action: string): boolean {
  if (st.action !== undefined) return st.action.some((p) => actionGlob(p, action))
  if (st.notAction !== undefined) return !st.notAction.some((p) => actionGlob(p, action))
  return false
}

export function accountOf(arn: string): string {
  if (/^\d{12}$/.test(arn)) return arn
  return arn.split(':')[4] ?? ''
}

export function uniq<T>(values: Iterable<T>): T[] {
  return [...new Set(values)]
}

/** Appends to the list under `key` (in place: building lists by copying would be quadratic on large inputs). */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

/** An issuer URL as trusts compare it loosely: no scheme, no trailing slash, lower case (for grouping, not matching). */
export const issuerKey = (url: string): string =>
  url
    .replace(/^https:\/\//i, '')
    .replace(/\/+$/, '')
    .toLowerCase()
