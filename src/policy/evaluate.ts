/**
 * @module policy/evaluate
 * Evaluates one compiled statement against one prepared request. Precondition: the policy compiled
 * (compile.ts); evaluation itself never throws.
 */
import { compileTokens, globMatch, splitArnTokens, tokenize, type Glob } from './glob.ts'
import type { Context } from './context.ts'
import type { CompiledCondition, CompiledStatement, ResourceMatcher } from './compile.ts'
import { classifyShort, type ShortArn, type ShortArnRule } from './compile.ts'
import {
  listedExactly,
  MATCH_DIRECT,
  MATCH_NONE,
  matchPrincipal,
  type MatchKind,
  type RequestPrincipal,
} from './principal.ts'
import type { MismatchElement } from './types.ts'
import { resolveTokens, variableKey } from './variables.ts'
import { splitArn } from './values.ts'
import { covers, globChars, intersects, tokenChars, type PatternChars } from './intersect.ts'

export interface PreparedRequest {
  /** Lower-cased action. */
  action: string
  resource: string
  /** The resource split into six ARN segments, or undefined when it is not an ARN. */
  resourceParts: string[] | undefined
  ctx: Context
  principal: RequestPrincipal
  /** A permissions boundary applies: a Deny with NotPrincipal then always matches (IAM User Guide). */
  hasBoundary: boolean
  /**
   * Simulation only (simulate.ts): the request resource is a pattern naming many resources. Always undefined on
   * the run-time path, where a request names one concrete resource.
   */
  pattern?: ResourcePattern | undefined
}

/** A request resource that is a pattern: `*`, or an ARN with wildcards. */
export interface ResourcePattern {
  /** The request resource is `*`: every resource. */
  any: boolean
  whole: PatternChars
  /** Six ARN segments, or undefined when the pattern is not an ARN. */
  segments: PatternChars[] | undefined
}

const resourceCache = new Map<string, string[] | undefined>()

/** Splits the request resource into ARN segments (memoised, bounded: hot resources repeat). */
export function prepareResource(resource: string): string[] | undefined {
  if (resource === '*') return undefined
  let parts = resourceCache.get(resource)
  if (parts === undefined && !resourceCache.has(resource)) {
    parts = splitArn(resource)
    if (resourceCache.size >= 4096) resourceCache.clear()
    resourceCache.set(resource, parts)
  }
  return parts
}

/** Tri-state resource match: an error (unresolved variable, unusable short ARN) is never inverted by NotResource. */
const NO = 0
const YES = 1
const ERR = 2
type Tri = 0 | 1 | 2

function segmentsMatch(segments: Glob[], parts: string[]): boolean {
  // A short pattern is compared on its given segments: the missing ones act as wildcards.
  for (let i = 0; i < segments.length; i++) if (!globMatch(segments[i]!, parts[i]!)) return false
  return true
}

function shortMatch(rule: ShortArnRule, short: ShortArn, segments: Glob[], parts: string[]): Tri {
  const matches = segmentsMatch(segments, parts)
  switch (rule) {
    case 'expand':
      return matches ? YES : ERR
    case 'resource':
      if (!short.hasWildcard) return NO
      return matches ? YES : ERR
    case 'trailingStar':
      return short.endsWithStar && matches ? YES : ERR
    case 'reject':
      return ERR
  }
}

/**
 * Simulation: a statement whose Allow could apply to some of the resources the pattern names matches (the
 * patterns intersect); a Deny matches only when it covers all of them. NotResource inverts the relation it
 * tests (see simulate.ts).
 */
function simulateResource(m: ResourceMatcher, req: PreparedRequest, wantCover: boolean): Tri {
  if (m.kind === 'any') return YES
  const p = req.pattern!
  let segments: Glob[]
  let whole: Glob
  if (m.kind === 'static') {
    segments = m.segments
    whole = m.whole
  } else {
    const tokens = resolveTokens(m.template, req.ctx)
    if (tokens === undefined) return ERR
    segments = splitArnTokens(tokens).map((seg) => compileTokens(seg))
    whole = compileTokens(tokens)
  }
  if (p.any) return wantCover ? NO : YES
  const rel = wantCover ? covers : intersects
  if (p.segments === undefined || segments.length !== 6) {
    return rel(globChars(whole), p.whole) ? YES : NO
  }
  for (let i = 0; i < 6; i++) if (!rel(globChars(segments[i]!), p.segments[i]!)) return NO
  return YES
}

