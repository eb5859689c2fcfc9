/**
 * @module policy/validate
 * Two layers, kept apart (as IAM and IAM Access Analyzer keep them:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-validation.html):
 * 1. save-time validation: what IAM rejects, with IAM's exact MalformedPolicyDocument messages (checked against
 *    the AWS-verified moto corpus), plus size quotas;
 * 2. Access-Analyzer-style findings (ERROR, SECURITY_WARNING, WARNING, SUGGESTION), including trust-policy checks.
 * Pure; never throws.
 */
import { parseOperator } from './operators.ts'
import { policyTypes, type Finding, type PolicyType } from './types.ts'

export interface ValidateOptions {
  /** Default: 'managed' (a customer managed identity policy, as `iam:CreatePolicy`). */
  type?: PolicyType
  /** Trust policy size quota in characters (default 2,048; AWS allows raising it to 4,096). */
  trustPolicyMaxSize?: number
}

export interface ValidationResult {
  errors: Finding[]
  findings: Finding[]
}

const MSG = {
  syntax: 'Syntax errors in policy.',
  version: 'Policy document must be version 2012-10-17 or greater.',
  legacy: 'The policy failed legacy parsing',
  sid: 'Statement IDs (SID) in a single policy must be unique.',
  actions: 'Policy statement must contain actions.',
  resources: 'Policy statement must contain resources.',
  vendor: 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
  colon: 'Actions/Condition can contain only one colon.',
  principal: 'Policy document should not specify a principal.',
  resourceVendor: 'Resource vendor must be fully qualified and cannot contain regexes.',
  // IAM's wording as AWS returns it (AWS-recorded responses; no final period).
  trustResource: 'Has prohibited field Resource',
  trustNotPrincipal: 'Has prohibited field NotPrincipal',
  missingPrincipal: 'Missing required field Principal',
  trustActions: 'AssumeRole policy may only specify STS AssumeRole actions.',
  invalidJson: 'This policy contains invalid Json',
} as const

const VALID_TOP = new Set(['Version', 'Id', 'Statement'])
const VALID_VERSIONS = new Set(['2008-10-17', '2012-10-17'])
const STATEMENT_KEYS = new Set([
  'Sid',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Effect',
  'Condition',
])
const PARTITIONS = new Set(['aws', 'aws-cn', 'aws-us-gov'])
const IAM_PATHS = [
  'user/',
  'federated-user/',
  'role/',
  'group/',
  'instance-profile/',
  'mfa/',
  'server-certificate/',
  'policy/',
  'sms-mfa/',
  'saml-provider/',
  'oidc-provider/',
  'report/',
  'access-report/',
]
const REGION_MESSAGES: Record<string, (r: string) => string> = {
  iam: (r) => `IAM resource ${r} cannot contain region information.`,
  s3: (r) => `Resource ${r} can not contain region information.`,
}

