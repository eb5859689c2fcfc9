/**
 * @module policy/glob
 * Linear-time `*` / `?` glob matching, compiled once. A pattern is split at `*` into fixed-length chunks;
 * each chunk is placed at its leftmost possible position (optimal for fixed-length chunks), so there is no
 * backtracking and no RegExp is built per call (see the performance notes in docs/policy-engine.md).
 */

/** One piece of a pattern: a literal run, or (when `wild` is set) a run where marked characters match any. */
interface Chunk {
  text: string
  /** Positions holding `?` wildcards, or undefined when the chunk is fully literal. */
  wild: Uint8Array | undefined
}

export interface Glob {
  /** The pattern had no wildcard: plain equality. */
  exact: string | undefined
  head: Chunk | undefined
  middle: Chunk[]
  tail: Chunk | undefined
  /** True when at least one `*` is present. */
  star: boolean
  minLength: number
}

/** A token stream: literal strings (wildcard characters inside are literal) and wildcard markers. */
export type GlobToken = string | typeof STAR | typeof ANY
export const STAR = 0
export const ANY = 1

/** Tokenises a pattern where `*` and `?` are wildcards. */
export function tokenize(pattern: string): GlobToken[] {
  const out: GlobToken[] = []
  let start = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i)
    if (c === 42 || c === 63) {
      if (i > start) out.push(pattern.slice(start, i))
      out.push(c === 42 ? STAR : ANY)
      start = i + 1
    }
  }
  if (start < pattern.length) out.push(pattern.slice(start))
  return out
}

function chunkOf(tokens: GlobToken[]): Chunk {
  let text = ''
  const wildAt: number[] = []
  for (const t of tokens) {
    if (t === ANY) {
      wildAt.push(text.length)
      text += '?'
    } else if (typeof t === 'string') text += t
  }
  if (wildAt.length === 0) return { text, wild: undefined }
  const wild = new Uint8Array(text.length)
  for (const i of wildAt) wild[i] = 1
  return { text, wild }
}

/** Compiles tokens into a matcher. `lower` lower-cases literal text (for case-insensitive matching). */
export function compileTokens(tokens: GlobToken[], lower = false): Glob {
  const parts: GlobToken[][] = [[]]
  let star = false
  for (const t of tokens) {
    if (t === STAR) {
      star = true
      parts.push([])
    } else parts[parts.length - 1]!.push(lower && typeof t === 'string' ? t.toLowerCase() : t)
  }
  if (!star) {
    const only = chunkOf(parts[0]!)
    return {
      exact: only.wild === undefined ? only.text : undefined,
      head: only,
      middle: [],
      tail: undefined,
      star,
      minLength: only.text.length,
    }
  }
  const chunks = parts.map(chunkOf)
  const head = chunks[0]!
  const tail = chunks[chunks.length - 1]!
  const middle = chunks.slice(1, -1).filter((c) => c.text.length > 0)
  return {
    exact: undefined,
    head: head.text.length > 0 ? head : undefined,
    middle,
    tail: tail.text.length > 0 ? tail : undefined,
    star,
    minLength: chunks.reduce((n, c) => n + c.text.length, 0),
  }
}

export function compileGlob(pattern: string, lower = false): Glob {
  return compileTokens(tokenize(pattern), lower)
}

function chunkAt(s: string, at: number, c: Chunk): boolean {
  if (c.wild === undefined) return s.startsWith(c.text, at)
  const { text, wild } = c
  if (at + text.length > s.length) return false
  for (let i = 0; i < text.length; i++) {
    if (wild[i] === 0 && s.charCodeAt(at + i) !== text.charCodeAt(i)) return false
  }
  return true
}

function findChunk(s: string, from: number, limit: number, c: Chunk): number {
  if (c.wild === undefined) {
    const i = s.indexOf(c.text, from)
    return i < 0 || i + c.text.length > limit ? -1 : i
  }
  for (let i = from; i + c.text.length <= limit; i++) if (chunkAt(s, i, c)) return i
  return -1
}

/** Does `s` match the compiled glob? (Lower-case `s` yourself for a case-insensitive glob.) */
export function globMatch(g: Glob, s: string): boolean {
  if (g.exact !== undefined) return s === g.exact
  if (s.length < g.minLength) return false
  if (!g.star) return s.length === g.head!.text.length && chunkAt(s, 0, g.head!)
  let pos = 0
  let end = s.length
  if (g.head !== undefined) {
    if (!chunkAt(s, 0, g.head)) return false
    pos = g.head.text.length
  }
  if (g.tail !== undefined) {
    end = s.length - g.tail.text.length
    if (end < pos || !chunkAt(s, end, g.tail)) return false
  }
  for (const c of g.middle) {
    const i = findChunk(s, pos, end, c)
    if (i < 0) return false
    pos = i + c.text.length
  }
  return true
}

/**
 * Splits glob tokens on the first five literal colons into ARN segments (`arn:partition:service:region:
 * account:resource`); a shorter pattern gives fewer than six. Used by resource matching and the Arn operators.
 */
export function splitArnTokens(tokens: GlobToken[]): GlobToken[][] {
  const segments: GlobToken[][] = [[]]
  for (const t of tokens) {
    if (typeof t !== 'string' || segments.length === 6) {
      segments[segments.length - 1]!.push(t)
      continue
    }
    let rest = t
    let c = rest.indexOf(':')
    while (c >= 0 && segments.length < 6) {
      if (c > 0) segments[segments.length - 1]!.push(rest.slice(0, c))
      segments.push([])
      rest = rest.slice(c + 1)
      c = rest.indexOf(':')
    }
    if (rest.length > 0) segments[segments.length - 1]!.push(rest)
  }
  return segments
}
