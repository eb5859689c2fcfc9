import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isCelList, isCelMap, type CelValue } from '@bufbuild/cel'
import { CelError, compile, evaluateCondition, extract } from '../../../src/gcp/cel/index.ts'
import { toCel } from '../../../src/gcp/federation.ts'

type Plain = null | string | number | boolean | Plain[] | { [k: string]: Plain }

const claims = {
  sub: 'system:serviceaccount:default:app',
  iss: 'https://127.0.0.1:7443',
  aud: ['//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x'],
  groups: ['admins', 'devs'],
  n: 3,
  'kubernetes.io': {
    namespace: 'default',
    serviceaccount: { name: 'app', uid: 'u1' },
    pod: { name: 'p-1' },
  },
  arn: 'arn:aws:sts::123:assumed-role/app-role/session',
} satisfies Record<string, Plain>

/** A CEL result as plain JavaScript (ints as numbers), for deepEqual. */
function plain(v: CelValue): Plain {
  if (typeof v === 'bigint') return Number(v)
  if (isCelList(v)) return [...v].map(plain)
  if (isCelMap(v)) {
    return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), plain(x)]))
  }
  return v as Plain
}

const run = (source: string, activation: Record<string, unknown> = { assertion: claims }): Plain =>
  plain(
    compile(source).evaluate(
      Object.fromEntries(Object.entries(activation).map(([k, v]) => [k, toCel(v)])),
    ),
  )
const parse = compile

void test('field access by dot and index, as in the GKE guide mappings', () => {
  assert.equal(run('assertion.sub'), claims.sub)
  assert.equal(run("assertion['kubernetes.io']['namespace']"), 'default')
  assert.equal(run("assertion['kubernetes.io'].serviceaccount.name"), 'app')
  assert.equal(run('assertion.groups[1]'), 'devs')
})

void test('operators follow CEL precedence and semantics', () => {
  const cases: [string, Plain][] = [
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3],
    ['7 % 4', 3],
    ['-assertion.n', -3],
    ["'a' + 'b' == 'ab'", true],
    ['true || false && false', true],
    ['!(1 < 2)', false],
    ["'b' > 'a'", true],
    ['3 >= 3 && 2 <= 1', false],
    ["assertion.n == 3 ? 'three' : 'other'", 'three'],
    ["'admins' in assertion.groups", true],
    ["'root' in assertion.groups", false],
    ["'sub' in assertion", true],
    ['[1, 2] + [3] == [1, 2, 3]', true],
    ["{'a': 1}.a", 1],
    ['1 != 2', true],
  ]
  for (const [source, expected] of cases) assert.deepEqual(run(source), expected, source)
})

void test('string functions and macros', () => {
  assert.equal(run("assertion.sub.startsWith('system:serviceaccount:')"), true)
  assert.equal(run("assertion.sub.endsWith(':app')"), true)
  assert.equal(run("assertion.sub.contains('default')"), true)
  assert.equal(run("assertion.sub.matches('^system:serviceaccount:[a-z]+:app$')"), true)
  assert.equal(run("assertion.sub.matches('^kube')"), false)
  assert.equal(run('size(assertion.groups)'), 2)
  assert.equal(run('assertion.sub.size()'), claims.sub.length)
  assert.equal(run('has(assertion.groups)'), true)
  assert.equal(run('has(assertion.email)'), false)
  assert.equal(run("assertion.groups.exists(g, g == 'devs')"), true)
  assert.equal(run("assertion.groups.all(g, g.endsWith('s'))"), true)
  assert.deepEqual(run("assertion.groups.map(g, 'g:' + g)"), ['g:admins', 'g:devs'])
  assert.deepEqual(run("assertion.groups.filter(g, g != 'devs')"), ['admins'])
  assert.equal(run("assertion.arn.extract('assumed-role/{role_name}/')"), 'app-role')
  assert.equal(run("'ABC'.lowerAscii()"), 'abc')
  assert.equal(run("assertion.sub.split(':')[3]"), 'app')
})

void test('extract returns the part between prefix and suffix, or empty', () => {
  assert.equal(extract('projects/p1/x', 'projects/{p}/'), 'p1')
  assert.equal(extract('projects/p1', 'projects/{p}'), 'p1')
  assert.equal(extract('nothing', 'projects/{p}/'), '')
  assert.equal(extract('projects/p1', 'projects/{p}/'), '')
  assert.throws(() => extract('x', 'no placeholder'), CelError)
})

void test('logical operators absorb errors when the other side decides', () => {
  assert.equal(run('assertion.missing == 1 || true'), true)
  assert.equal(run('false && assertion.missing == 1'), false)
  assert.throws(() => run('true && assertion.missing == 1'), /not found: missing/)
  assert.throws(
    () => run('assertion.missing'),
    (e: unknown) => e instanceof CelError && e.code === 'CEL_EVAL',
  )
})

