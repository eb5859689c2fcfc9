/**
 * @module policy/operators
 * The registry of condition operators: one entry per base operator, holding everything about
 * it; consumers look up a resolved entry and never switch on the name. Semantics: IAM User Guide, "IAM JSON policy
 * elements: Condition operators".
 */
import type { Context } from './context.ts'
import { compileTokens, globMatch, splitArnTokens, type Glob, type GlobToken } from './glob.ts'
import {
  cidrContains,
  parseCidr,
  parseDate,
  parseIp,
  parseNumber,
  splitArn,
  type IpValue,
} from './values.ts'
import {
  parseTemplate,
  literalTemplate,
  resolveString,
  resolveTokens,
  staticTokens,
  variableKey,
  type Template,
} from './variables.ts'

/** Matches one prepared request value against one policy value; undefined = the policy value is unusable. */
export type ValueMatcher = (request: never, ctx: Context) => boolean | undefined

export type OperatorFamily =
  'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'IpAddress' | 'Arn' | 'Null'

export interface OperatorEntry {
  name: string
  family: OperatorFamily
  isNegative: boolean
  allowsVariables: boolean
  allowsWildcards: boolean
  /** Parses a request value; undefined when it is not of the operator's type (then the condition is false). */
  prepare(value: string): unknown
  /** Compiles one policy value; `variables` is false under Version 2008-10-17 or without Version. */
  compile(policyValue: string, variables: boolean): ValueMatcher
}

const template = (v: string, variables: boolean): Template =>
  variables ? parseTemplate(v) : literalTemplate(v)

function stringEquals(ignoreCase: boolean) {
  return (policyValue: string, variables: boolean): ValueMatcher => {
    const t = template(policyValue, variables)
    if (!t.hasVariables) {
      const s = ignoreCase ? policyValue.toLowerCase() : policyValue
      return ((r: string) => r === s) as ValueMatcher
    }
    return ((r: string, ctx: Context) => {
      const s = resolveString(t, ctx)
      if (s === undefined) return undefined
      return r === (ignoreCase ? s.toLowerCase() : s)
    }) as ValueMatcher
  }
}

function stringLike(policyValue: string, variables: boolean): ValueMatcher {
  const t = template(policyValue, variables)
  if (!t.hasVariables) {
    const g = compileTokens(staticTokens(t))
    return ((r: string) => globMatch(g, r)) as ValueMatcher
  }
  const cache = new Map<string, Glob>()
  return ((r: string, ctx: Context) => {
    const key = variableKey(t, ctx)
    if (key === undefined) return undefined
    let g = cache.get(key)
    if (g === undefined) {
      g = compileTokens(resolveTokens(t, ctx)!)
      remember(cache, key, g)
    }
    return globMatch(g, r)
  }) as ValueMatcher
}

/** Compiled patterns are cached per distinct variable values; the cache is bounded. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 256) cache.clear()
  cache.set(key, value)
}

function numeric(cmp: (r: number, p: number) => boolean) {
  return (policyValue: string): ValueMatcher => {
    const p = parseNumber(policyValue)
    if (p === undefined) return () => undefined
    return ((r: number) => cmp(r, p)) as ValueMatcher
  }
}

function date(cmp: (r: number, p: number) => boolean) {
  return (policyValue: string): ValueMatcher => {
    const p = parseDate(policyValue)
    if (p === undefined) return () => undefined
    return ((r: number) => cmp(r, p)) as ValueMatcher
  }
}

function parseBool(s: string): boolean | undefined {
  const l = s.toLowerCase()
  return l === 'true' ? true : l === 'false' ? false : undefined
}

function bool(policyValue: string, variables: boolean): ValueMatcher {
  const t = template(policyValue, variables)
  if (!t.hasVariables) {
    const p = parseBool(policyValue)
    if (p === undefined) return () => undefined
    return ((r: boolean) => r === p) as ValueMatcher
  }
  return ((r: boolean, ctx: Context) => {
    const s = resolveString(t, ctx)
    const p = s === undefined ? undefined : parseBool(s)
    return p === undefined ? undefined : r === p
  }) as ValueMatcher
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function binary(policyValue: string): ValueMatcher {
  // Byte-for-byte comparison of the decoded values (IAM User Guide, "Binary condition operators").
  const decoded = BASE64.test(policyValue) ? Buffer.from(policyValue, 'base64') : undefined
  return ((r: string) => {
    if (r === policyValue) return true
    if (decoded === undefined || !BASE64.test(r)) return false
    return Buffer.from(r, 'base64').equals(decoded)
  }) as ValueMatcher
}

function ip(policyValue: string): ValueMatcher {
  const c = parseCidr(policyValue)
  if (c === undefined) return () => undefined
  return ((r: IpValue) => cidrContains(c, r)) as ValueMatcher
}

/** The six compiled ARN segments of an Arn-operator value; fewer than six segments never match. */
function arnSegments(tokens: GlobToken[]): Glob[] | undefined {
  const segments = splitArnTokens(tokens)
  return segments.length === 6 ? segments.map((s) => compileTokens(s)) : undefined
}

function arnMatch(globs: Glob[], r: string[]): boolean {
  for (let i = 0; i < 6; i++) if (!globMatch(globs[i]!, r[i]!)) return false
  return true
}