/** A save-time rejection; `message` is IAM's text. */
class Rejected extends Error {}
const reject = (message: string): never => {
  throw new Rejected(message)
}
const check = (ok: unknown, message: string): void => {
  if (!ok) reject(message)
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const isIdentityType = (t: PolicyType): boolean =>
  t === 'identity' || t === 'managed' || t === 'inline' || t === 'boundary' || t === 'session'

function partition(s: string, sep: string): [string, string, string] {
  const i = s.indexOf(sep)
  return i < 0 ? [s, '', ''] : [s.slice(0, i), sep, s.slice(i + sep.length)]
}

/** Python-style int(): optional sign, digits (underscores between digits), surrounding whitespace. */
function pyInt(s: string): bigint {
  const t = s.trim()
  if (!/^[+-]?\d+(?:_\d+)*$/.test(t)) reject(MSG.legacy)
  return BigInt(t.replace(/_/g, ''))
}

function inRange(s: string, lo: bigint, hi: bigint): void {
  const n = pyInt(s)
  check(n >= lo && n <= hi, MSG.legacy)
}

/** IAM's legacy date parser: ISO 8601 with its own range rules, or epoch seconds (moto corpus). */
function legacyDate(value: string): void {
  const v = value.toLowerCase()
  if (!(v.includes('t') || v.includes('-'))) {
    inRange(value, 0n, 9223372036854775807n)
    return
  }
  const [datePart, , timePart] = partition(v, 't')
  const negative = datePart.startsWith('-')
  const dateParts = (negative ? datePart.slice(1) : datePart).split('-')
  inRange((negative ? '-' : '') + dateParts[0]!, -292275054n, 292278993n)
  if (dateParts.length > 1) inRange(dateParts[1]!, 1n, 12n)
  if (dateParts.length > 2) inRange(dateParts[2]!, 1n, 31n)
  check(dateParts.length < 4, MSG.legacy)
  const time = timePart.split(':')
  if (time[0] !== '') inRange(time[0]!, 0n, 23n)
  if (time.length > 1) inRange(time[1]!, 0n, 59n)
  if (time.length > 2) {
    const t2 = time[2]!
    let seconds: string
    if (t2.includes('z')) {
      const [a, , b] = partition(t2, 'z')
      check(b === '', MSG.legacy)
      seconds = a
    } else if (t2.includes('+')) {
      const [a, , tz] = partition(t2, '+')
      seconds = a
      const [hours, sep, minutes] = partition(tz, ':')
      check(hours.length === 2, MSG.legacy)
      inRange(hours, 0n, 23n)
      if (sep === ':') {
        check(minutes.length === 2, MSG.legacy)
        inRange(minutes, 0n, 59n)
      }
    } else seconds = t2
    const [whole, dot, fraction] = partition(seconds, '.')
    inRange(whole, 0n, 59n)
    if (dot === '.') inRange(fraction, 0n, 999999999n)
  }
}

function stripOperator(name: string): string {
  let n = name
  for (const p of ['ForAnyValue:', 'ForAllValues:']) {
    if (n.startsWith(p)) {
      n = n.slice(p.length)
      break
    }
  }
  if (n.endsWith('IfExists')) n = n.slice(0, -'IfExists'.length)
  return n
}

const KNOWN_OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
])

const isScalar = (v: unknown): boolean =>
  typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number'

function syntaxOfStatement(s: unknown, type: PolicyType): void {
  check(isObject(s), MSG.syntax)
  const st = s as Json
  for (const k of Object.keys(st)) {
    const principalKey = k === 'Principal' || k === 'NotPrincipal'
    // Identity policies get IAM's dedicated message for a Principal later; other unknown keys are syntax errors.
    check(STATEMENT_KEYS.has(k) || principalKey, MSG.syntax)
  }
  check(!('Resource' in st && 'NotResource' in st), MSG.syntax)
  check(!('Action' in st && 'NotAction' in st), MSG.syntax)
  check(!('Principal' in st && 'NotPrincipal' in st), MSG.syntax)
  check(typeof st['Effect'] === 'string', MSG.syntax)
  check(['allow', 'deny'].includes((st['Effect'] as string).toLowerCase()), MSG.syntax)
  for (const k of ['Action', 'NotAction', 'Resource', 'NotResource']) {
    if (!(k in st)) continue
    const v = st[k]
    check(typeof v === 'string' || Array.isArray(v), MSG.syntax)
    if (Array.isArray(v)) for (const x of v) check(typeof x === 'string' || x === null, MSG.syntax)
  }
  for (const k of ['Principal', 'NotPrincipal']) {
    if (!(k in st)) continue
    const v = st[k]
    if (v === '*') continue
    check(isObject(v) || (typeof v === 'string' && type !== 'trust'), MSG.syntax)
    if (isObject(v)) {
      for (const [pk, pv] of Object.entries(v)) {
        check(['AWS', 'Federated', 'Service', 'CanonicalUser'].includes(pk), MSG.syntax)
        check(
          typeof pv === 'string' || (Array.isArray(pv) && pv.every((x) => typeof x === 'string')),
          MSG.syntax,
        )
      }
    }
  }
  if ('Condition' in st) {
    const c = st['Condition']
    check(isObject(c), MSG.syntax)
    for (const [op, block] of Object.entries(c as Json)) {
      check(isObject(block), MSG.syntax)
      for (const v of Object.values(block as Json)) {
        check(isScalar(v) || (Array.isArray(v) && v.every(isScalar)), MSG.syntax)
      }
      if (!KNOWN_OPERATORS.has(stripOperator(op)))
        check(Object.keys(block as Json).length === 0, MSG.syntax)
    }
  }
  if ('Sid' in st) check(typeof st['Sid'] === 'string', MSG.syntax)
}

