/**
 * @module policy/intersect
 * Relations between two wildcard patterns (`*` any run, `?` one character), for the simulator's questions about
 * many resources at once: do two patterns name at least one common string (`intersects`), and does one pattern
 * name every string the other names (`covers`)? Patterns are compared as character sequences with wildcard
 * markers, by dynamic programming over both (O(n·m), no backtracking).
 *
 * `covers` is exact for the patterns IAM policies use except when several `*` of the outer pattern would have to
 * cooperate to absorb one `?` of the inner one; it never claims coverage that does not hold.
 */
import { STAR, ANY, type Glob, type GlobToken } from './glob.ts'

/** A pattern as characters (char codes ≥ 0) and wildcard markers. */
export type PatternChars = Int32Array
const C_STAR = -2
const C_ANY = -1

/** Glob tokens (literal strings, STAR, ANY) → characters and markers. */
export function tokenChars(tokens: readonly GlobToken[]): PatternChars {
  let n = 0
  for (const t of tokens) n += typeof t === 'string' ? t.length : 1
  const out = new Int32Array(n)
  let i = 0
  for (const t of tokens) {
    if (t === STAR) out[i++] = C_STAR
    else if (t === ANY) out[i++] = C_ANY
    else for (let k = 0; k < t.length; k++) out[i++] = t.charCodeAt(k)
  }
  return out
}

function chunkChars(c: { text: string; wild: Uint8Array | undefined }, into: number[]): void {
  for (let k = 0; k < c.text.length; k++) {
    into.push(c.wild !== undefined && c.wild[k] === 1 ? C_ANY : c.text.charCodeAt(k))
  }
}

/** A compiled glob back to characters and markers (consecutive `*` collapse, which names the same strings). */
export function globChars(g: Glob): PatternChars {
  const out: number[] = []
  if (g.exact !== undefined) {
    for (let k = 0; k < g.exact.length; k++) out.push(g.exact.charCodeAt(k))
    return Int32Array.from(out)
  }
  if (g.head !== undefined) chunkChars(g.head, out)
  if (g.star) {
    for (const m of g.middle) {
      out.push(C_STAR)
      chunkChars(m, out)
    }
    out.push(C_STAR)
    if (g.tail !== undefined) chunkChars(g.tail, out)
  }
  return Int32Array.from(out)
}

/** Is there a string both patterns match? */
export function intersects(a: PatternChars, b: PatternChars): boolean {
  const n = a.length
  const m = b.length
  const w = m + 1
  // ok[i * w + j]: the suffixes a[i..] and b[j..] share a string.
  const ok = new Uint8Array((n + 1) * w)
  ok[n * w + m] = 1
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n && j === m) continue
      const x = i < n ? a[i]! : undefined
      const y = j < m ? b[j]! : undefined
      let v = 0
      if (x === C_STAR) v = ok[(i + 1) * w + j]! | (j < m ? ok[i * w + j + 1]! : 0)
      else if (y === C_STAR) v = ok[i * w + j + 1]! | (i < n ? ok[(i + 1) * w + j]! : 0)
      else if (x !== undefined && y !== undefined && (x === C_ANY || y === C_ANY || x === y)) {
        v = ok[(i + 1) * w + j + 1]!
      }
      ok[i * w + j] = v
    }
  }
  return ok[0] === 1
}

/** Does `outer` match every string `inner` matches? */
export function covers(outer: PatternChars, inner: PatternChars): boolean {
  const n = outer.length
  const m = inner.length
  const w = m + 1
  const ok = new Uint8Array((n + 1) * w)
  ok[n * w + m] = 1
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n && j === m) continue
      const x = i < n ? outer[i]! : undefined
      const y = j < m ? inner[j]! : undefined
      let v = 0
      // A `*` of the outer pattern absorbs any run of the inner one, wildcards included.
      if (x === C_STAR) v = ok[(i + 1) * w + j]! | (j < m ? ok[i * w + j + 1]! : 0)
      else if (x !== undefined && y !== undefined && y !== C_STAR) {
        if (x === C_ANY || x === y) v = ok[(i + 1) * w + j + 1]!
      }
      ok[i * w + j] = v
    }
  }
  return ok[0] === 1
}

/** Does the pattern hold a wildcard? */
export function hasWildcard(p: PatternChars): boolean {
  for (let i = 0; i < p.length; i++) if (p[i]! < 0) return true
  return false
}
