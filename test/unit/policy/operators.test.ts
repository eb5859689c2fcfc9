import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compilePolicy } from '../../../src/policy/index.ts'
import { normalizeContext } from '../../../src/policy/context.ts'
import { evaluateCondition } from '../../../src/policy/evaluate.ts'
import { operators, parseOperator } from '../../../src/policy/operators.ts'

type Ctx = Record<string, string | string[]>

/** Evaluates `{ [op]: { [key]: values } }` against `ctx` under `version`. */
function cond(op: string, key: string, values: unknown, ctx: Ctx, version = '2012-10-17'): boolean {
  const p = compilePolicy({
    Version: version,
    Statement: {
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { [op]: { [key]: values } },
    },
  })
  return evaluateCondition(p.statements[0]!.conditions[0]!, normalizeContext(ctx))
}

const rows: [op: string, policy: unknown, request: string | undefined, expected: boolean][] = [
  ['StringEquals', 'a', 'a', true],
  ['StringEquals', 'a', 'A', false],
  ['StringEquals', ['x', 'a'], 'a', true],
  ['StringEquals', 'a*', 'abc', false],
  ['StringEquals', 'a', undefined, false],
  ['StringNotEquals', 'a', 'b', true],
  ['StringNotEquals', ['a', 'b'], 'b', false],
  ['StringNotEquals', 'a', undefined, true],
  ['StringEqualsIgnoreCase', 'ABC', 'abc', true],
  ['StringNotEqualsIgnoreCase', 'ABC', 'abc', false],
  ['StringLike', 'system:serviceaccount:ns:*', 'system:serviceaccount:ns:app', true],
  ['StringLike', 'system:serviceaccount:ns:*', 'system:serviceaccount:other:app', false],
  ['StringLike', 'a?c', 'abc', true],
  ['StringLike', 'a?c', 'ac', false],
  ['StringNotLike', 'a*', 'abc', false],
  ['StringNotLike', 'a*', undefined, true],
  ['NumericEquals', '10', '10.0', true],
  ['NumericEquals', 10, '10', true],
  ['NumericEquals', '10', '10abc', false],
  ['NumericNotEquals', '10', '11', true],
  ['NumericLessThan', '10', '9', true],
  ['NumericLessThanEquals', '10', '10', true],
  ['NumericGreaterThan', '10', '10', false],
  ['NumericGreaterThanEquals', '10', '10', true],
  ['DateEquals', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', true],
  ['DateNotEquals', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', true],
  ['DateLessThan', '2024-01-01T00:00:00Z', '2023-12-31T23:59:59Z', true],
  ['DateLessThanEquals', '2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', false],
  ['DateGreaterThan', '2024-01-01T00:00:00Z', '1704067201', true],
  ['DateGreaterThanEquals', '1704067200', '2024-01-01T00:00:00Z', true],
  ['Bool', 'true', 'true', true],
  ['Bool', true, 'TRUE', true],
  ['Bool', 'true', 'false', false],
  ['Bool', 'true', 'yes', false],
  ['BinaryEquals', 'QmluYXJ5', 'QmluYXJ5', true],
  ['BinaryEquals', 'QmluYXJ5', 'QmluYXJ6', false],
  ['IpAddress', '10.0.0.0/8', '10.1.2.3', true],
  ['IpAddress', '10.0.0.0/8', '11.1.2.3', false],
  ['IpAddress', '2001:db8::/32', '2001:db8:1::1', true],
  ['IpAddress', '10.0.0.1', '10.0.0.1', true],
  ['NotIpAddress', '10.0.0.0/8', '192.168.0.1', true],
  ['NotIpAddress', '10.0.0.0/8', 'not-an-ip', false],
  ['ArnEquals', 'arn:aws:iam::111122223333:role/*', 'arn:aws:iam::111122223333:role/r', true],
  ['ArnLike', 'arn:aws:s3:::*', 'arn:aws:s3:::bucket', true],
  ['ArnLike', 'arn:aws:iam::*:role/r', 'arn:aws:iam::111122223333:ROLE/r', false],
  ['ArnNotEquals', 'arn:aws:iam::111122223333:*', 'arn:aws:iam::444455556666:root', true],
  ['ArnNotLike', 'arn:aws:iam::111122223333:*', 'arn:aws:iam::111122223333:root', false],
  [
    'ArnLike',
    'arn:aws:someservice:*:111122223333:finance/*',
    'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt',
    false,
  ],
  [
    'StringLike',
    'arn:aws:someservice:*:111122223333:finance/*',
    'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt',
    true,
  ],
  ['Null', 'true', undefined, true],
  ['Null', 'true', 'x', false],
  ['Null', 'false', 'x', true],
  ['StringEqualsIfExists', 'a', undefined, true],
  ['StringEqualsIfExists', 'a', 'b', false],
  ['StringNotEqualsIfExists', 'a', undefined, true],
  ['NumericLessThanIfExists', '5', '6', false],
]

void describe('condition operators (IAM User Guide, condition operators)', () => {
  for (const [op, policy, request, expected] of rows) {
    void test(`${op} ${JSON.stringify(policy)} vs ${JSON.stringify(request)} → ${expected}`, () => {
      const ctx: Ctx = request === undefined ? {} : { 'test:Key': request }
      assert.equal(cond(op, 'test:key', policy, ctx), expected)
    })
  }

  void test('every registered operator is exercised by the table', () => {
    const used = new Set(rows.map(([op]) => parseOperator(op)!.entry.name))
    for (const o of operators) assert.ok(used.has(o.name), `${o.name} has a row`)
  })

  void test('condition key names are case-insensitive', () => {
    assert.equal(
      cond('StringEquals', 'AWS:PrincipalTag/Team', 'a', { 'aws:principaltag/team': 'a' }),
      true,
    )
  })

  void test('operator names resolve case-insensitively, NullIfExists is not an operator', () => {
    assert.equal(parseOperator('stringequals')?.entry.name, 'StringEquals')
    assert.equal(parseOperator('ForAnyValue:StringLikeIfExists')?.set, 'ForAnyValue')
    assert.equal(parseOperator('NullIfExists'), undefined)
    assert.equal(parseOperator('StringEqualz'), undefined)
  })
})

void describe('set qualifiers (ForAnyValue / ForAllValues)', () => {
  const table: [op: string, request: string[] | undefined, expected: boolean][] = [
    ['ForAnyValue:StringEquals', ['a', 'z'], true],
    ['ForAnyValue:StringEquals', ['y', 'z'], false],
    ['ForAnyValue:StringEquals', [], false],
    ['ForAnyValue:StringEquals', undefined, false],
    ['ForAllValues:StringEquals', ['a', 'b'], true],
    ['ForAllValues:StringEquals', ['a', 'z'], false],
    ['ForAllValues:StringEquals', [], true],
    ['ForAllValues:StringEquals', undefined, true],
    ['ForAllValues:StringNotEquals', ['y', 'z'], true],
    ['ForAllValues:StringNotEquals', ['a', 'z'], false],
    ['ForAnyValue:StringNotEquals', ['a', 'z'], true],
    ['ForAnyValue:StringNotEquals', ['a', 'b'], false],
  ]
  for (const [op, request, expected] of table) {
    void test(`${op} [a,b] vs ${JSON.stringify(request)} → ${expected}`, () => {
      assert.equal(
        cond(
          op,
          'aws:TagKeys',
          ['a', 'b'],
          request === undefined ? {} : { 'aws:TagKeys': request },
        ),
        expected,
      )
    })
  }
  void test('a single-valued key is a one-element set', () => {
    assert.equal(
      cond('ForAnyValue:StringEquals', 'k:aud', 'sts.amazonaws.com', {
        'k:aud': 'sts.amazonaws.com',
      }),
      true,
    )
  })
  void test('an unqualified operator on a multivalued key does not match, even negated', () => {
    assert.equal(cond('StringEquals', 'k', 'a', { k: ['a', 'b'] }), false)
    assert.equal(cond('StringNotEquals', 'k', 'a', { k: ['b', 'c'] }), false)
  })
  // "The difference between single-valued and multivalued context keys depends on the number of values in the
  // request context, not the number of values in the policy condition" (IAM User Guide, "Single-valued vs.
  // multivalued context keys"): a one-element list is one value.
  void test('a one-element list in the request context is a single value', () => {
    assert.equal(cond('StringEquals', 'aws:TagKeys', 'env', { 'aws:TagKeys': ['env'] }), true)
    assert.equal(cond('StringEquals', 'aws:TagKeys', 'env', { 'aws:TagKeys': ['team'] }), false)
    assert.equal(cond('StringNotEquals', 'k', 'a', { k: ['b'] }), true)
    assert.equal(cond('StringNotEquals', 'k', 'a', { k: ['a'] }), false)
    assert.equal(cond('StringLike', 'k', 'dev-*', { k: ['dev-1'] }), true)
    // Set qualifiers still see a one-element set.
    assert.equal(cond('ForAllValues:StringEquals', 'k', ['a', 'b'], { k: ['a'] }), true)
    assert.equal(cond('ForAnyValue:StringEquals', 'k', ['x'], { k: ['a'] }), false)
  })
  void test('a one-element list can be a policy variable; a longer one cannot', () => {
    const ctx = (u: string[]) => ({ k: 'home/bob', 'aws:username': u })
    assert.equal(cond('StringEquals', 'k', 'home/${aws:username}', ctx(['bob'])), true)
    assert.equal(cond('StringEquals', 'k', 'home/${aws:username}', ctx(['bob', 'eve'])), false)
  })
  void test('an empty list is no value: Null sees it absent, ForAllValues matches', () => {
    assert.equal(cond('Null', 'k', 'true', { k: [] }), true)
    assert.equal(cond('ForAllValues:StringEquals', 'k', 'a', { k: [] }), true)
    assert.equal(cond('StringEquals', 'k', 'a', { k: [] }), false)
  })
})

void describe('policy variables', () => {
  void test('substituted under 2012-10-17', () => {
    assert.equal(
      cond('StringEquals', 'k', 'home/${aws:username}', { k: 'home/bob', 'aws:username': 'bob' }),
      true,
    )
  })
  void test('literal under 2008-10-17 (IAM User Guide, "Policy variables")', () => {
    const ctx = { k: 'home/bob', 'aws:username': 'bob' }
    assert.equal(cond('StringEquals', 'k', 'home/${aws:username}', ctx, '2008-10-17'), false)
    assert.equal(
      cond(
        'StringEquals',
        'k',
        'home/${aws:username}',
        { ...ctx, k: 'home/${aws:username}' },
        '2008-10-17',
      ),
      true,
    )
  })
  void test('literal without Version', () => {
    const p = compilePolicy({
      Statement: {
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { k: '${aws:username}' } },
      },
    })
    const c = p.statements[0]!.conditions[0]!
    assert.equal(evaluateCondition(c, normalizeContext({ k: 'bob', 'aws:username': 'bob' })), false)
    assert.equal(evaluateCondition(c, normalizeContext({ k: '${aws:username}' })), true)
  })
  void test('defaults, ${*} ${?} ${$} and literal substituted values', () => {
    assert.equal(cond('StringEquals', 'k', "${aws:PrincipalTag/team, 'none'}", { k: 'none' }), true)
    assert.equal(cond('StringEquals', 'k', 'a${*}b${?}c${$}', { k: 'a*b?c$' }), true)
    assert.equal(cond('StringLike', 'k', 'a${*}', { k: 'abc' }), false)
    assert.equal(
      cond('StringLike', 'k', '${aws:username}', { k: 'bobby', 'aws:username': 'bob*' }),
      false,
    )
    assert.equal(
      cond('StringLike', 'k', '${aws:username}*', { k: 'bobby', 'aws:username': 'bob' }),
      true,
    )
  })
  void test('a missing variable makes the value unusable, for negated operators too (corpus behaviour)', () => {
    assert.equal(cond('StringEquals', 'k', '${aws:username}', { k: 'x' }), false)
    assert.equal(cond('StringNotEquals', 'k', '${aws:username}', { k: 'x' }), false)
  })
})
