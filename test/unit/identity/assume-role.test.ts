/**
 * The assume-role pipeline's steps, one failure mode each, as the STS API reference states them:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (request parameters and errors),
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html, and the IAM User
 * Guide on session tags (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html) and role
 * chaining (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  ASSUME_ROLE_PARAMETERS,
  AssumeRoleError,
  authorizeAndIssue,
  authorizeTrust,
  carrySourceIdentity,
  checkParameters,
  checkSourceIdentityPrefix,
  compileTrustPolicy,
  limitChainedDuration,
  limitSessionPolicies,
  limitToRoleMaxDuration,
  parseRoleArn,
  resolveSessionTags,
  trustActions,
  WEB_IDENTITY_PARAMETERS,
  type AssumeRoleErrorCode,
  type AssumeRolePorts,
  type AuthorizeAndIssueInput,
  type TrustDenial,
} from '../../../src/identity/assume-role/index.ts'
import type { IdentityRole } from '../../../src/identity/ports.ts'
import { openSessionToken } from '../../../src/identity/sessions.ts'
import type { RoleSessionInfo } from '../../../src/identity/types.ts'
import type { Keyring } from '../../../src/keys/session-keys.ts'
import { toStsError } from '../../../src/aws/sts/errors.ts'
import { Problems } from '../../../src/aws/sts/validate.ts'
import type { AwsError } from '../../../src/aws/errors.ts'

const ACCOUNT = '111122223333'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app`
const NOW = new Date('2026-11-23T01:02:03Z')

const fails = (code: AssumeRoleErrorCode, message?: RegExp) => (err: unknown) =>
  err instanceof AssumeRoleError &&
  err.code === code &&
  (message === undefined || message.test(err.message))
const awsFails = (code: string, message?: RegExp) => (err: unknown) =>
  (err as AwsError).code === code && (message === undefined || message.test((err as Error).message))

function role(trust: object, over: Partial<IdentityRole> = {}): IdentityRole {
  return {
    accountId: ACCOUNT,
    roleName: 'app',
    roleId: 'AROAEXAMPLEEXAMPLE01',
    arn: ROLE_ARN,
    path: '/',
    assumeRolePolicyDocument: JSON.stringify(trust),
    maxSessionDuration: 3600,
    tags: [],
    ...over,
  }
}

const trustFor = (principal: object, actions: string[]) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: principal, Action: actions }],
})

function callerSession(over: Partial<RoleSessionInfo> = {}): RoleSessionInfo {
  return {
    roleArn: `arn:aws:iam::${ACCOUNT}:role/first`,
    roleName: 'first',
    roleId: 'AROAFIRSTFIRSTFIRST1',
    rolePath: '/',
    sessionName: 's1',
    issuedAt: NOW,
    expiration: new Date(NOW.getTime() + 3600_000),
    tags: [
      { key: 'Project', value: 'blue' },
      { key: 'Team', value: 'a' },
    ],
    transitiveTagKeys: ['Project'],
    sessionPolicies: [],
    sessionPolicyArns: [],
    chained: false,
    ...over,
  }
}

void test('parameter checks: every model constraint of one request in one ValidationError (STS API reference, AssumeRole request parameters)', () => {
  assert.throws(
    () => checkParameters(new Problems(), { durationSeconds: '899' }, ASSUME_ROLE_PARAMETERS),
    awsFails(
      'ValidationError',
      /^3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'roleSessionName' .*; Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900$/,
    ),
  )
  // DurationSeconds is an integer: a non-number is malformed input, not a constraint problem.
  assert.throws(
    () =>
      checkParameters(
        new Problems(),
        { roleArn: ROLE_ARN, roleSessionName: 's1', durationSeconds: 'ten' },
        ASSUME_ROLE_PARAMETERS,
      ),
    awsFails('MalformedInput'),
  )
  // TransitiveTagKeys: at most 50 members; ExternalId: 2–1224 characters.
  assert.throws(
    () =>
      checkParameters(
        new Problems(),
        {
          roleArn: ROLE_ARN,
          roleSessionName: 's1',
          transitiveTagKeys: Array.from({ length: 51 }, (_, i) => `k${i}`),
          externalId: 'x',
        },
        ASSUME_ROLE_PARAMETERS,
      ),
    awsFails(
      'ValidationError',
      /^2 validation errors detected: Value at 'transitiveTagKeys' .* less than or equal to 50; Value 'x' at 'externalId'/,
    ),
  )
})

void test('parameter checks: AssumeRoleWithWebIdentity requires the token and caps Policy at 2048 characters, value hidden', () => {
  assert.throws(
    () =>
      checkParameters(
        new Problems(),
        { roleArn: ROLE_ARN, roleSessionName: 's1', policy: 'x'.repeat(2049) },
        WEB_IDENTITY_PARAMETERS,
      ),
    awsFails(
      'ValidationError',
      /^2 validation errors detected: Value null at 'webIdentityToken' .*not be null; Value null at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048$/,
    ),
  )
  // Members the entry point does not take are ignored (a web identity request has no Tags member).
  const checked = checkParameters(
    new Problems(),
    {
      roleArn: ROLE_ARN,
      roleSessionName: 's1',
      webIdentityToken: 'a.b.c\n',
      tags: [{ key: 'k', value: 'v' }],
    },
    WEB_IDENTITY_PARAMETERS,
  )
  assert.equal(checked.webIdentityToken, 'a.b.c')
  assert.deepEqual(checked.tags, [])
})

void test('source identity: "You cannot use a value that begins with the text aws:" (STS API reference, SourceIdentity)', () => {
  // The model pattern ([\w+=,.@-]*) already refuses the colon of a request member...
  assert.throws(
    () =>
      checkParameters(
        new Problems(),
        { roleArn: ROLE_ARN, roleSessionName: 's1', sourceIdentity: 'aws:admin' },
        ASSUME_ROLE_PARAMETERS,
      ),
    awsFails('ValidationError', /at 'sourceIdentity' failed to satisfy constraint/),
  )
  // ...the prefix rule stands on its own for values that reach it another way (a token claim).
  assert.throws(
    () => checkSourceIdentityPrefix('AWS:admin'),
    fails('INVALID_SOURCE_IDENTITY', /^SourceIdentity cannot start with the prefix aws:$/),
  )
  checkSourceIdentityPrefix('alice')
})

void test('role ARN: anything but arn:PARTITION:iam::ACCOUNT:role/NAME is "<arn> is invalid"', () => {
  assert.equal(parseRoleArn(`arn:aws:iam::${ACCOUNT}:role/a/b/app`).path, '/a/b/')
  assert.throws(
    () => parseRoleArn(`arn:aws:iam::${ACCOUNT}:user/app`),
    fails('INVALID_ROLE_ARN', /is invalid$/),
  )
})

void test('duration: role chaining is capped at one hour; no session outlives MaxSessionDuration', () => {
  limitChainedDuration(3600, true)
  limitChainedDuration(43200, false)
  assert.throws(() => limitChainedDuration(3601, true), fails('CHAINED_DURATION_EXCEEDED'))
  limitToRoleMaxDuration(7200, { maxSessionDuration: 7200 })
  assert.throws(
    () => limitToRoleMaxDuration(7201, { maxSessionDuration: 7200 }),
    fails('ROLE_DURATION_EXCEEDED', /MaxSessionDuration set for this role/),
  )
})

void test('session tags: case-insensitive duplicates, transitive keys must be requested, chained sessions inherit and may not override', () => {
  assert.throws(
    () =>
      resolveSessionTags({
        tags: [
          { key: 'Team', value: 'a' },
          { key: 'team', value: 'b' },
        ],
        transitiveTagKeys: [],
      }),
    fails('DUPLICATE_TAG_KEYS'),
  )
  assert.throws(
    () => resolveSessionTags({ tags: [{ key: 'a', value: '1' }], transitiveTagKeys: ['b'] }),
    fails('TRANSITIVE_KEY_NOT_IN_TAGS'),
  )
  // "you can't set a transitive session tag key that is also ... from the calling session"
  assert.throws(
    () =>
      resolveSessionTags({
        tags: [{ key: 'project', value: 'red' }],
        transitiveTagKeys: [],
        callerSession: callerSession(),
      }),
    fails('TRANSITIVE_KEY_CONFLICT'),
  )
  const resolved = resolveSessionTags({
    tags: [{ key: 'Cost', value: '42' }],
    transitiveTagKeys: ['cost'],
    callerSession: callerSession(),
  })
  // Only the caller's transitive tags pass (Team was not transitive).
  assert.deepEqual(resolved.inherited, [{ key: 'Project', value: 'blue' }])
  assert.deepEqual(
    resolved.all.map((t) => t.key),
    ['Project', 'Cost'],
  )
  assert.deepEqual(resolved.contextTransitiveKeys, ['cost', 'Project'])
})

void test('source identity: set once, carried down the chain, never changed', () => {
  const base = { principal: 'arn:aws:sts::1:assumed-role/first/s1', resource: ROLE_ARN }
  const session = callerSession({ sourceIdentity: 'alice' })
  assert.equal(
    carrySourceIdentity({ ...base, requested: undefined, callerSession: session }),
    'alice',
  )
  assert.equal(
    carrySourceIdentity({ ...base, requested: 'alice', callerSession: session }),
    'alice',
  )
  assert.equal(carrySourceIdentity({ ...base, requested: 'bob', callerSession: undefined }), 'bob')
  assert.throws(
    () => carrySourceIdentity({ ...base, requested: 'bob', callerSession: session }),
    (err: unknown) =>
      fails('SOURCE_IDENTITY_CHANGED', /not authorized to perform: sts:SetSourceIdentity/)(err) &&
      (err as AssumeRoleError).denial?.action === 'sts:SetSourceIdentity',
  )
})

void test('trust: every needed action is authorized by the trust policy; sts:TagSession when tagging; no policy, no trust', () => {
  assert.deepEqual(trustActions('sts:AssumeRole', { tagging: true, setsSourceIdentity: true }), [
    'sts:AssumeRole',
    'sts:TagSession',
    'sts:SetSourceIdentity',
  ])
  const principal = `arn:aws:iam::${ACCOUNT}:user/alice`
  const request = (r: IdentityRole | undefined) => ({
    principal,
    policies: {
      identityPolicies: [],
    },
    resource: ROLE_ARN,
    resourceAccount: ACCOUNT,
    trust: r === undefined ? undefined : compileTrustPolicy(r),
    context: {},
  })
  const onlyAssume = role(trustFor({ AWS: principal }, ['sts:AssumeRole']))
  authorizeTrust(request(onlyAssume), ['sts:AssumeRole'])
  assert.throws(
    () => authorizeTrust(request(onlyAssume), ['sts:AssumeRole', 'sts:TagSession']),
    (err: unknown) =>
      fails('TRUST_DENIED')(err) && (err as AssumeRoleError).denial?.action === 'sts:TagSession',
  )
  assert.throws(() => authorizeTrust(request(undefined), ['sts:AssumeRole']), fails('TRUST_DENIED'))
  // A stored trust policy that does not compile grants nothing.
  const broken = role({}, { assumeRolePolicyDocument: '{not json' })
  assert.equal(compileTrustPolicy(broken), undefined)
})

void test('session-policy limits: valid JSON, packed size (PackedPolicyTooLarge), existing policy ARNs', async () => {
  const policies = {
    getManagedPolicyDocument: async (arn: string) =>
      arn === 'arn:aws:iam::aws:policy/ReadOnlyAccess' ? '{}' : undefined,
  }
  await assert.rejects(
    limitSessionPolicies(policies, { policy: '{not json', policyArns: [], tags: [] }),
    fails('MALFORMED_SESSION_POLICY', /^The policy is not in the valid JSON format\.$/),
  )
  const manyTags = Array.from({ length: 50 }, () => ({
    key: randomBytes(48).toString('base64url'),
    value: randomBytes(96).toString('base64url'),
  }))
  await assert.rejects(
    limitSessionPolicies(policies, { policyArns: [], tags: manyTags }),
    fails('PACKED_POLICY_TOO_LARGE', /^Packed policy consumes \d+% of allotted space$/),
  )
  await assert.rejects(
    limitSessionPolicies(policies, {
      policyArns: [`arn:aws:iam::${ACCOUNT}:policy/missing`],
      tags: [],
    }),
    fails('POLICY_ARN_NOT_FOUND', /does not exist or is not attachable/),
  )
  const packed = await limitSessionPolicies(policies, {
    policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    tags: [],
  })
  assert.ok(packed > 0 && packed <= 100)
  assert.equal(await limitSessionPolicies(policies, { policyArns: [], tags: [] }), 0)
})

function testPorts(roles: IdentityRole[]): AssumeRolePorts {
  const key = { kid: '0123456789ab', secret: randomBytes(32), createdAt: NOW, retiredAt: undefined }
  const keyring: Keyring = { active: key, byKid: new Map([[key.kid, key]]) }
  return {
    roles: {
      getRoleByArn: async (arn) => roles.find((r) => r.arn === arn),
      getRolePolicyDocuments: async () => [],
    },
    policies: { getManagedPolicyDocument: async () => undefined },
    keyring: { current: async () => keyring, refresh: async () => keyring },
    now: () => NOW,
    randomBytes: (n) => randomBytes(n),
  }
}

void test('authorizeAndIssue: trust → duration → session policies → a sealed session that opens with its tags; audit hooks', async () => {
  const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/issuer.example`
  const trusted = role(
    trustFor({ Federated: provider }, ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession']),
    { maxSessionDuration: 7200 },
  )
  const ports = testPorts([trusted])
  const denials: TrustDenial[] = []
  let issuedCount = 0
  const input = (
    over: Partial<AuthorizeAndIssueInput['session']> = {},
  ): AuthorizeAndIssueInput => ({
    principal: provider,
    resource: trusted.arn,
    resourceAccount: ACCOUNT,
    role: trusted,
    action: 'sts:AssumeRoleWithWebIdentity',
    setsSourceIdentity: false,
    context: {},
    session: {
      sessionName: 's1',
      durationSeconds: 3600,
      tags: [{ key: 'team', value: 'a' }],
      transitiveTagKeys: ['team'],
      inheritedTransitiveTags: [],
      policyArns: [],
      chained: false,
      ...over,
    },
    audit: { denied: (d) => denials.push(d), issued: () => issuedCount++ },
  })
  const issued = await authorizeAndIssue(ports, input())
  assert.equal(issuedCount, 1)
  assert.equal(issued.packedPolicySize > 0, true)
  assert.equal(issued.created.assumedRoleUser.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/app/s1`)
  const opened = await openSessionToken(ports, issued.created.credentials.sessionToken)
  assert.deepEqual(opened.caller.session?.tags, [{ key: 'team', value: 'a' }])
  assert.deepEqual(opened.caller.session?.transitiveTagKeys, ['team'])

  await assert.rejects(
    authorizeAndIssue(ports, input({ durationSeconds: 7201 })),
    fails('ROLE_DURATION_EXCEEDED'),
  )
  // Setting a source identity needs sts:SetSourceIdentity, which this trust policy does not allow.
  await assert.rejects(
    authorizeAndIssue(ports, { ...input({ sourceIdentity: 'alice' }), setsSourceIdentity: true }),
    fails('TRUST_DENIED'),
  )
  assert.equal(denials.length, 1)
  assert.equal(denials[0]?.action, 'sts:SetSourceIdentity')
  assert.equal(denials[0]?.result?.decision, 'ImplicitlyDenied')
  // No role: the trust step denies (it never reaches session creation).
  await assert.rejects(
    authorizeAndIssue(ports, { ...input(), role: undefined }),
    fails('TRUST_DENIED'),
  )
  assert.equal(issuedCount, 1)
})

void test('STS renders the pipeline errors with its codes (STS API reference, AssumeRole errors)', () => {
  const cases: [AssumeRoleErrorCode, string][] = [
    ['INVALID_ROLE_ARN', 'ValidationError'],
    ['CHAINED_DURATION_EXCEEDED', 'ValidationError'],
    ['DUPLICATE_TAG_KEYS', 'InvalidParameterValue'],
    ['TRANSITIVE_KEY_CONFLICT', 'InvalidParameterValue'],
    ['MALFORMED_SESSION_POLICY', 'MalformedPolicyDocument'],
    ['PACKED_POLICY_TOO_LARGE', 'PackedPolicyTooLarge'],
    ['SOURCE_IDENTITY_CHANGED', 'AccessDenied'],
  ]
  for (const [code, aws] of cases) {
    const e = toStsError(new AssumeRoleError(code, 'm'))
    assert.equal(e.code, aws)
    assert.equal(e.message, 'm')
    assert.equal(e.status, aws === 'AccessDenied' ? 403 : 400)
  }
})
