/**
 * CEL conformance for workload identity federation: the cel-spec conformance suites (as packaged by
 * @bufbuild/cel-spec, a devDependency) run through src/gcp/cel — podtrust's environment, not the library's
 * bare one — for the features Google's attribute mappings and conditions use
 * (https://cloud.google.com/iam/docs/workload-identity-federation#conditions): literals, field access and
 * `has()`, `in`, comparisons, logical operators, the macros, string functions (`startsWith`, `endsWith`,
 * `contains`, `matches`, `size`) and the string extensions, lists and maps. Suites about protobuf messages,
 * timestamps, optionals and other extensions are out of scope: no token claim is one of those.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { tests } from '@bufbuild/cel-spec/testdata/conformance.js'
import { isCelList, isCelMap, isCelUint, type CelValue } from '@bufbuild/cel'
import { CelError, compile } from '../../src/gcp/cel/index.ts'

/** [suite, sub-suites (all when omitted)] of the conformance data that Google's conditions can reach. */
const SELECTED: [string, string[]?][] = [
  [
    'basic',
    ['self_eval_zeroish', 'self_eval_nonzeroish', 'variables', 'functions', 'reserved_const'],
  ],
  [
    'comparisons',
    [
      'eq_literal',
      'ne_literal',
      'lt_literal',
      'gt_literal',
      'lte_literal',
      'gte_literal',
      'in_list_literal',
      'in_map_literal',
    ],
  ],
  ['fields', ['map_fields', 'map_has', 'quoted_map_fields', 'in']],
  ['lists', ['concatenation', 'index', 'in', 'size']],
  ['logic'],
  ['macros'],
  ['conversions', ['int', 'string', 'bool']],
  ['string', ['size', 'starts_with', 'ends_with', 'matches', 'concatenation', 'contains']],
  ['string_ext', ['ascii_casing', 'replace', 'split', 'trim', 'join', 'index_of', 'substring']],
  ['parse', ['string_literals', 'whitespace', 'comments', 'selectors', 'receiver_function_names']],
]

/**
 * Cases where podtrust's answer differs from the suite's, each with the reason; the test fails if one of
 * these starts passing (drop it then) or another starts failing.
 */
const BACKTICK =
  "backtick-quoted field names (a.`b-c`, cel-spec 0.24) are not in @bufbuild/cel 0.6.1: use the index form assertion['b-c']"
const KNOWN: Record<string, string> = {
  'fields/quoted_map_fields/field_access_slash': BACKTICK,
  'fields/quoted_map_fields/field_access_dash': BACKTICK,
  'fields/quoted_map_fields/field_access_dot': BACKTICK,
  'fields/quoted_map_fields/has_field_slash': BACKTICK,
  'fields/quoted_map_fields/has_field_dash': BACKTICK,
  'fields/quoted_map_fields/has_field_dot': BACKTICK,
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
interface SimpleTest {
  name?: string
  expr: string
  value?: Json
  evalError?: Json
  bindings?: Record<string, { value?: Json }>
  typeEnv?: Json
  container?: string
  disableCheck?: boolean
  checkOnly?: boolean
  typedResult?: Json
}
interface Suite {
  name: string
  suites?: Suite[]
  tests?: { original: SimpleTest }[]
}

/** cel.expr.Value (JSON form) → a canonical string; `undefined` when the value is outside this scope. */
function fromExpected(v: Json): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const [kind, x] = Object.entries(v)[0] ?? []
  switch (kind) {
    case 'nullValue':
      return 'null'
    case 'boolValue':
      return `bool:${String(x)}`
    case 'int64Value':
      return `int:${BigInt(x as string | number).toString()}`
    case 'uint64Value':
      return `uint:${BigInt(x as string | number).toString()}`
    case 'doubleValue':
      return `double:${Number(x)}`
    case 'stringValue':
      return `string:${JSON.stringify(x)}`
    case 'bytesValue':
      return `bytes:${Buffer.from(x as string, 'base64').toString('hex')}`
    case 'listValue': {
      const items = ((x as { values?: Json[] }).values ?? []).map(fromExpected)
      return items.includes(undefined) ? undefined : `[${items.join(',')}]`
    }
    case 'mapValue': {
      const entries = ((x as { entries?: { key: Json; value: Json }[] }).entries ?? []).map(
        (e) => [fromExpected(e.key), fromExpected(e.value)] as const,
      )
      if (entries.some(([k, val]) => k === undefined || val === undefined)) return undefined
      return `{${entries
        .map(([k, val]) => `${k}=${val}`)
        .sort()
        .join(',')}}`
    }
    default:
      return undefined
  }
}