const listOf = (v: unknown): string[] =>
  typeof v === 'string'
    ? [v]
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === 'string')
      : []

interface ResourceState {
  error: string
}

function resourceFormat(resource: string, state: ResourceState): void {
  if (resource === '*') return
  const [, sep, rest] = partition(resource, ':')
  if (sep === '') {
    state.error = `Resource ${resource} must be in ARN format or "*".`
    return
  }
  const [part, sep2, rest2] = partition(rest, ':')
  if (!PARTITIONS.has(part)) {
    const r = rest2.split(':')
    const a1 = r[0] !== '' || r.length > 1 ? r[0]! : '*'
    const a2 = r.length > 1 ? r[1]! : '*'
    const a3 = r.length > 2 ? r[2]! : '*'
    const a4 = r.length > 3 ? r.slice(3).join(':') : '*'
    state.error = `Partition "${part}" is not valid for resource "arn:${part}:${a1}:${a2}:${a3}:${a4}".`
    return
  }
  if (sep2 !== ':') {
    state.error = MSG.resourceVendor
    return
  }
  const [service, , rest3] = partition(rest2, ':')
  const regionMessage = REGION_MESSAGES[service]
  // S3 access points, jobs and the like are regional resources; only buckets and objects are global.
  const regionalS3 =
    service === 's3' &&
    /^[^:]*:[^:]*:(accesspoint|job|storage-lens|async-request|access-grants|outpost)[/:]/.test(
      rest3,
    )
  if (regionMessage !== undefined && !rest3.startsWith(':') && !regionalS3) {
    state.error = regionMessage(resource)
    return
  }
  const rest5 = partition(partition(rest3, ':')[2], ':')[2]
  if (service === 'iam' && !IAM_PATHS.some((p) => rest5.startsWith(p))) {
    state.error = `IAM resource path must either be "*" or start with ${IAM_PATHS.join(', ')}.`
  }
}

function legacyResources(value: unknown): void {
  const check5 = (r: string): boolean => r.split(':').length - 1 >= 5 || !r.includes('::')
  if (typeof value === 'string') {
    if (value === '*') return
    check(check5(value), MSG.legacy)
    const third = value.split(':')[2]
    check(third !== undefined && third !== '', MSG.legacy)
    return
  }
  for (const r of listOf(value)) {
    if (r === '*') continue
    check(check5(r), MSG.legacy)
    // IAM's legacy parser looks at the third *character* of each list entry here (moto, AWS-verified).
    check(r.length > 2 && r[2] !== '', MSG.legacy)
  }
}

function actionPrefix(action: string): void {
  const parts = action.split(':')
  if (parts.length === 1 && parts[0] !== '*') reject(MSG.vendor)
  else if (parts.length > 2) reject(MSG.colon)
  if (parts[0] !== '*' && /[^a-zA-Z0-9\-.]/.test(parts[0]!))
    reject(`Vendor ${parts[0]} is not valid`)
}

const TRUST_ACTIONS =
  /^sts:(assumerole|assumerolewithsaml|assumerolewithwebidentity|tagsession|setsourceidentity|setcontext|\*)$/i

