/**
 * @module policy/compile
 * Parses a policy document into a typed model and compiles it once: action globs lower-cased, resource ARNs
 * split into segment globs, operators resolved from the registry, variable templates tokenised. Under Version
 * 2008-10-17 or without Version, `${…}` is literal text (IAM User Guide, "Policy variables").
 */
import { PolicyError } from './errors.ts'
import {
  compileGlob,
  compileTokens,
  splitArnTokens,
  STAR,
  type Glob,
  type GlobToken,
} from './glob.ts'
import { parseOperator, type OperatorEntry, type ValueMatcher } from './operators.ts'
import { compilePrincipal, type PrincipalMatcher, type PrincipalSpec } from './principal.ts'
import type { PolicyType, StatementRef } from './types.ts'
import { literalTemplate, parseTemplate, staticTokens, type Template } from './variables.ts'

/** Documents larger than this are refused before parsing (IAM's largest limit is 10,240 characters). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024

export interface ConditionModel {
  operator: string
  key: string
  values: string[]
}

export interface StatementModel {
  sid: string | undefined
  effect: 'Allow' | 'Deny'
  principal: PrincipalSpec | undefined
  notPrincipal: PrincipalSpec | undefined
  action: string[] | undefined
  notAction: string[] | undefined
  resource: string[] | undefined
  notResource: string[] | undefined
  conditions: ConditionModel[]
}

export interface PolicyModel {
  version: string | undefined
  id: string | undefined
  statements: StatementModel[]
}

export interface CompiledCondition {
  operator: string
  key: string
  lowerKey: string
  entry: OperatorEntry
  set: 'ForAnyValue' | 'ForAllValues' | undefined
  ifExists: boolean
  matchers: ValueMatcher[]
  /** For Null: the policy values as booleans (undefined = unparsable). */
  nullValues: (boolean | undefined)[]
}

export type ResourceMatcher =
  | { kind: 'any' }
  | {
      kind: 'static'
      /** The resource-type part is a bare wildcard (`*` then `/`), which never matches a typed resource. */
      wildcardType: boolean
      segments: Glob[]
      short: ShortArn | undefined
      whole: Glob
      pattern: string
      rule: ShortArnRule
    }
  | {
      kind: 'template'
      template: Template
      pattern: string
      rule: ShortArnRule
      /** Compiled segments per distinct set of variable values (bounded). */
      cache: Map<string, { segments: Glob[]; short: ShortArn | undefined }>
    }

/** A Resource pattern with fewer than six ARN segments (`arn:aws:sqs:us-east-1`). */
export interface ShortArn {
  /** The last given segment ends with `*`. */
  endsWithStar: boolean
  /** A wildcard appears anywhere. */
  hasWildcard: boolean
}

/**
 * How each policy type treats short ARN patterns (iam-simulate's model, pinned by the corpus' resource table):
 * identity-side policies expand missing segments to wildcards (a mismatch is an error, never inverted by
 * NotResource); resource policies expand only patterns holding a wildcard and treat a plain short ARN as no
 * match; SCPs accept only a trailing `*`; RCPs reject short ARNs.
 */
export const shortArnRules = {
  identity: 'expand',
  managed: 'expand',
  inline: 'expand',
  boundary: 'expand',
  session: 'expand',
  trust: 'expand',
  resource: 'resource',
  scp: 'trailingStar',
  rcp: 'reject',
  vpce: 'expand',
} as const satisfies Record<PolicyType, string>
export type ShortArnRule = (typeof shortArnRules)[PolicyType]

export function classifyShort(segments: GlobToken[][]): ShortArn | undefined {
  if (segments.length >= 6) return undefined
  const last = segments[segments.length - 1]!
  const lastToken = last[last.length - 1]
  return {
    endsWithStar: lastToken === STAR,
    hasWildcard: segments.some((seg) => seg.some((t) => typeof t !== 'string')),
  }
}

export interface CompiledStatement {
  ref: StatementRef
  /**
   * A resource-based statement (resource, trust or endpoint policy) without Principal or NotPrincipal: it names no
   * one, so it never applies, neither as an Allow nor as a Deny (IAM User Guide, "Principal": required in
   * resource-based policies).
   */
  inert: boolean
  deny: boolean
  principal: PrincipalMatcher | undefined
  principalNegated: boolean
  actions: Glob[] | undefined
  actionNegated: boolean
  resources: ResourceMatcher[] | undefined
  resourceNegated: boolean
  conditions: CompiledCondition[]
}

export interface CompiledPolicy {
  readonly id: string
  readonly type: PolicyType
  readonly version: string | undefined
  readonly model: PolicyModel
  readonly statements: readonly CompiledStatement[]
}