export function prepareResourcePattern(resource: string): ResourcePattern {
  const parts = splitArn(resource)
  return {
    any: resource === '*',
    whole: tokenChars(tokenize(resource)),
    segments: parts?.map((seg) => tokenChars(tokenize(seg))),
  }
}

function matchResource(m: ResourceMatcher, req: PreparedRequest): Tri {
  if (m.kind === 'any') return YES
  if (req.resource === '*') return NO
  let segments: Glob[]
  let short: ShortArn | undefined
  let whole: Glob | undefined
  if (m.kind === 'static') {
    segments = m.segments
    short = m.short
    whole = m.whole
  } else {
    const key = variableKey(m.template, req.ctx)
    // A variable with no value in the request matches no resource (IAM User Guide, "Policy variables").
    if (key === undefined) return ERR
    let compiled = m.cache.get(key)
    if (compiled === undefined) {
      const split = splitArnTokens(resolveTokens(m.template, req.ctx)!)
      compiled = { segments: split.map((seg) => compileTokens(seg)), short: classifyShort(split) }
      if (m.cache.size >= 256) m.cache.clear()
      m.cache.set(key, compiled)
    }
    segments = compiled.segments
    short = compiled.short
  }
  const parts = req.resourceParts
  if (parts === undefined) return whole !== undefined && globMatch(whole, req.resource) ? YES : NO
  if (short !== undefined) return shortMatch(m.rule, short, segments, parts)
  if (m.kind === 'static' && m.wildcardType && parts[5]!.search(/[/:]/) > 0) return NO
  return segmentsMatch(segments, parts) ? YES : NO
}

function anyAction(actions: Glob[], action: string): boolean {
  for (const g of actions) if (globMatch(g, action)) return true
  return false
}

function anyResource(resources: ResourceMatcher[], req: PreparedRequest, wantCover: boolean): Tri {
  let out: Tri = NO
  for (const r of resources) {
    const m =
      req.pattern === undefined ? matchResource(r, req) : simulateResource(r, req, wantCover)
    if (m === YES) return YES
    if (m === ERR) out = ERR
  }
  return out
}

/** Resource / NotResource: does the element let the statement apply? */
function resourceApplies(
  resources: ResourceMatcher[],
  negated: boolean,
  req: PreparedRequest,
  deny: boolean,
): boolean {
  // Simulation: Allow/Resource and Deny/NotResource ask "some resource", Deny/Resource and Allow/NotResource "all".
  const m = anyResource(resources, req, deny !== negated)
  return m === ERR ? false : (m === YES) !== negated
}

function single(c: CompiledCondition, raw: string, ctx: Context): boolean {
  const prepared = c.entry.prepare(raw)
  if (prepared === undefined) return false
  let any = false
  for (const m of c.matchers) {
    const r = (m as (r: unknown, ctx: Context) => boolean | undefined)(prepared, ctx)
    // An unusable policy value (unparsable, unresolved variable) fails the whole negated test (corpus behaviour).
    if (r === undefined) {
      if (c.entry.isNegative) return false
      continue
    }
    if (r) {
      any = true
      if (!c.entry.isNegative) return true
    }
  }
  return c.entry.isNegative ? !any : any
}

/**
 * One condition: values OR (NOR for negated operators), missing keys per IAM's rules, set qualifiers with AWS's
 * empty/missing rules (ForAnyValue false, ForAllValues true).
 */
