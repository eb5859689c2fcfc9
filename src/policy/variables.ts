/**
 * @module policy/variables
 * Policy variables `${key}`, `${key, 'default'}` and the specials `${*}` `${?}` `${$}` (IAM User Guide, "IAM policy
 * elements: Variables and tags"). Templates are tokenised at compile time; a substituted value is always literal
 * (a `*` inside a tag value is not a wildcard).
 */
import type { Context } from './context.ts'
import { tokenize, type GlobToken } from './glob.ts'

export type TemplatePart =
  | { kind: 'text'; value: string }
  | { kind: 'literal'; value: string }
  | { kind: 'var'; key: string; fallback: string | undefined }

export interface Template {
  parts: TemplatePart[]
  hasVariables: boolean
}

const SPECIALS: Record<string, string> = { '*': '*', '?': '?', $: '$' }

/** Parses `${…}` in `value`. An unterminated `${` stays text, as IAM does not reject it at save time. */
export function parseTemplate(value: string): Template {
  const parts: TemplatePart[] = []
  let text = ''
  let hasVariables = false
  let i = 0
  while (i < value.length) {
    const open = value.indexOf('${', i)
    if (open < 0) break
    const close = value.indexOf('}', open + 2)
    if (close < 0) break
    text += value.slice(i, open)
    const inner = value.slice(open + 2, close)
    const special = SPECIALS[inner]
    if (text.length > 0) parts.push({ kind: 'text', value: text })
    text = ''
    if (special !== undefined) parts.push({ kind: 'literal', value: special })
    else {
      hasVariables = true
      // Default values: `${aws:PrincipalTag/team, 'company-wide'}` — comma, space, single-quoted default.
      const m = /^(.*?), '(.*)'$/s.exec(inner)
      if (m !== null) parts.push({ kind: 'var', key: m[1]!.trim().toLowerCase(), fallback: m[2]! })
      else parts.push({ kind: 'var', key: inner.trim().toLowerCase(), fallback: undefined })
    }
    i = close + 1
  }
  text += value.slice(i)
  if (text.length > 0) parts.push({ kind: 'text', value: text })
  return { parts, hasVariables: hasVariables || parts.some((p) => p.kind === 'literal') }
}

/** A template with no variables parsed from a literal (Version 2008-10-17 or absent: `${…}` is plain text). */
export function literalTemplate(value: string): Template {
  return { parts: value.length > 0 ? [{ kind: 'text', value }] : [], hasVariables: false }
}

function lookup(
  part: { key: string; fallback: string | undefined },
  ctx: Context,
): string | undefined {
  const v = ctx.get(part.key)
  // A multivalued key cannot be used as a variable: no match (IAM User Guide; iam-simulate agrees).
  if (typeof v === 'string') return v
  if (v === undefined) return part.fallback
  return undefined
}

/** Resolves to a plain string (for equality operators), or undefined when a variable has no value. */
export function resolveString(t: Template, ctx: Context): string | undefined {
  let out = ''
  for (const p of t.parts) {
    if (p.kind === 'var') {
      const v = lookup(p, ctx)
      if (v === undefined) return undefined
      out += v
    } else out += p.value
  }
  return out
}

/**
 * The values of the template's variables joined into one cache key, or undefined when one has no value. Two
 * requests with the same key resolve the template identically.
 */
export function variableKey(t: Template, ctx: Context): string | undefined {
  let key = ''
  for (const p of t.parts) {
    if (p.kind !== 'var') continue
    const v = lookup(p, ctx)
    if (v === undefined) return undefined
    key += `${v}\u0000`
  }
  return key
}

/** Resolves to glob tokens: wildcards in policy text stay active, substituted values are literal. */
export function resolveTokens(t: Template, ctx: Context): GlobToken[] | undefined {
  const out: GlobToken[] = []
  for (const p of t.parts) {
    if (p.kind === 'text') out.push(...tokenize(p.value))
    else if (p.kind === 'literal') out.push(p.value)
    else {
      const v = lookup(p, ctx)
      if (v === undefined) return undefined
      if (v.length > 0) out.push(v)
    }
  }
  return out
}

export function staticTokens(t: Template): GlobToken[] {
  const out: GlobToken[] = []
  for (const p of t.parts) {
    if (p.kind === 'text') out.push(...tokenize(p.value))
    else if (p.kind === 'literal') out.push(p.value)
  }
  return out
}