export interface CompileOptions {
  id?: string
  type?: PolicyType
  /**
   * Evaluate as if the document declared this Version (the conformance corpus was written assuming variables are
   * always substituted). Default: the document's own Version.
   */
  assumeVersion?: '2012-10-17' | '2008-10-17'
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function fail(message: string, path: string): never {
  throw new PolicyError('INVALID_POLICY', message, { path })
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return fail(`\`${path}\` must be a string, number or boolean`, path)
}

function stringList(v: unknown, path: string): string[] {
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) {
    const out: string[] = []
    v.forEach((x, i) => {
      // IAM accepts (and ignores) a null entry in these lists (moto corpus, AWS-verified).
      if (x === null) return
      if (typeof x !== 'string') fail(`\`${path}[${i}]\` must be a string`, `${path}[${i}]`)
      out.push(x)
    })
    return out
  }
  return fail(`\`${path}\` must be a string or an array of strings`, path)
}

function principalSpec(v: unknown, path: string): PrincipalSpec {
  const spec: PrincipalSpec = {
    wildcard: false,
    aws: [],
    federated: [],
    service: [],
    canonicalUser: [],
  }
  if (v === '*') return { ...spec, wildcard: true }
  // A bare string other than "*" is read as an AWS principal (iam-simulate does the same).
  if (typeof v === 'string') return { ...spec, aws: [v] }
  if (!isObject(v)) return fail(`\`${path}\` must be "*" or an object`, path)
  for (const [k, val] of Object.entries(v)) {
    const list = stringList(val, `${path}.${k}`)
    if (k === 'AWS') spec.aws.push(...list)
    else if (k === 'Federated') spec.federated.push(...list)
    else if (k === 'Service') spec.service.push(...list)
    else if (k === 'CanonicalUser') spec.canonicalUser.push(...list)
    else fail(`unknown principal type \`${k}\``, `${path}.${k}`)
  }
  return spec
}

/** Parses a document (JSON text or a parsed value) into the typed model. Throws PolicyError. */
export function parsePolicy(document: string | object): PolicyModel {
  let json: unknown = document
  if (typeof document === 'string') {
    if (document.length > MAX_DOCUMENT_BYTES) {
      throw new PolicyError(
        'TOO_LARGE',
        `policy document is larger than ${MAX_DOCUMENT_BYTES} bytes`,
      )
    }
    try {
      json = JSON.parse(document)
    } catch (cause) {
      throw new PolicyError('INVALID_JSON', 'policy document is not valid JSON', { cause })
    }
  }
  if (!isObject(json)) return fail('policy document must be a JSON object', '$')
  const version = json['Version']
  if (version !== undefined && typeof version !== 'string')
    fail('`Version` must be a string', 'Version')
  const id = json['Id']
  if (id !== undefined && typeof id !== 'string') fail('`Id` must be a string', 'Id')
  const raw = json['Statement']
  if (raw === undefined) fail('policy document has no `Statement`', 'Statement')
  const list = Array.isArray(raw) ? raw : [raw]
  const statements = list.map((s, i) =>
    parseStatement(s, Array.isArray(raw) ? `Statement[${i}]` : 'Statement'),
  )
  return { version, id, statements }
}

function parseStatement(s: unknown, path: string): StatementModel {
  if (!isObject(s)) return fail(`\`${path}\` must be an object`, path)
  const effect = s['Effect']
  if (effect !== 'Allow' && effect !== 'Deny')
    fail(`\`${path}.Effect\` must be "Allow" or "Deny"`, `${path}.Effect`)
  const sid = s['Sid']
  if (sid !== undefined && typeof sid !== 'string')
    fail(`\`${path}.Sid\` must be a string`, `${path}.Sid`)
  const opt = <T>(key: string, f: (v: unknown, p: string) => T): T | undefined =>
    s[key] === undefined ? undefined : f(s[key], `${path}.${key}`)
  const conditions: ConditionModel[] = []
  const cond = s['Condition']
  if (cond !== undefined) {
    if (!isObject(cond)) fail(`\`${path}.Condition\` must be an object`, `${path}.Condition`)
    for (const [operator, block] of Object.entries(cond)) {
      const p = `${path}.Condition.${operator}`
      if (!isObject(block)) fail(`\`${p}\` must be an object`, p)
      for (const [key, val] of Object.entries(block)) {
        const values = Array.isArray(val)
          ? val.map((x, i) => scalar(x, `${p}.${key}[${i}]`))
          : [scalar(val, `${p}.${key}`)]
        conditions.push({ operator, key, values })
      }
    }
  }
  return {
    sid,
    effect: effect as 'Allow' | 'Deny',
    principal: opt('Principal', principalSpec),
    notPrincipal: opt('NotPrincipal', principalSpec),
    action: opt('Action', stringList),
    notAction: opt('NotAction', stringList),
    resource: opt('Resource', stringList),
    notResource: opt('NotResource', stringList),
    conditions,
  }
}

export function compileResourceTokens(tokens: GlobToken[]): Glob[] {
  return splitArnTokens(tokens).map((s) => compileTokens(s))
}

/**
 * Does the pattern wildcard the resource-type part (`…:*\/12345`, `…:*:name`)? "You can't use a wildcard in the
 * portion of the ARN that specifies the resource type" (IAM User Guide, "IAM identifiers", ARNs), so such a pattern
 * never matches a typed resource. S3 bucket and object ARNs (`arn:aws:s3:::bucket/key`, no region or account) have
 * no resource-type part: there `arn:aws:s3:::*\/*` is an ordinary wildcard over bucket and key (Amazon S3 User
 * Guide, "Policy resources for Amazon S3").
 */