/** Parses the document and checks its grammar; returns the document and its statements. */
function parseForSave(document: string, type: PolicyType): { doc: Json; sts: Json[] } {
  let json: unknown
  try {
    json = JSON.parse(document)
  } catch {
    // Text that is not JSON at all; valid JSON of the wrong shape is a syntax error (below).
    reject(MSG.invalidJson)
  }
  check(isObject(json), MSG.syntax)
  const doc = json as Json
  for (const k of Object.keys(doc)) check(VALID_TOP.has(k), MSG.syntax)
  if ('Version' in doc) check(VALID_VERSIONS.has(doc['Version'] as string), MSG.syntax)
  if ('Id' in doc) check(typeof doc['Id'] === 'string', MSG.syntax)
  check('Statement' in doc, MSG.syntax)
  const raw = doc['Statement']
  check(isObject(raw) || Array.isArray(raw), MSG.syntax)
  const statements: unknown[] = Array.isArray(raw) ? raw : [raw]
  check(statements.length > 0, MSG.syntax)
  for (const s of statements) syntaxOfStatement(s, type)
  const sts = statements as Json[]
  return { doc, sts }
}

/**
 * The legacy parser's checks (Effect, Date conditions, Resource formats), answered with its one message; a
 * resource-format problem is remembered in the returned state and reported later, as IAM orders them.
 */
function legacyChecks(sts: Json[]): ResourceState {
  const state: ResourceState = { error: '' }
  try {
    for (const s of sts) {
      check(s['Effect'] === 'Allow' || s['Effect'] === 'Deny', MSG.legacy)
      for (const [op, block] of Object.entries((s['Condition'] as Json | undefined) ?? {})) {
        if (!stripOperator(op).startsWith('Date')) continue
        for (const v of Object.values(block as Json)) {
          for (const x of Array.isArray(v) ? v : [v]) legacyDate(String(x))
        }
      }
    }
    for (const key of ['Resource', 'NotResource']) {
      for (const s of sts) {
        if (!(key in s)) continue
        const v = s[key]
        const list = typeof v === 'string' ? [v] : [...listOf(v)].sort().reverse()
        for (const r of list) resourceFormat(r, state)
        if (state.error === '') legacyResources(v)
      }
    }
  } catch (err) {
    if (err instanceof Rejected) reject(MSG.legacy)
    throw err
  }
  return state
}

function uniqueSids(sts: Json[]): void {
  const sids = new Set<string>()
  for (const s of sts) {
    const sid = s['Sid']
    if (typeof sid === 'string' && sid !== '') {
      check(!sids.has(sid), MSG.sid)
      sids.add(sid)
    }
  }
}

/** A statement has `a` or `b`, and a list value is not empty. */
function hasMember(s: Json, a: string, b: string): boolean {
  if (!(a in s) && !(b in s)) return false
  if (a in s && Array.isArray(s[a])) return (s[a] as unknown[]).length > 0
  if (!(a in s) && Array.isArray(s[b])) return (s[b] as unknown[]).length > 0
  return true
}

/** What each policy type adds: trust policies, resource policies, resource control policies. */
function typeChecks(sts: Json[], type: PolicyType): void {
  if (type === 'trust') {
    for (const s of sts) {
      check(!('Resource' in s) && !('NotResource' in s), MSG.trustResource)
      check(!('NotPrincipal' in s), MSG.trustNotPrincipal)
      check('Principal' in s, MSG.missingPrincipal)
      for (const a of listOf(s['Action'] ?? s['NotAction']))
        check(TRUST_ACTIONS.test(a) || a === '*', MSG.trustActions)
    }
  }
  if (type === 'resource' || type === 'vpce')
    for (const s of sts) check('Principal' in s || 'NotPrincipal' in s, MSG.missingPrincipal)
  if (type === 'rcp') {
    for (const s of sts) {
      check(!('NotPrincipal' in s), 'NotPrincipal is not supported in resource control policies.')
      check(!('NotAction' in s), 'NotAction is not supported in resource control policies.')
      if (s['Effect'] === 'Allow') {
        check(
          listOf(s['Action']).includes('*') &&
            listOf(s['Resource']).includes('*') &&
            !('Condition' in s),
          'Resource control policies may only Allow "*" on "*" (RCPFullAWSAccess); use Deny statements.',
        )
      } else
        check(
          s['Principal'] === '*' || !('Principal' in s),
          'Resource control policies must use Principal "*".',
        )
    }
  }
}

