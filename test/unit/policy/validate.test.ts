import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compilePolicy, PolicyError, validatePolicy } from '../../../src/policy/index.ts'
import { policySize } from '../../../src/policy/validate.ts'

const doc = (statement: unknown, version: string | null = '2012-10-17') =>
  JSON.stringify(
    version === null ? { Statement: statement } : { Version: version, Statement: statement },
  )
const first = (d: string, type?: Parameters<typeof validatePolicy>[1]) =>
  validatePolicy(d, type).errors[0]?.message
const codes = (d: string, type = 'trust' as const) =>
  validatePolicy(d, { type }).findings.map((f) => f.code)

const HOST = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE'
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${HOST}`

void describe('IAM save-time validation (exact MalformedPolicyDocument messages)', () => {
  const rows: [string, string, Parameters<typeof validatePolicy>[1], string | undefined][] = [
    [
      'valid managed policy',
      doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }),
      {},
      undefined,
    ],
    // AWS-recorded IAM response for unparsable text (aws-protocol reference, IAM errors).
    ['not JSON', '{', {}, 'This policy contains invalid Json'],
    ['JSON that is not an object', '"text"', {}, 'Syntax errors in policy.'],
    [
      'managed without Version',
      doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, null),
      {},
      'Policy document must be version 2012-10-17 or greater.',
    ],
    [
      'inline accepts 2008-10-17',
      doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, '2008-10-17'),
      { type: 'inline' },
      undefined,
    ],
    [
      'identity policy with a principal',
      doc({ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' }),
      {},
      'Policy document should not specify a principal.',
    ],
    [
      'missing resources',
      doc({ Effect: 'Allow', Action: 's3:*' }),
      {},
      'Policy statement must contain resources.',
    ],
    [
      'missing actions',
      doc({ Effect: 'Allow', Resource: '*' }),
      {},
      'Policy statement must contain actions.',
    ],
    [
      'Effect case',
      doc({ Effect: 'allow', Action: 's3:*', Resource: '*' }),
      {},
      'The policy failed legacy parsing',
    ],
    [
      'unknown operator',
      doc({
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
        Condition: { StringEqualz: { a: 'b' } },
      }),
      {},
      'Syntax errors in policy.',
    ],
    [
      'wrong type for Action',
      doc({ Effect: 'Allow', Action: { a: 1 }, Resource: '*' }),
      {},
      'Syntax errors in policy.',
    ],
    [
      'trust policy with Resource',
      doc({
        Effect: 'Allow',
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Resource: '*',
      }),
      { type: 'trust' },
      'Has prohibited field Resource',
    ],
    [
      'trust policy without Principal',
      doc({ Effect: 'Allow', Action: 'sts:AssumeRole' }),
      { type: 'trust' },
      'Missing required field Principal',
    ],
    [
      'trust policy with another action',
      doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 's3:GetObject' }),
      { type: 'trust' },
      'AssumeRole policy may only specify STS AssumeRole actions.',
    ],
    [
      'trust policy with TagSession',
      doc({
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      }),
      { type: 'trust' },
      undefined,
    ],
    [
      'characters outside U+0000-U+00FF',
      doc({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/\u2603' }),
      {},
      'Syntax errors in policy.',
    ],
  ]
  for (const [name, d, options, expected] of rows) {
    void test(name, () => assert.equal(first(d, options), expected))
  }
})

void describe('size quotas', () => {
  void test('whitespace outside strings is not counted, SCPs count everything', () => {
    assert.equal(policySize('{ "a" : "b c" }'), 11)
    assert.equal(policySize('{ "a" : "b c" }', true), 15)
  })
  void test('managed policy over 6,144 characters', () => {
    const big = doc({
      Effect: 'Allow',
      Action: 's3:*',
      Resource: Array.from({ length: 300 }, (_, i) => `arn:aws:s3:::bucket-${i}`),
    })
    assert.deepEqual(
      validatePolicy(big).errors.map((e) => e.message),
      ['Cannot exceed quota for PolicySize: 6144'],
    )
    assert.equal(validatePolicy(big, { type: 'inline' }).errors.length, 0)
  })
  void test('trust policy quota is configurable', () => {
    const t = doc({
      Effect: 'Allow',
      Principal: {
        AWS: Array.from(
          { length: 60 },
          (_, i) => `arn:aws:iam::1111222233${String(i).padStart(2, '0')}:root`,
        ),
      },
      Action: 'sts:AssumeRole',
    })
    assert.equal(
      validatePolicy(t, { type: 'trust' }).errors[0]?.message,
      'Cannot exceed quota for ACLSizePerRole: 2048',
    )
    assert.equal(validatePolicy(t, { type: 'trust', trustPolicyMaxSize: 4096 }).errors.length, 0)
  })
})

void describe('Access-Analyzer-style findings', () => {
  const oidc = (condition?: object) =>
    doc({
      Effect: 'Allow',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      ...(condition === undefined ? {} : { Condition: condition }),
    })
  void test('OIDC principal without conditions', () => {
    assert.deepEqual(codes(oidc()), [
      'MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL',
      'MISSING_OIDC_SUB_CONDITION',
      'MISSING_OIDC_AUD_CONDITION',
    ])
  })
  void test('OIDC principal with :aud only, with :sub only, with both', () => {
    assert.deepEqual(codes(oidc({ StringEquals: { [`${HOST}:aud`]: 'sts.amazonaws.com' } })), [
      'MISSING_OIDC_SUB_CONDITION',
    ])
    assert.deepEqual(
      codes(oidc({ StringEquals: { [`${HOST}:sub`]: 'system:serviceaccount:a:b' } })),
      ['MISSING_OIDC_AUD_CONDITION'],
    )
    assert.deepEqual(
      codes(
        oidc({
          StringEquals: {
            [`${HOST}:sub`]: 'system:serviceaccount:a:b',
            [`${HOST}:aud`]: 'sts.amazonaws.com',
          },
        }),
      ),
      [],
    )
  })
  void test('wildcard without Like, ForAllValues on a single-valued key, Null with IfExists', () => {
    assert.deepEqual(
      codes(
        oidc({
          StringEquals: {
            [`${HOST}:sub`]: 'system:serviceaccount:a:*',
            [`${HOST}:aud`]: 'sts.amazonaws.com',
          },
        }),
      ),
      ['WILDCARD_WITHOUT_LIKE_OPERATOR'],
    )
    assert.ok(
      codes(
        oidc({ 'ForAllValues:StringEquals': { [`${HOST}:sub`]: 'x', [`${HOST}:aud`]: 'y' } }),
      ).includes('FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY'),
    )
    assert.ok(
      codes(
        doc({
          Effect: 'Allow',
          Action: 's3:*',
          Resource: '*',
          Condition: { NullIfExists: { a: 'true' } },
        }),
        'managed' as never,
      ).includes('NULL_WITH_IF_EXISTS'),
    )
  })
  void test('Principal "*" in a trust policy, Allow with NotPrincipal, missing Version, SAML/OIDC action mismatch', () => {
    assert.ok(
      codes(doc({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' })).includes(
        'ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL',
      ),
    )
    assert.ok(
      validatePolicy(doc({ Effect: 'Allow', NotPrincipal: { AWS: '1' }, Action: 's3:*' }), {
        type: 'resource',
      }).findings.some((f) => f.code === 'ALLOW_WITH_NOT_PRINCIPAL'),
    )
    assert.ok(
      validatePolicy(doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' }, null), {
        type: 'inline',
      }).findings.some((f) => f.code === 'MISSING_VERSION'),
    )
    const saml = doc({
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::111122223333:saml-provider/corp' },
      Action: 'sts:AssumeRoleWithWebIdentity',
    })
    assert.ok(codes(saml).includes('MISMATCHED_ACTION_FOR_PRINCIPAL'))
  })
})

void void describe('suggestions', () => {
  void test('empty condition objects, Null with a qualifier, a redundant session principal', () => {
    const managed = (c: object) =>
      validatePolicy(
        doc({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: c }),
      ).findings.map((f) => f.code)
    assert.deepEqual(managed({}), ['EMPTY_OBJECT_CONDITION'])
    assert.deepEqual(managed({ StringEquals: {} }), ['EMPTY_OBJECT_CONDITION'])
    assert.deepEqual(managed({ 'ForAnyValue:Null': { a: 'true' } }), ['NULL_WITH_QUALIFIER'])
    const role = 'arn:aws:iam::111122223333:role/path/app'
    const trustDoc = (aws: string[]) =>
      doc({ Effect: 'Allow', Principal: { AWS: aws }, Action: 'sts:AssumeRole' })
    assert.deepEqual(codes(trustDoc([role, 'arn:aws:sts::111122223333:assumed-role/app/s1'])), [
      'REDUNDANT_PRINCIPAL_IN_ROLE_TRUST_POLICY',
    ])
    assert.deepEqual(codes(trustDoc([role, 'arn:aws:sts::111122223333:assumed-role/other/s1'])), [])
  })
})

void describe('malformed input never crashes', () => {
  void test('a 10 MB document', () => {
    const huge = doc({ Effect: 'Allow', Action: 's3:*', Resource: 'x'.repeat(10 * 1024 * 1024) })
    assert.equal(validatePolicy(huge).errors.length > 0, true)
    assert.throws(
      () => compilePolicy(huge),
      (e: unknown) => e instanceof PolicyError && e.code === 'TOO_LARGE',
    )
  })
  void test('deeply nested values', () => {
    const deep = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":${'['.repeat(50000)}${']'.repeat(50000)}}}}}`
    assert.equal(first(deep), 'Syntax errors in policy.')
    assert.throws(
      () => compilePolicy(deep),
      (e: unknown) => e instanceof PolicyError && e.code === 'INVALID_POLICY',
    )
  })
  void test('bad JSON, wrong types, unknown operators give PolicyError with a code', () => {
    const cases: [unknown, string][] = [
      ['{not json', 'INVALID_JSON'],
      ['[]', 'INVALID_POLICY'],
      [{ Statement: 'x' }, 'INVALID_POLICY'],
      [{ Statement: { Effect: 'Maybe', Action: '*', Resource: '*' } }, 'INVALID_POLICY'],
      [{ Statement: { Effect: 'Allow', Action: [1], Resource: '*' } }, 'INVALID_POLICY'],
      [
        {
          Statement: {
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: { Nope: { a: 'b' } },
          },
        },
        'UNKNOWN_OPERATOR',
      ],
      [
        {
          Statement: {
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: { StringEquals: { a: { b: 1 } } },
          },
        },
        'INVALID_POLICY',
      ],
      [
        { Statement: { Effect: 'Allow', Principal: { Group: 'x' }, Action: '*' } },
        'INVALID_POLICY',
      ],
    ]
    for (const [input, code] of cases) {
      assert.throws(
        () => compilePolicy(input as string),
        (e: unknown) => e instanceof PolicyError && e.code === code && e.message.length > 0,
        JSON.stringify(input),
      )
    }
  })
  void test('an unknown policy type is a TypeError (a programming error, not a document problem)', () => {
    assert.throws(() => validatePolicy('{}', { type: 'bucket' as never }), TypeError)
  })
  void test('validatePolicy on non-strings and odd JSON', () => {
    assert.equal(validatePolicy(42 as never).errors[0]?.message, 'Syntax errors in policy.')
    assert.equal(first('"a string"'), 'Syntax errors in policy.')
    assert.equal(first('null'), 'Syntax errors in policy.')
  })
})