function arn(policyValue: string, variables: boolean): ValueMatcher {
  const t = template(policyValue, variables)
  if (!t.hasVariables) {
    const globs = arnSegments(staticTokens(t))
    if (globs === undefined) return () => undefined
    return ((r: string[]) => arnMatch(globs, r)) as ValueMatcher
  }
  const cache = new Map<string, Glob[] | null>()
  return ((r: string[], ctx: Context) => {
    const key = variableKey(t, ctx)
    if (key === undefined) return undefined
    let globs = cache.get(key)
    if (globs === undefined) {
      globs = arnSegments(resolveTokens(t, ctx)!) ?? null
      remember(cache, key, globs)
    }
    return globs === null ? undefined : arnMatch(globs, r)
  }) as ValueMatcher
}

const id = (v: string): string => v
const lower = (v: string): string => v.toLowerCase()

function entry(
  name: string,
  family: OperatorFamily,
  flags: { isNegative?: boolean; allowsVariables?: boolean; allowsWildcards?: boolean },
  prepare: (v: string) => unknown,
  compile: (policyValue: string, variables: boolean) => ValueMatcher,
): OperatorEntry {
  return {
    name,
    family,
    isNegative: flags.isNegative ?? false,
    allowsVariables: flags.allowsVariables ?? false,
    allowsWildcards: flags.allowsWildcards ?? false,
    prepare,
    compile,
  }
}

const S = { allowsVariables: true }
const SN = { allowsVariables: true, isNegative: true }
const N = { isNegative: true }
const eq = (a: number, b: number): boolean => a === b

export const operators: readonly OperatorEntry[] = [
  entry('StringEquals', 'String', S, id, stringEquals(false)),
  entry('StringNotEquals', 'String', SN, id, stringEquals(false)),
  entry('StringEqualsIgnoreCase', 'String', S, lower, stringEquals(true)),
  entry('StringNotEqualsIgnoreCase', 'String', SN, lower, stringEquals(true)),
  entry('StringLike', 'String', { ...S, allowsWildcards: true }, id, stringLike),
  entry('StringNotLike', 'String', { ...SN, allowsWildcards: true }, id, stringLike),
  entry('NumericEquals', 'Numeric', {}, parseNumber, numeric(eq)),
  entry('NumericNotEquals', 'Numeric', N, parseNumber, numeric(eq)),
  entry(
    'NumericLessThan',
    'Numeric',
    {},
    parseNumber,
    numeric((r, p) => r < p),
  ),
  entry(
    'NumericLessThanEquals',
    'Numeric',
    {},
    parseNumber,
    numeric((r, p) => r <= p),
  ),
  entry(
    'NumericGreaterThan',
    'Numeric',
    {},
    parseNumber,
    numeric((r, p) => r > p),
  ),
  entry(
    'NumericGreaterThanEquals',
    'Numeric',
    {},
    parseNumber,
    numeric((r, p) => r >= p),
  ),
  entry('DateEquals', 'Date', {}, parseDate, date(eq)),
  entry('DateNotEquals', 'Date', N, parseDate, date(eq)),
  entry(
    'DateLessThan',
    'Date',
    {},
    parseDate,
    date((r, p) => r < p),
  ),
  entry(
    'DateLessThanEquals',
    'Date',
    {},
    parseDate,
    date((r, p) => r <= p),
  ),
  entry(
    'DateGreaterThan',
    'Date',
    {},
    parseDate,
    date((r, p) => r > p),
  ),
  entry(
    'DateGreaterThanEquals',
    'Date',
    {},
    parseDate,
    date((r, p) => r >= p),
  ),
  entry('Bool', 'Bool', S, parseBool, bool),
  entry('BinaryEquals', 'Binary', {}, id, binary),
  entry('IpAddress', 'IpAddress', {}, parseIp, ip),
  entry('NotIpAddress', 'IpAddress', N, parseIp, ip),
  entry('ArnEquals', 'Arn', { ...S, allowsWildcards: true }, splitArn, arn),
  entry('ArnLike', 'Arn', { ...S, allowsWildcards: true }, splitArn, arn),
  entry('ArnNotEquals', 'Arn', { ...SN, allowsWildcards: true }, splitArn, arn),
  entry('ArnNotLike', 'Arn', { ...SN, allowsWildcards: true }, splitArn, arn),
  entry('Null', 'Null', {}, id, (v) => (() => parseBool(v)) as ValueMatcher),
]

const byLowerName = new Map(operators.map((o) => [o.name.toLowerCase(), o]))

export interface ParsedOperator {
  entry: OperatorEntry
  set: 'ForAnyValue' | 'ForAllValues' | undefined
  ifExists: boolean
}

/**
 * Resolves `ForAnyValue:StringEqualsIfExists` into its parts. Names are looked up case-insensitively; IAM's
 * save-time validation rejects unknown names, see validate.ts.
 */
export function parseOperator(name: string): ParsedOperator | undefined {
  let rest = name
  let set: ParsedOperator['set']
  const lowerName = name.toLowerCase()
  if (lowerName.startsWith('foranyvalue:')) {
    set = 'ForAnyValue'
    rest = name.slice('ForAnyValue:'.length)
  } else if (lowerName.startsWith('forallvalues:')) {
    set = 'ForAllValues'
    rest = name.slice('ForAllValues:'.length)
  }
  let ifExists = false
  let found = byLowerName.get(rest.toLowerCase())
  if (found === undefined && rest.toLowerCase().endsWith('ifexists')) {
    ifExists = true
    found = byLowerName.get(rest.slice(0, -'IfExists'.length).toLowerCase())
    // `NullIfExists` is not an operator (Access Analyzer: "Null with if exists").
    if (found?.family === 'Null') return undefined
  }
  return found === undefined ? undefined : { entry: found, set, ifExists }
}