/** The IAM save-time checks, in IAM's order; throws Rejected with IAM's message. */
function saveTimeChecks(document: string, type: PolicyType): void {
  const { doc, sts } = parseForSave(document, type)
  if (isIdentityType(type) && sts.some((s) => 'Principal' in s || 'NotPrincipal' in s))
    reject(MSG.principal)
  // Managed policies (and boundaries, which are managed policies) need 2012-10-17; inline and trust do not.
  if (type === 'managed' || type === 'boundary') check(doc['Version'] === '2012-10-17', MSG.version)
  const state = legacyChecks(sts)
  uniqueSids(sts)
  for (const s of sts) check(hasMember(s, 'Action', 'NotAction'), MSG.actions)
  if (state.error !== '') reject(state.error)
  // IAM reports a bad action vendor before a missing Resource (moto corpus, AWS-verified).
  for (const key of ['Action', 'NotAction'])
    for (const s of sts) for (const a of listOf(s[key])) actionPrefix(a)
  if (type !== 'trust' && type !== 'resource' && type !== 'vpce') {
    for (const s of sts) check(hasMember(s, 'Resource', 'NotResource'), MSG.resources)
  }
  typeChecks(sts, type)
}

/** Characters IAM counts toward quotas: all but whitespace outside JSON strings (IAM User Guide, quotas). */
export function policySize(document: string, countWhitespace = false): number {
  if (countWhitespace) return document.length
  let n = 0
  let inString = false
  for (let i = 0; i < document.length; i++) {
    const c = document[i]!
    if (inString) {
      n++
      if (c === '\\') {
        n++
        i++
      } else if (c === '"') inString = false
    } else if (c === '"') {
      inString = true
      n++
    } else if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') n++
  }
  return n
}