void test('type errors are evaluation errors, not coercions', () => {
  for (const source of [
    "1 + 'a'",
    "!'x'",
    "'a' < 1",
    'size(1)',
    "assertion.n.startsWith('x')",
    '1 / 0',
    'undefinedVar',
    'nosuchfn(1)',
  ]) {
    assert.throws(
      () => run(source),
      (e: unknown) => e instanceof CelError && e.code === 'CEL_EVAL',
      source,
    )
  }
})

void test('conditions must be booleans', () => {
  const attribute = toCel({ ns: 'default' })
  assert.equal(evaluateCondition(parse("attribute.ns == 'default'"), { attribute }), true)
  assert.throws(
    () => evaluateCondition(parse('attribute.ns'), { attribute }),
    /must evaluate to a bool, got string/,
  )
})

void test('claims are JSON: their numbers are CEL doubles, as at Google', () => {
  // https://github.com/google/cel-spec/blob/master/doc/langdef.md#json-data-conversion
  assert.equal(run('assertion.n == 3'), true)
  assert.equal(run('assertion.n == 3.0'), true)
  assert.throws(() => run('assertion.n + 1'), /no matching overload/)
  assert.equal(run('assertion.n + 1.0'), 4)
})

void test('a claim named __proto__ is an ordinary key', () => {
  const assertion = JSON.parse('{"__proto__": {"x": "y"}, "sub": "s"}') as Record<string, unknown>
  assert.equal(run("assertion['__proto__'].x", { assertion }), 'y')
  assert.equal(run('has(assertion.sub) && size(assertion) == 2', { assertion }), true)
})

void test('malformed expressions fail with a syntax error and an offset', () => {
  const bad = [
    '',
    'assertion.',
    "assertion['x'",
    '1 +',
    "'unterminated",
    'a ? b',
    'a b',
    '(1',
    '#',
    'assertion.sub ==== 1',
    'if',
    '[1,,2]',
    '{1: }',
    '.',
  ]
  for (const source of bad) {
    assert.throws(
      () => parse(source),
      (e: unknown) => e instanceof CelError && e.code === 'CEL_SYNTAX',
      source,
    )
  }
  assert.throws(() => parse('a'.repeat(5000)), /longer than 4096/)
  assert.throws(() => parse('['.repeat(200) + ']'.repeat(200)), /nested too deeply/)
  assert.throws(() => parse('('.repeat(2000) + '1' + ')'.repeat(2000)), /nested too deeply/)
  assert.equal(run('('.repeat(50) + '1' + ')'.repeat(50)), 1)
})

void test('string literals: escapes, raw strings, both quote styles', () => {
  assert.equal(run(String.raw`'a\'b'`), "a'b")
  assert.equal(run(String.raw`"tab\tx"`), 'tab\tx')
  assert.equal(run(String.raw`r'\d+'`), '\\d+')
  assert.equal(run(String.raw`'\x41\u0042'`), 'AB')
  assert.equal(run("'''multi'line'''"), "multi'line")
})

void test('property: string equality and concatenation agree with JavaScript', () => {
  const safe = fc.string({ maxLength: 12 }).filter((s) => !/[\\'\n\r]/.test(s))
  fc.assert(
    fc.property(safe, safe, (a, b) => {
      assert.equal(run(`'${a}' + '${b}' == '${a + b}'`), true)
      assert.equal(run(`'${a}' == '${b}'`), a === b)
      assert.equal(run(`'${a}'.startsWith('${b}')`), a.startsWith(b))
    }),
  )
})

void test('property: integer arithmetic and comparison agree with JavaScript', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -1000, max: 1000 }),
      fc.integer({ min: -1000, max: 1000 }),
      (a, b) => {
        assert.equal(run(`${a} + ${b}`), a + b)
        assert.equal(run(`${a} < ${b}`), a < b)
        assert.equal(run(`${a} * ${b} == ${a * b}`), true)
      },
    ),
  )
})

void test('matches: RE2 syntax and flag groups; constructs RE2 lacks are errors', () => {
  assert.equal(run("'System:X'.matches('(?i)^system:')"), true)
  assert.equal(run("'a\\nb'.matches('(?s)a.b')"), true)
  assert.equal(run("'a\\nb'.matches('(?m)^b$')"), true)
  assert.equal(run("'System:X'.matches('^system:')"), false)
  for (const bad of ["'aa'.matches('(a)\\\\1')", "'a'.matches('(?=a)')", "'a'.matches('[')"]) {
    assert.throws(
      () => run(bad),
      (e: unknown) => e instanceof CelError && e.code === 'CEL_EVAL',
      bad,
    )
  }
})
