import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { authorize, compilePolicy, type AuthorizationRequest } from '../../../src/policy/index.ts'

const services = ['s3', 'ec2', 'sts', 'iam']
const verbs = ['GetObject', 'PutObject', 'AssumeRole', 'ListBuckets', 'Describe']
const action = fc
  .tuple(fc.constantFrom(...services), fc.constantFrom(...verbs))
  .map(([s, v]) => `${s}:${v}`)
const actionPattern = fc.oneof(
  action,
  fc.constant('*'),
  fc.constantFrom(...services).map((s) => `${s}:*`),
  fc.constant('s3:Get*'),
  fc.constant('?3:*Object'),
)
const resource = fc.constantFrom(
  'arn:aws:s3:::a/x',
  'arn:aws:s3:::b/y',
  'arn:aws:ec2:us-east-1:111122223333:instance/i-1',
  '*',
)
const resourcePattern = fc.oneof(
  resource,
  fc.constant('arn:aws:s3:::a/*'),
  fc.constant('arn:aws:s3:::${aws:username}/*'),
)
const condition = fc.option(
  fc.record({
    op: fc.constantFrom(
      'StringEquals',
      'StringNotEquals',
      'StringLike',
      'ForAnyValue:StringEquals',
      'ForAllValues:StringEquals',
      'StringEqualsIfExists',
      'Null',
      'NumericLessThan',
      'Bool',
      'IpAddress',
      'DateGreaterThan',
      'ArnLike',
    ),
    key: fc.constantFrom('aws:username', 'k:team', 'aws:SourceIp'),
    values: fc.array(
      fc.constantFrom(
        'a',
        'b',
        'true',
        '5',
        '10.0.0.0/8',
        '2024-01-01T00:00:00Z',
        'arn:aws:s3:::*',
        '*',
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  { nil: undefined },
)
const statement = fc.record({
  effect: fc.constantFrom('Allow', 'Deny'),
  notAction: fc.boolean(),
  actions: fc.array(actionPattern, { minLength: 1, maxLength: 3 }),
  resources: fc.array(resourcePattern, { minLength: 1, maxLength: 2 }),
  condition,
})
type Gen = typeof statement extends fc.Arbitrary<infer T> ? T : never
const toJson = (s: Gen) => ({
  Effect: s.effect,
  [s.notAction ? 'NotAction' : 'Action']: s.actions,
  Resource: s.resources,
  ...(s.condition === undefined
    ? {}
    : { Condition: { [s.condition.op]: { [s.condition.key]: s.condition.values } } }),
})
const context = fc.dictionary(
  fc.constantFrom('aws:username', 'k:team', 'aws:SourceIp'),
  fc.oneof(
    fc.constantFrom('a', 'b', '10.1.1.1', 'true'),
    fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }),
  ),
)
const request = fc.record({ action, resource, context })

const run = (
  statements: Gen[],
  r: { action: string; resource: string; context: Record<string, string | string[]> },
): AuthorizationRequest => ({
  principal: 'arn:aws:iam::111122223333:user/u',
  action: r.action,
  resource: r.resource,
  context: r.context,
  identityPolicies: [compilePolicy({ Version: '2012-10-17', Statement: statements.map(toJson) })],
})

void test('evaluation is total and deterministic on generated policies and requests', () => {
  fc.assert(
    fc.property(fc.array(statement, { minLength: 1, maxLength: 5 }), request, (sts, r) => {
      const a = authorize(run(sts, r))
      const b = authorize(run(sts, r))
      assert.ok(['Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied'].includes(a.decision))
      assert.deepEqual({ ...a, unmatched: a.unmatched }, { ...b, unmatched: b.unmatched })
      assert.deepEqual(a.errors, [])
    }),
    { numRuns: 300 },
  )
})

void test('an explicit deny always wins', () => {
  fc.assert(
    fc.property(fc.array(statement, { maxLength: 4 }), request, (sts, r) => {
      const denyAll = {
        effect: 'Deny',
        notAction: false,
        actions: ['*'],
        resources: ['*'],
        condition: undefined,
      } as Gen
      assert.equal(authorize(run([...sts, denyAll], r)).decision, 'ExplicitlyDenied')
    }),
    { numRuns: 200 },
  )
})

void test('adding an Allow statement never turns Allowed into a deny', () => {
  fc.assert(
    fc.property(
      fc.array(statement, { minLength: 1, maxLength: 4 }),
      statement,
      request,
      (sts, extra, r) => {
        fc.pre(authorize(run(sts, r)).decision === 'Allowed')
        assert.equal(authorize(run([...sts, { ...extra, effect: 'Allow' }], r)).decision, 'Allowed')
      },
    ),
    { numRuns: 300 },
  )
})

void test('NotAction is the complement of Action', () => {
  fc.assert(
    fc.property(fc.array(actionPattern, { minLength: 1, maxLength: 3 }), action, (patterns, a) => {
      const r = { action: a, resource: 'arn:aws:s3:::a/x', context: {} }
      const base = { effect: 'Allow', actions: patterns, resources: ['*'], condition: undefined }
      const withAction =
        authorize(run([{ ...base, notAction: false } as Gen], r)).decision === 'Allowed'
      const withNot =
        authorize(run([{ ...base, notAction: true } as Gen], r)).decision === 'Allowed'
      assert.notEqual(withAction, withNot)
    }),
    { numRuns: 300 },
  )
})
