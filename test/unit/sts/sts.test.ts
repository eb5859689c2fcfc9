import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  Problems,
  parseRoleArn,
  checkTags,
  duplicateTagKeys,
} from '../../../src/aws/sts/validate.ts'
import { mapTokenError, tokenSessionTags, TAGS_CLAIM } from '../../../src/aws/sts/web-identity.ts'
import {
  packAndCheck,
  validateSessionPolicy,
  sessionPolicyArnsOf,
} from '../../../src/aws/sts/session-policy.ts'
import { TokenError } from '../../../src/tokens/errors.ts'
import type { AwsError } from '../../../src/aws/errors.ts'

const code = (c: string, m?: RegExp) => (e: AwsError) =>
  e.code === c && (m === undefined || m.test(e.message))

void test('role ARN parsing: path kept, malformed → "<arn> is invalid"', () => {
  assert.deepEqual(parseRoleArn('arn:aws:iam::111122223333:role/a/b/name'), {
    partition: 'aws',
    accountId: '111122223333',
    path: '/a/b/',
    roleName: 'name',
  })
  assert.deepEqual(parseRoleArn('arn:aws:iam::111122223333:role/app').path, '/')
  for (const bad of [
    'nothing-valid-in-here',
    'arn:a:::something/test-role',
    'arn:aws:iam::1234:role/x',
    'arn:aws:iam::111122223333:user/x',
    'arn:aws:iam::111122223333:role/',
    'arn:aws:iam::111122223333:role/bad name',
  ])
    assert.throws(
      () => parseRoleArn(bad),
      code(
        'ValidationError',
        new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is invalid$`),
      ),
    )
})

void test('Problems: AWS ValidationError format, several problems in one message, malformed integers', () => {
  const p = new Problems()
  p.required(undefined, 'roleArn')
  p.length('s', 'roleSessionName', 2, 64)
  p.pattern('a:b', 'roleSessionName', /^[\w]*$/, '[\\w]*')
  assert.equal(p.integer('900', 'durationSeconds', 900, 43200), 900)
  p.integer('899', 'durationSeconds', 900, 43200)
  assert.throws(
    () => p.throwIfAny(),
    code(
      'ValidationError',
      /^4 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\w\]\*; Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900$/,
    ),
  )
  assert.throws(
    () => new Problems().integer('12abc', 'durationSeconds', 1, 2),
    code('MalformedInput'),
  )
  const hidden = new Problems()
  hidden.length('x'.repeat(3000), 'policy', 1, 2048, false)
  assert.throws(
    () => hidden.throwIfAny(),
    code('ValidationError', /^1 validation error detected: Value null at 'policy'/),
  )
  new Problems().throwIfAny()
})

void test('tags: limits, patterns and case-insensitive duplicates', () => {
  const p = new Problems()
  checkTags(p, [
    { key: 'k'.repeat(129), value: 'v' },
    { key: 'ok', value: 'bad\u0001' },
  ])
  assert.equal(p.list.length, 2)
  assert.match(
    p.list[0] as string,
    /at 'tags\.1\.member\.key' failed to satisfy constraint: Member must have length less than or equal to 128/,
  )
  const many = new Problems()
  checkTags(
    many,
    Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: '' })),
  )
  assert.match(
    many.list[0] as string,
    /^Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
  )
  assert.equal(duplicateTagKeys([{ key: 'Team' }, { key: 'team' }]), true)
  assert.equal(duplicateTagKeys([{ key: 'a' }, { key: 'b' }]), false)
})

void test('token session tags claim: principal_tags and transitive keys; malformed shapes → InvalidIdentityToken', () => {
  assert.deepEqual(tokenSessionTags({}), { tags: [], transitiveTagKeys: [] })
  assert.deepEqual(
    tokenSessionTags({
      [TAGS_CLAIM]: {
        principal_tags: { Project: ['Automation'], CostCenter: ['987654'] },
        transitive_tag_keys: ['Project'],
      },
    }),
    {
      tags: [
        { key: 'Project', value: 'Automation' },
        { key: 'CostCenter', value: '987654' },
      ],
      transitiveTagKeys: ['Project'],
    },
  )
  for (const bad of [
    [],
    'x',
    { principal_tags: { a: ['1', '2'] } },
    { principal_tags: { a: [1] } },
    { principal_tags: [] },
    { transitive_tag_keys: 'a' },
  ])
    assert.throws(() => tokenSessionTags({ [TAGS_CLAIM]: bad }), code('InvalidIdentityToken'))
})

void test('token errors map to STS codes: expiry, audience, unreachable JWKS (retryable), keys', () => {
  const now = new Date(1_731_098_245_000)
  assert.throws(
    () => {
      throw mapTokenError(
        new TokenError('TOKEN_EXPIRED', 'x', { at: new Date(1_731_095_240_000) }),
        now,
      )
    },
    code(
      'ExpiredTokenException',
      /^Token expired: current date\/time 1731098245 must be before the expiration date\/time 1731095240$/,
    ),
  )
  const cases: [ConstructorParameters<typeof TokenError>, string, RegExp][] = [
    [
      ['TOKEN_AUDIENCE_MISMATCH', 'x', { reason: 'missing' }],
      'InvalidIdentityToken',
      /^Missing a required claim: aud$/,
    ],
    [
      ['TOKEN_AUDIENCE_MISMATCH', 'x', { reason: 'invalid' }],
      'InvalidIdentityToken',
      /^Incorrect token audience$/,
    ],
    [
      ['ISSUER_UNREACHABLE', 'x'],
      'IDPCommunicationError',
      /^Couldn't retrieve verification key from your identity provider/,
    ],
    [['TOKEN_KEY_NOT_FOUND', 'x'], 'InvalidIdentityToken', /^Couldn't retrieve verification key/],
    [['TOKEN_SIGNATURE_INVALID', 'x'], 'InvalidIdentityToken', /signature/],
    [['TOKEN_ALG_NOT_ALLOWED', 'x'], 'InvalidIdentityToken', /algorithm/],
    [['TOKEN_MALFORMED', 'x'], 'InvalidIdentityToken', /not a valid JWT/],
  ]
  for (const [args, c, m] of cases) {
    const e = mapTokenError(new TokenError(...args), now)
    assert.equal(e.code, c)
    assert.equal(e.status, 400)
    assert.match(e.message, m)
  }
})

void test('session policies: malformed JSON → MalformedPolicyDocument; packed size; PolicyArns limits', () => {
  assert.throws(
    () => validateSessionPolicy('{not json'),
    code('MalformedPolicyDocument', /^The policy is not in the valid JSON format\.$/),
  )
  validateSessionPolicy(
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
  )
  assert.equal(packAndCheck(undefined, [], []), 0)
  assert.ok(packAndCheck('{"Version":"2012-10-17","Statement":[]}', [], []) > 0)
  const p = new Problems()
  assert.deepEqual(sessionPolicyArnsOf([{ arn: 'short' }], p), ['short'])
  assert.equal(p.list.length, 1)
  const many = new Problems()
  sessionPolicyArnsOf(
    Array.from({ length: 11 }, () => ({ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' })),
    many,
  )
  assert.match(many.list[0] as string, /'policyArns'.*less than or equal to 10/)
})