export function evaluateCondition(c: CompiledCondition, ctx: Context): boolean {
  const value = ctx.get(c.lowerKey)
  if (c.entry.family === 'Null') {
    const present = value !== undefined && !(Array.isArray(value) && value.length === 0)
    for (const b of c.nullValues) if (b !== undefined && b === !present) return true
    return false
  }
  if (value === undefined) {
    if (c.ifExists) return true
    if (c.set === 'ForAllValues') return true
    if (c.set === 'ForAnyValue') return false
    return c.entry.isNegative
  }
  if (c.set !== undefined) {
    const values = typeof value === 'string' ? [value] : value
    // "ForAllValues … also returns true if … the key values resolve to a null data set, such as an empty string";
    // ForAnyValue has no value to match (IAM User Guide, "Single-valued vs. multivalued context keys").
    if (values.length === 0 || (values.length === 1 && values[0] === ''))
      return c.set === 'ForAllValues'
    if (c.set === 'ForAllValues') {
      for (const v of values) if (!single(c, v, ctx)) return false
      return true
    }
    for (const v of values) if (single(c, v, ctx)) return true
    return false
  }
  // An operator without a set qualifier on a multivalued key does not match (IAM User Guide, "Single-valued
  // vs. multivalued context keys": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
  if (typeof value !== 'string') return false
  return single(c, value, ctx)
}

/**
 * Does the statement's NotPrincipal exclude the request principal? Both readings fail closed (IAM User Guide,
 * "NotPrincipal"): a Deny spares only principals listed by their own ARN (the page's examples list a user with its
 * account, a session with its role and account, to spare just that user or session), and "will always deny any IAM
 * principal that has a permissions boundary policy attached"; an Allow — "not supported" by the current page, which
 * gives it no semantics — grants nobody its list names, as `Principal` would name them (an account its principals, a
 * role its sessions).
 */
function notPrincipalSpares(s: CompiledStatement, req: PreparedRequest): boolean {
  if (!s.deny) return matchPrincipal(s.principal!, req.principal) !== MATCH_NONE
  if (req.hasBoundary) return false
  return listedExactly(s.principal!, req.principal)
}

/** Returns the principal match kind when the statement applies, MATCH_NONE (0) otherwise. */
export function matchStatement(s: CompiledStatement, req: PreparedRequest): MatchKind {
  if (s.inert) return MATCH_NONE
  if (s.actions !== undefined && anyAction(s.actions, req.action) === s.actionNegated)
    return MATCH_NONE
  if (s.resources !== undefined && !resourceApplies(s.resources, s.resourceNegated, req, s.deny))
    return MATCH_NONE
  let kind: MatchKind = MATCH_DIRECT
  if (s.principal !== undefined) {
    if (s.principalNegated) {
      if (notPrincipalSpares(s, req)) return MATCH_NONE
    } else {
      kind = matchPrincipal(s.principal, req.principal)
      if (kind === MATCH_NONE) return MATCH_NONE
    }
  }
  for (const c of s.conditions) if (!evaluateCondition(c, req.ctx)) return MATCH_NONE
  return kind
}

/** The first element that fails, in the same order as matchStatement (for explanations). */
export function explainMismatch(
  s: CompiledStatement,
  req: PreparedRequest,
): { element: MismatchElement; detail?: string } | undefined {
  if (s.inert) return { element: 'Principal', detail: 'the statement names no principal' }
  if (s.actions !== undefined && anyAction(s.actions, req.action) === s.actionNegated) {
    return { element: s.actionNegated ? 'NotAction' : 'Action' }
  }
  if (s.resources !== undefined && !resourceApplies(s.resources, s.resourceNegated, req, s.deny)) {
    return { element: s.resourceNegated ? 'NotResource' : 'Resource' }
  }
  if (s.principal !== undefined) {
    if (
      s.principalNegated
        ? notPrincipalSpares(s, req)
        : matchPrincipal(s.principal, req.principal) === MATCH_NONE
    ) {
      return { element: s.principalNegated ? 'NotPrincipal' : 'Principal' }
    }
  }
  for (const c of s.conditions) {
    if (!evaluateCondition(c, req.ctx))
      return { element: 'Condition', detail: `${c.operator} ${c.key}` }
  }
  return undefined
}

/** Does the statement's Resource / NotResource element apply to the request? (Element-level, for the corpus.) */
export function resourceElementMatches(s: CompiledStatement, req: PreparedRequest): boolean {
  if (s.resources === undefined) return true
  return resourceApplies(s.resources, s.resourceNegated, req, s.deny)
}