function fromActual(v: CelValue): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return `bool:${v}`
    case 'bigint':
      return `int:${v}`
    case 'number':
      return `double:${v}`
    case 'string':
      return `string:${JSON.stringify(v)}`
  }
  if (isCelUint(v)) return `uint:${v.value}`
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`
  if (isCelList(v)) return `[${[...v].map(fromActual).join(',')}]`
  if (isCelMap(v)) {
    return `{${[...v.entries()]
      .map(([k, val]) => `${fromActual(k as CelValue)}=${fromActual(val)}`)
      .sort()
      .join(',')}}`
  }
  return `object:${String(v)}`
}

/** A binding (cel.expr.Value) as input; `undefined` when it is a message or another out-of-scope kind. */
function toInput(v: Json): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const [kind, x] = Object.entries(v)[0] ?? []
  switch (kind) {
    case 'nullValue':
      return null
    case 'boolValue':
    case 'stringValue':
      return x
    case 'int64Value':
      return BigInt(x as string | number)
    case 'doubleValue':
      return Number(x)
    case 'listValue':
      return ((x as { values?: Json[] }).values ?? []).map(toInput)
    case 'mapValue':
      return new Map(
        ((x as { entries?: { key: Json; value: Json }[] }).entries ?? []).map((e) => [
          toInput(e.key),
          toInput(e.value),
        ]),
      )
    default:
      return undefined
  }
}

interface Outcome {
  name: string
  ok: boolean
  detail: string
}

function runCase(where: string, t: SimpleTest): Outcome | undefined {
  const name = `${where}/${t.name ?? t.expr}`
  if (t.checkOnly === true || t.typeEnv !== undefined || t.container !== undefined) return undefined
  // Protocol-buffer messages: no token claim is one.
  if (/TestAllTypes|google\.protobuf\./.test(t.expr)) return undefined
  const bindings: Record<string, unknown> = {}
  for (const [k, b] of Object.entries(t.bindings ?? {})) {
    const input = b.value === undefined ? undefined : toInput(b.value)
    if (input === undefined || (Array.isArray(input) && input.includes(undefined))) return undefined
    bindings[k] = input
  }
  const expected = t.value === undefined ? undefined : fromExpected(t.value)
  if (t.value !== undefined && expected === undefined) return undefined
  if (t.value === undefined && t.evalError === undefined) return undefined
  let got: string
  try {
    got = fromActual(compile(t.expr).evaluate(bindings as never))
  } catch (err) {
    if (!(err instanceof CelError)) return { name, ok: false, detail: `threw ${String(err)}` }
    if (t.evalError !== undefined) return { name, ok: true, detail: '' }
    return { name, ok: false, detail: `${err.code}: ${err.message}` }
  }
  if (t.evalError !== undefined) return { name, ok: false, detail: `expected an error, got ${got}` }
  return { name, ok: got === expected, detail: `expected ${expected}, got ${got}` }
}

function select(): Outcome[] {
  const out: Outcome[] = []
  for (const [suiteName, subs] of SELECTED) {
    const suite = (tests as Suite).suites?.find((s) => s.name === suiteName)
    assert.ok(suite, `suite ${suiteName} is in the data`)
    for (const sub of suite.suites ?? []) {
      if (subs !== undefined && !subs.includes(sub.name)) continue
      for (const t of sub.tests ?? []) {
        const o = runCase(`${suiteName}/${sub.name}`, t.original)
        if (o !== undefined) out.push(o)
      }
    }
  }
  return out
}

void describe('CEL conformance (cel-spec suites through src/gcp/cel)', () => {
  void it('passes every selected case but the known, explained ones', () => {
    const outcomes = select()
    const failed = outcomes.filter((o) => !o.ok)
    const unexpected = failed.filter((o) => KNOWN[o.name] === undefined)
    const fixed = Object.keys(KNOWN).filter((n) => !failed.some((o) => o.name === n))
    assert.ok(outcomes.length > 500, `ran ${outcomes.length} cases`)
    assert.deepEqual(
      unexpected.map((o) => `${o.name}: ${o.detail}`),
      [],
      `${outcomes.length - failed.length}/${outcomes.length} passed`,
    )
    assert.deepEqual(fixed, [], 'known divergences that now pass: drop them from KNOWN')
  })
})