function wildcardResourceType(pattern: string): boolean {
  const parts = pattern.split(':')
  if (!/^\*[/:]/.test(parts.slice(5).join(':'))) return false
  return !(parts[2] === 's3' && parts[3] === '' && parts[4] === '')
}

/** Where the resource part of an ARN pattern starts: after the fifth colon outside `${…}`; -1 for a short ARN. */
function resourcePartStart(pattern: string): number {
  let colons = 0
  for (let i = 0; i < pattern.length; i++) {
    if (pattern.startsWith('${', i)) {
      const close = pattern.indexOf('}', i + 2)
      if (close < 0) break
      i = close
    } else if (pattern.charCodeAt(i) === 58 && ++colons === 5) return i + 1
  }
  return -1
}

/**
 * A Resource pattern's template: "You can use a policy variable in the Resource element, but only in the resource
 * portion of the ARN … after the fifth colon (:). You can't use a variable to replace parts of the ARN before the
 * fifth colon, such as the service or account" (IAM User Guide, "Variables and tags", "Where you can use policy
 * variables"). Before it, `${…}` stays literal text, which matches no real ARN.
 */
function resourceTemplate(pattern: string): Template {
  const cut = resourcePartStart(pattern)
  if (cut < 0) return parseTemplate(pattern)
  const rest = parseTemplate(pattern.slice(cut))
  return {
    parts: [{ kind: 'text', value: pattern.slice(0, cut) }, ...rest.parts],
    hasVariables: rest.hasVariables,
  }
}

function compileResource(pattern: string, variables: boolean, rule: ShortArnRule): ResourceMatcher {
  if (pattern === '*') return { kind: 'any' }
  const t = variables ? resourceTemplate(pattern) : literalTemplate(pattern)
  if (t.hasVariables) return { kind: 'template', template: t, pattern, rule, cache: new Map() }
  const tokens = staticTokens(t)
  const split = splitArnTokens(tokens)
  return {
    kind: 'static',
    rule,
    wildcardType: wildcardResourceType(pattern),
    short: classifyShort(split),
    segments: split.map((seg) => compileTokens(seg)),
    whole: compileTokens(tokens),
    pattern,
  }
}

function compileCondition(c: ConditionModel, variables: boolean, path: string): CompiledCondition {
  const parsed = parseOperator(c.operator)
  if (parsed === undefined) {
    throw new PolicyError('UNKNOWN_OPERATOR', `unknown condition operator \`${c.operator}\``, {
      path,
    })
  }
  const vars = variables && parsed.entry.allowsVariables
  return {
    operator: c.operator,
    key: c.key,
    lowerKey: c.key.toLowerCase(),
    entry: parsed.entry,
    set: parsed.set,
    ifExists: parsed.ifExists,
    matchers: c.values.map((v) => parsed.entry.compile(v, vars)),
    nullValues: c.values.map((v) =>
      v.toLowerCase() === 'true' ? true : v.toLowerCase() === 'false' ? false : undefined,
    ),
  }
}

/** Policy types whose statements must name a principal to apply. */
const NAMES_PRINCIPALS: ReadonlySet<PolicyType> = new Set(['resource', 'trust', 'vpce'])

/**
 * Parses and compiles a policy once, for many evaluations.
 * @example
 * const trust = compilePolicy(roleTrustDocument, { id: 'trust', type: 'trust' })
 */
export function compilePolicy(
  document: string | object,
  options: CompileOptions = {},
): CompiledPolicy {
  const model = parsePolicy(document)
  const type = options.type ?? 'identity'
  const id = options.id ?? type
  const version = options.assumeVersion ?? model.version
  const variables = version === '2012-10-17'
  const statements = model.statements.map((s, index): CompiledStatement => {
    const path = model.statements.length > 1 ? `Statement[${index}]` : 'Statement'
    const ref: StatementRef = {
      policyId: id,
      policyType: type,
      index,
      effect: s.effect,
      ...(s.sid === undefined ? {} : { sid: s.sid }),
    }
    const principal = s.principal ?? s.notPrincipal
    const actions = s.action ?? s.notAction
    const resources = s.resource ?? s.notResource
    return {
      ref,
      inert: NAMES_PRINCIPALS.has(type) && principal === undefined,
      deny: s.effect === 'Deny',
      principal: principal === undefined ? undefined : compilePrincipal(principal),
      principalNegated: s.principal === undefined && s.notPrincipal !== undefined,
      // Action names are case-insensitive (IAM User Guide, "Action"): compile lower-cased globs.
      actions: actions?.map((a) => compileGlob(a.toLowerCase())),
      actionNegated: s.action === undefined && s.notAction !== undefined,
      resources: resources?.map((r) => compileResource(r, variables, shortArnRules[type])),
      resourceNegated: s.resource === undefined && s.notResource !== undefined,
      conditions: s.conditions.map((c, i) =>
        compileCondition(c, variables, `${path}.Condition[${i}]`),
      ),
    }
  })
  return { id, type, version: model.version, model, statements }
}