function sizeError(
  document: string,
  type: PolicyType,
  options: ValidateOptions,
): Finding | undefined {
  const quota = (
    {
      managed: ['PolicySize', 6144, false],
      boundary: ['PolicySize', 6144, false],
      identity: ['PolicySize', 6144, false],
      inline: ['PolicySize', 10240, false],
      session: ['PolicySize', 2048, false],
      trust: ['ACLSizePerRole', options.trustPolicyMaxSize ?? 2048, false],
      resource: ['PolicySize', 20480, false],
      scp: ['PolicySize', 5120, true],
      rcp: ['PolicySize', 5120, true],
      // "The size of an endpoint policy cannot exceed 20,480 characters, including white space" (PrivateLink guide).
      vpce: ['PolicySize', 20480, true],
    } as const satisfies Record<PolicyType, readonly [string, number, boolean]>
  )[type]
  const size = policySize(document, quota[2])
  if (size <= quota[1]) return undefined
  return {
    severity: 'ERROR',
    code: 'LimitExceeded',
    message: `Cannot exceed quota for ${quota[0]}: ${quota[1]}`,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Access-Analyzer-style findings. Codes: the check title in upper snake case (Access Analyzer's issueCode style).

const MULTIVALUED_GLOBAL_KEYS = new Set([
  'aws:tagkeys',
  'aws:calledvia',
  'aws:principalorgpaths',
  'aws:resourceorgpaths',
  'aws:sourceorgpaths',
  'aws:principalservicenamesList'.toLowerCase(),
])

function finding(
  severity: Finding['severity'],
  code: string,
  message: string,
  path?: string,
): Finding {
  return path === undefined ? { severity, code, message } : { severity, code, message, path }
}

const OIDC_PROVIDER = /^arn:aws[\w-]*:iam::\d{12}:oidc-provider\/(.+)$/
const SAML_PROVIDER = /^arn:aws[\w-]*:iam::\d{12}:saml-provider\//
const WELL_KNOWN_OIDC = new Set([
  'accounts.google.com',
  'cognito-identity.amazonaws.com',
  'graph.facebook.com',
  'www.amazon.com',
])

function analyze(doc: Json, type: PolicyType): Finding[] {
  const out: Finding[] = []
  const version = doc['Version']
  if (version === undefined) {
    out.push(
      finding(
        'WARNING',
        'MISSING_VERSION',
        'We recommend that you specify the Version element to help you with debugging permission issues.',
        'Version',
      ),
    )
  }
  const raw = doc['Statement']
  const sts = (Array.isArray(raw) ? raw : [raw]).filter(isObject)
  sts.forEach((s, i) => {
    const path = Array.isArray(raw) ? `Statement[${i}]` : 'Statement'
    out.push(...statementFindings(s, path, type, version))
  })
  return out
}

/** The findings of one statement, in the order Access Analyzer reports them. */
function statementFindings(s: Json, path: string, type: PolicyType, version: unknown): Finding[] {
  const out: Finding[] = []
  const allow = s['Effect'] === 'Allow'
  if (allow && 'NotPrincipal' in s) {
    out.push(
      finding(
        'SECURITY_WARNING',
        'ALLOW_WITH_NOT_PRINCIPAL',
        'Using Allow with NotPrincipal can be overly permissive. We recommend that you use Principal instead.',
        `${path}.NotPrincipal`,
      ),
    )
  }
  const condKeys = conditionFindings(s, path, out)
  if (version !== '2012-10-17' && JSON.stringify(s).includes('${')) {
    out.push(
      finding(
        'WARNING',
        'VARIABLE_WITHOUT_VERSION',
        'Policy variables are literal text unless Version is 2012-10-17.',
        path,
      ),
    )
  }
  const principal = s['Principal']
  const actions = listOf(s['Action']).map((a) => a.toLowerCase())
  if (type === 'trust') out.push(...trustPrincipalFindings(principal, path, allow))
  if (isObject(principal) && allow)
    out.push(...federatedFindings(principal, path, actions, condKeys))
  if (
    allow &&
    isIdentityType(type) &&
    actions.some((a) => a === 'iam:passrole' || a === 'iam:*' || a === '*') &&
    listOf(s['Resource']).includes('*')
  ) {
    out.push(
      finding(
        'SECURITY_WARNING',
        'PASS_ROLE_WITH_STAR_IN_RESOURCE',
        'Using iam:PassRole with "*" in Resource can be overly permissive.',
        `${path}.Resource`,
      ),
    )
  }
  return out
}

/** Condition-block findings (pushed to `out`); returns the statement's condition keys, lowercased. */
function conditionFindings(s: Json, path: string, out: Finding[]): string[] {
  const conds = isObject(s['Condition']) ? (s['Condition'] as Json) : {}
  const condKeys: string[] = []
  if (isObject(s['Condition']) && Object.keys(conds).length === 0) {
    out.push(
      finding(
        'SUGGESTION',
        'EMPTY_OBJECT_CONDITION',
        'The Condition element is an empty object; remove it.',
        `${path}.Condition`,
      ),
    )
  }
  for (const [op, block] of Object.entries(conds)) {
    if (!isObject(block)) continue
    if (Object.keys(block).length === 0) {
      out.push(
        finding(
          'SUGGESTION',
          'EMPTY_OBJECT_CONDITION',
          `The \`${op}\` block has no condition keys; remove it.`,
          `${path}.Condition.${op}`,
        ),
      )
    }
    if (/^(ForAnyValue|ForAllValues):Null$/i.test(op)) {
      out.push(
        finding(
          'SUGGESTION',
          'NULL_WITH_QUALIFIER',
          'The Null operator tests whether a key is present; a set qualifier has no effect on it.',
          `${path}.Condition.${op}`,
        ),
      )
    }
    const parsed = parseOperator(op)
    if (parsed === undefined && Object.keys(block).length > 0) {
      out.push(
        finding(
          'ERROR',
          'INVALID_CONDITION_OPERATOR',
          `The condition operator \`${op}\` is not valid.`,
          `${path}.Condition.${op}`,
        ),
      )
    }
    if (/^null/i.test(stripOperator(op)) && /ifexists$/i.test(op)) {
      out.push(
        finding(
          'ERROR',
          'NULL_WITH_IF_EXISTS',
          'The Null condition operator cannot be used with IfExists.',
          `${path}.Condition.${op}`,
        ),
      )
    }
    for (const [key, values] of Object.entries(block)) {
      condKeys.push(key.toLowerCase())
      out.push(...conditionKeyFindings(op, parsed, key, values, path))
    }
  }
  return condKeys
}

/** One condition key under operator `op`: set qualifiers on single-valued keys, wildcards, GitHub's `:sub`. */
function conditionKeyFindings(
  op: string,
  parsed: ReturnType<typeof parseOperator>,
  key: string,
  values: unknown,
  path: string,
): Finding[] {
  const out: Finding[] = []
  const lk = key.toLowerCase()
  if (
    parsed?.set === 'ForAllValues' &&
    (lk.endsWith(':sub') ||
      (lk.startsWith('aws:') &&
        !MULTIVALUED_GLOBAL_KEYS.has(lk) &&
        !lk.startsWith('aws:requesttag')))
  ) {
    out.push(
      finding(
        'SECURITY_WARNING',
        'FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY',
        `Using ForAllValues with the single-valued key \`${key}\` can be overly permissive: it matches when the key is missing.`,
        `${path}.Condition.${op}.${key}`,
      ),
    )
  }
  const list = Array.isArray(values) ? values : [values]
  if (
    parsed?.entry.family === 'String' &&
    !parsed.entry.allowsWildcards &&
    list.some((v) => typeof v === 'string' && /[*?]/.test(v.replace(/\$\{[^}]*\}/g, '')))
  ) {
    out.push(
      finding(
        'WARNING',
        'WILDCARD_WITHOUT_LIKE_OPERATOR',
        `\`${op}\` compares \`*\` and \`?\` literally; use StringLike for wildcards.`,
        `${path}.Condition.${op}.${key}`,
      ),
    )
  }
  if (
    lk === 'token.actions.githubusercontent.com:sub' &&
    list.some((v) => typeof v === 'string' && v.includes('*'))
  ) {
    out.push(
      finding(
        'WARNING',
        'SPECIFIC_GITHUB_REPO_AND_BRANCH_RECOMMENDED',
        'Use a specific GitHub repository and branch in token.actions.githubusercontent.com:sub.',
        `${path}.Condition.${op}.${key}`,
      ),
    )
  }
  return out
}

/** Trust-policy principals: a role listed beside one of its sessions; `"Principal": "*"`. */
function trustPrincipalFindings(principal: unknown, path: string, allow: boolean): Finding[] {
  const out: Finding[] = []
  if (isObject(principal)) {
    // A role and one of its sessions both listed: the session entry is redundant.
    const aws = listOf(principal['AWS'])
    const roles = new Set(
      aws
        .map((a) => /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(a))
        .filter((m) => m !== null)
        .map((m) => `${m[1]}/${m[2]}`),
    )
    for (const a of aws) {
      const m = /^arn:aws[\w-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(a)
      if (m !== null && roles.has(`${m[1]}/${m[2]}`)) {
        out.push(
          finding(
            'SUGGESTION',
            'REDUNDANT_PRINCIPAL_IN_ROLE_TRUST_POLICY',
            `\`${a}\` is redundant: its role is also listed.`,
            `${path}.Principal.AWS`,
          ),
        )
      }
    }
  }
  if (principal === '*' && allow) {
    out.push(
      finding(
        'ERROR',
        'ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL',
        '"Principal": "*" is not supported in a role trust policy; name the principals.',
        `${path}.Principal`,
      ),
    )
  }
  return out
}

/** Federated principals: the action must match the provider kind; OIDC principals need condition keys. */
function federatedFindings(
  principal: Json,
  path: string,
  actions: string[],
  condKeys: string[],
): Finding[] {
  const out: Finding[] = []
  for (const fed of listOf(principal['Federated'])) {
    const oidc = OIDC_PROVIDER.exec(fed)
    const host =
      oidc !== null
        ? oidc[1]!
        : WELL_KNOWN_OIDC.has(fed) || fed === 'token.actions.githubusercontent.com'
          ? fed
          : undefined
    if (SAML_PROVIDER.test(fed) && actions.includes('sts:assumerolewithwebidentity')) {
      out.push(
        finding(
          'ERROR',
          'MISMATCHED_ACTION_FOR_PRINCIPAL',
          'A SAML provider cannot be used with sts:AssumeRoleWithWebIdentity.',
          `${path}.Action`,
        ),
      )
    }
    if (host === undefined) continue
    if (actions.includes('sts:assumerolewithsaml')) {
      out.push(
        finding(
          'ERROR',
          'MISMATCHED_ACTION_FOR_PRINCIPAL',
          'An OIDC provider cannot be used with sts:AssumeRoleWithSAML.',
          `${path}.Action`,
        ),
      )
    }
    out.push(...oidcConditionFindings(host, oidc !== null, condKeys, path))
  }
  return out
}

/** An OIDC provider's condition keys: some at all; GitHub's `:sub`; podtrust's stricter `:sub` and `:aud`. */
function oidcConditionFindings(
  host: string,
  registered: boolean,
  condKeys: string[],
  path: string,
): Finding[] {
  const out: Finding[] = []
  const prefix = `${host.toLowerCase()}:`
  const keys = condKeys.filter((k) => k.startsWith(prefix))
  if (keys.length === 0) {
    out.push(
      finding(
        'SECURITY_WARNING',
        'MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL',
        `Using an Open ID Connect principal without a condition can be overly permissive. Add condition keys with the prefix \`${host}:\` to ensure that only the intended identities assume the role.`,
        `${path}.Principal.Federated`,
      ),
    )
  }
  if (
    host === 'token.actions.githubusercontent.com' &&
    keys.length > 0 &&
    !keys.includes(`${prefix}sub`)
  ) {
    out.push(
      finding(
        'SECURITY_WARNING',
        'MISSING_GITHUB_REPO_CONDITION_KEY',
        'Add a token.actions.githubusercontent.com:sub condition naming the repository.',
        `${path}.Condition`,
      ),
    )
  }
  // podtrust is stricter than Access Analyzer for Kubernetes-style issuers: require both :sub and :aud.
  if (registered && host !== 'token.actions.githubusercontent.com') {
    if (!keys.includes(`${prefix}sub`)) {
      out.push(
        finding(
          'SECURITY_WARNING',
          'MISSING_OIDC_SUB_CONDITION',
          `Without a \`${host}:sub\` condition every service account of the issuer can assume the role.`,
          `${path}.Condition`,
        ),
      )
    }
    if (!keys.includes(`${prefix}aud`)) {
      out.push(
        finding(
          'SECURITY_WARNING',
          'MISSING_OIDC_AUD_CONDITION',
          `Without a \`${host}:aud\` condition tokens minted for any audience are accepted.`,
          `${path}.Condition`,
        ),
      )
    }
  }
  return out
}

/**
 * Validates a policy document as IAM does at save time (`errors`, IAM's exact messages) and reports
 * Access-Analyzer-style `findings`.
 * @example
 * validatePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}').errors[0]?.message
 * // 'Policy statement must contain resources.'
 */
export function validatePolicy(document: string, options: ValidateOptions = {}): ValidationResult {
  const type = options.type ?? 'managed'
  if (!policyTypes.includes(type))
    throw new TypeError(`options.type must be one of ${policyTypes.join(', ')}`)
  const errors: Finding[] = []
  let findings: Finding[] = []
  if (typeof document !== 'string') {
    return { errors: [finding('ERROR', 'MalformedPolicyDocument', MSG.syntax)], findings }
  }
  // Policy documents may contain only TAB, LF, CR and U+0020–U+00FF (IAM API reference, PolicyDocument).
  if (/[^\t\n\r\u0020-\u00ff]/.test(document)) {
    errors.push(finding('ERROR', 'MalformedPolicyDocument', MSG.syntax))
    return { errors, findings }
  }
  try {
    saveTimeChecks(document, type)
  } catch (err) {
    if (!(err instanceof Rejected)) throw err
    errors.push(finding('ERROR', 'MalformedPolicyDocument', err.message))
  }
  const size = sizeError(document, type, options)
  if (size !== undefined) errors.push(size)
  if (errors.length === 0 || errors[0]!.code === 'LimitExceeded') {
    try {
      findings = analyze(JSON.parse(document) as Json, type)
    } catch {
      findings = []
    }
  }
  return { errors, findings }
}
