import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  ANONYMOUS,
  authorize,
  compilePolicy,
  type AuthorizationRequest,
  type PolicyType,
} from '../../../src/policy/index.ts'

const ACCT = '111122223333'
const OTHER = '444455556666'
const USER = `arn:aws:iam::${ACCT}:user/alice`
const ROLE = `arn:aws:iam::${ACCT}:role/app`
const SESSION = `arn:aws:sts::${ACCT}:assumed-role/app/s1`
const BUCKET = 'arn:aws:s3:::data/report.csv'

const allow = (action = 's3:GetObject', resource = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...extra,
})
const deny = (action = 's3:GetObject', resource = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action: action,
  Resource: resource,
  ...extra,
})
const policy = (type: PolicyType, ...statements: object[]) =>
  compilePolicy({ Version: '2012-10-17', Statement: statements }, { type, id: type })

function req(over: Partial<AuthorizationRequest>): AuthorizationRequest {
  return {
    principal: SESSION,
    action: 's3:GetObject',
    resource: BUCKET,
    resourceAccount: ACCT,
    context: {},
    identityPolicies: [],
    ...over,
  }
}

void describe('identity policies', () => {
  void test('an empty policy set is an implicit deny', () => {
    assert.equal(authorize(req({})).decision, 'ImplicitlyDenied')
  })
  void test('allow, explicit deny wins, actions are case-insensitive', () => {
    assert.equal(
      authorize(req({ identityPolicies: [policy('identity', allow('S3:getobject'))] })).decision,
      'Allowed',
    )
    const r = authorize(req({ identityPolicies: [policy('identity', allow(), deny('s3:*'))] }))
    assert.equal(r.decision, 'ExplicitlyDenied')
    assert.deepEqual(r.blockedBy, [])
    assert.equal(r.matched.length, 2)
  })
  void test('NotAction and NotResource', () => {
    const p = policy('identity', {
      Effect: 'Allow',
      NotAction: 'iam:*',
      NotResource: 'arn:aws:s3:::secret/*',
    })
    assert.equal(authorize(req({ identityPolicies: [p] })).decision, 'Allowed')
    assert.equal(
      authorize(req({ identityPolicies: [p], action: 'iam:CreateUser' })).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(req({ identityPolicies: [p], resource: 'arn:aws:s3:::secret/x' })).decision,
      'ImplicitlyDenied',
    )
  })
  void test('explanations name the element that failed', () => {
    const r = authorize(
      req({
        identityPolicies: [
          policy('identity', {
            Sid: 'Tagged',
            ...allow('s3:GetObject', '*', {
              Condition: { StringEquals: { 'aws:PrincipalTag/team': 'a' } },
            }),
          }),
          policy('identity', allow('s3:PutObject')),
        ],
      }),
    )
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.deepEqual(
      r.unmatched.map((u) => [u.sid, u.element, u.detail]),
      [
        ['Tagged', 'Condition', 'StringEquals aws:PrincipalTag/team'],
        [undefined, 'Action', undefined],
      ],
    )
  })
  void test('a variable in Resource resolves from the context; missing → no match', () => {
    const p = policy('identity', allow('s3:GetObject', 'arn:aws:s3:::data/${aws:username}/*'))
    const r = (ctx: Record<string, string>) =>
      authorize(req({ identityPolicies: [p], resource: 'arn:aws:s3:::data/bob/x', context: ctx }))
        .decision
    assert.equal(r({ 'aws:username': 'bob' }), 'Allowed')
    assert.equal(r({ 'aws:username': 'eve' }), 'ImplicitlyDenied')
    assert.equal(r({}), 'ImplicitlyDenied')
  })
  void test('2008-10-17: variables are literal in the real engine', () => {
    const p = compilePolicy({
      Version: '2008-10-17',
      Statement: allow('s3:GetObject', 'arn:aws:s3:::data/${aws:username}/*'),
    })
    assert.equal(
      authorize(
        req({
          identityPolicies: [p],
          resource: 'arn:aws:s3:::data/bob/x',
          context: { 'aws:username': 'bob' },
        }),
      ).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(req({ identityPolicies: [p], resource: 'arn:aws:s3:::data/${aws:username}/x' }))
        .decision,
      'Allowed',
    )
  })
  void test('sts:GetCallerIdentity needs no permission', () => {
    assert.equal(
      authorize(
        req({ action: 'sts:GetCallerIdentity', identityPolicies: [policy('identity', deny('*'))] }),
      ).decision,
      'Allowed',
    )
  })
})

void describe('resource policies', () => {
  const resourceFor = (principal: unknown) =>
    policy('resource', allow('s3:GetObject', '*', { Principal: principal }))
  void test('same account: a resource policy naming the principal grants alone', () => {
    assert.equal(
      authorize(req({ principal: USER, resourcePolicy: resourceFor({ AWS: USER }) })).decision,
      'Allowed',
    )
  })
  void test('naming the account delegates to identity policies', () => {
    const rp = resourceFor({ AWS: ACCT })
    assert.equal(
      authorize(req({ principal: USER, resourcePolicy: rp })).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(
        req({
          principal: USER,
          resourcePolicy: rp,
          identityPolicies: [policy('identity', allow())],
        }),
      ).decision,
      'Allowed',
    )
  })
  void test('a role ARN grant is cut by the boundary; a session ARN grant is not (IAM evaluation logic)', () => {
    const boundary = [policy('boundary', allow('ec2:*'))]
    const byRole = authorize(
      req({ resourcePolicy: resourceFor({ AWS: ROLE }), permissionBoundaries: boundary }),
    )
    assert.equal(byRole.decision, 'ImplicitlyDenied')
    assert.deepEqual(byRole.blockedBy, ['pb'])
    const bySession = authorize(
      req({ resourcePolicy: resourceFor({ AWS: SESSION }), permissionBoundaries: boundary }),
    )
    assert.equal(bySession.decision, 'Allowed')
    const sessionPolicy = [policy('session', allow('ec2:*'))]
    assert.equal(
      authorize(
        req({ resourcePolicy: resourceFor({ AWS: SESSION }), sessionPolicies: sessionPolicy }),
      ).decision,
      'Allowed',
    )
    assert.equal(
      authorize(req({ resourcePolicy: resourceFor({ AWS: ROLE }), sessionPolicies: sessionPolicy }))
        .decision,
      'ImplicitlyDenied',
    )
  })
  void test('cross-account needs both sides', () => {
    const principal = `arn:aws:iam::${OTHER}:user/bob`
    const rp = resourceFor({ AWS: `arn:aws:iam::${OTHER}:root` })
    const id = [policy('identity', allow())]
    assert.equal(authorize(req({ principal, resourcePolicy: rp })).decision, 'ImplicitlyDenied')
    assert.equal(authorize(req({ principal, identityPolicies: id })).decision, 'ImplicitlyDenied')
    assert.equal(
      authorize(req({ principal, resourcePolicy: rp, identityPolicies: id })).decision,
      'Allowed',
    )
  })
  void test('a resource-policy deny is blamed when the identity side allowed', () => {
    const r = authorize(
      req({
        principal: USER,
        identityPolicies: [policy('identity', allow())],
        resourcePolicy: policy('resource', deny('s3:*', '*', { Principal: '*' })),
      }),
    )
    assert.equal(r.decision, 'ExplicitlyDenied')
    assert.deepEqual(r.blockedBy, ['resource'])
  })
  void test('anonymous principals: only "*" grants; SCPs do not apply, RCPs do', () => {
    const pub = resourceFor('*')
    assert.equal(authorize(req({ principal: ANONYMOUS, resourcePolicy: pub })).decision, 'Allowed')
    assert.equal(
      authorize(req({ principal: ANONYMOUS, resourcePolicy: resourceFor({ AWS: ACCT }) })).decision,
      'ImplicitlyDenied',
    )
    const scp = [{ orgIdentifier: 'r-1', policies: [policy('scp', deny('*'))] }]
    assert.equal(
      authorize(req({ principal: ANONYMOUS, resourcePolicy: pub, serviceControlPolicies: scp }))
        .decision,
      'Allowed',
    )
    const rcp = [
      { orgIdentifier: 'r-1', policies: [policy('rcp', deny('s3:*', '*', { Principal: '*' }))] },
    ]
    const r = authorize(
      req({ principal: ANONYMOUS, resourcePolicy: pub, resourceControlPolicies: rcp }),
    )
    assert.deepEqual([r.decision, r.blockedBy], ['ExplicitlyDenied', ['rcp']])
  })
  void test('Deny with NotPrincipal always denies a principal with a boundary (IAM User Guide)', () => {
    const rp = policy(
      'resource',
      allow('s3:*', '*', { Principal: '*' }),
      deny('s3:*', '*', { NotPrincipal: { AWS: SESSION } }),
    )
    assert.equal(authorize(req({ resourcePolicy: rp })).decision, 'Allowed')
    assert.equal(
      authorize(req({ resourcePolicy: rp, permissionBoundaries: [policy('boundary', allow('*'))] }))
        .decision,
      'ExplicitlyDenied',
    )
  })
})

void describe('trust policies (gates)', () => {
  const host = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE'
  const provider = `arn:aws:iam::${ACCT}:oidc-provider/${host}`
  const trust = policy('trust', {
    Effect: 'Allow',
    Principal: { Federated: provider },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: {
      StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com' },
      StringLike: { [`${host}:sub`]: 'system:serviceaccount:payments:*' },
    },
  })
  const web = (ctx: Record<string, string>) =>
    authorize({
      principal: provider,
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: ROLE,
      context: ctx,
      identityPolicies: [],
      resourcePolicy: trust,
      resourcePolicyIsGate: true,
    })
  void test('OIDC federated principal with :sub / :aud conditions', () => {
    assert.equal(
      web({
        [`${host}:aud`]: 'sts.amazonaws.com',
        [`${host}:sub`]: 'system:serviceaccount:payments:api',
      }).decision,
      'Allowed',
    )
    assert.equal(
      web({ [`${host}:aud`]: 'other', [`${host}:sub`]: 'system:serviceaccount:payments:api' })
        .decision,
      'ImplicitlyDenied',
    )
    const r = web({
      [`${host}:aud`]: 'sts.amazonaws.com',
      [`${host}:sub`]: 'system:serviceaccount:kube-system:x',
    })
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.equal(r.unmatched[0]?.element, 'Condition')
    assert.equal(web({}).decision, 'ImplicitlyDenied')
  })
  void test('another provider does not match', () => {
    const r = authorize({
      principal: `arn:aws:iam::${ACCT}:oidc-provider/evil.example`,
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: ROLE,
      context: {},
      identityPolicies: [],
      resourcePolicy: trust,
      resourcePolicyIsGate: true,
    })
    assert.equal(r.unmatched[0]?.element, 'Principal')
  })
  void test('service principal and AWS principals', () => {
    const t = policy('trust', {
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    })
    const base = {
      action: 'sts:AssumeRole',
      resource: ROLE,
      context: {},
      identityPolicies: [],
      resourcePolicy: t,
      resourcePolicyIsGate: true,
    }
    assert.equal(authorize({ ...base, principal: 'pods.eks.amazonaws.com' }).decision, 'Allowed')
    assert.equal(
      authorize({ ...base, principal: 'ec2.amazonaws.com' }).decision,
      'ImplicitlyDenied',
    )
  })
  void test('a gate must allow even when identity policies do; naming the account delegates', () => {
    const idp = [policy('identity', allow('sts:AssumeRole'))]
    const base = {
      principal: USER,
      action: 'sts:AssumeRole',
      resource: ROLE,
      context: {},
      resourcePolicyIsGate: true,
    }
    assert.equal(authorize({ ...base, identityPolicies: idp }).decision, 'ImplicitlyDenied')
    const acct = policy('trust', {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
      Action: 'sts:AssumeRole',
    })
    assert.equal(
      authorize({ ...base, identityPolicies: [], resourcePolicy: acct }).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize({ ...base, identityPolicies: idp, resourcePolicy: acct }).decision,
      'Allowed',
    )
    const direct = policy('trust', {
      Effect: 'Allow',
      Principal: { AWS: USER },
      Action: 'sts:AssumeRole',
    })
    assert.equal(
      authorize({ ...base, identityPolicies: [], resourcePolicy: direct }).decision,
      'Allowed',
    )
  })
})

void describe('guardrails', () => {
  const id = [policy('identity', allow())]
  void test('every SCP level must allow; a level with no allow is ImplicitlyDenied blockedBy scp', () => {
    const ok = { orgIdentifier: 'r', policies: [policy('scp', allow('*'))] }
    const none = { orgIdentifier: 'ou', policies: [policy('scp', allow('ec2:*'))] }
    assert.equal(
      authorize(req({ identityPolicies: id, serviceControlPolicies: [ok, ok] })).decision,
      'Allowed',
    )
    const r = authorize(req({ identityPolicies: id, serviceControlPolicies: [ok, none] }))
    assert.deepEqual([r.decision, r.blockedBy], ['ImplicitlyDenied', ['scp']])
  })
  void test('RCP levels carry RCPFullAWSAccess first', () => {
    const level = { orgIdentifier: 'r', policies: [] }
    assert.equal(
      authorize(req({ identityPolicies: id, resourceControlPolicies: [level] })).decision,
      'Allowed',
    )
  })
  void test('boundary and session policies intersect', () => {
    assert.equal(
      authorize(
        req({ identityPolicies: id, permissionBoundaries: [policy('boundary', allow('s3:*'))] }),
      ).decision,
      'Allowed',
    )
    const r = authorize(
      req({ identityPolicies: id, permissionBoundaries: [policy('boundary', allow('ec2:*'))] }),
    )
    assert.deepEqual([r.decision, r.blockedBy], ['ImplicitlyDenied', ['pb']])
    assert.equal(
      authorize(req({ identityPolicies: id, sessionPolicies: [policy('session', allow('ec2:*'))] }))
        .decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(
        req({
          identityPolicies: id,
          sessionPolicies: [policy('session', allow('ec2:*')), policy('session', allow('s3:*'))],
        }),
      ).decision,
      'Allowed',
    )
  })
  void test('a federated user without a session policy has no permissions', () => {
    assert.equal(
      authorize(req({ principal: `arn:aws:sts::${ACCT}:federated-user/bob`, identityPolicies: id }))
        .decision,
      'ImplicitlyDenied',
    )
  })
})

// IAM User Guide, "How AWS enforcement code logic evaluates requests to allow or deny access", AWS STS federated
// user principal: a resource policy naming the federated user session ARN grants directly; one naming the IAM user
// who federated is limited by an implicit deny in a permissions boundary or session policy.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
void describe('federated user sessions (GetFederationToken) and resource policies', () => {
  const FED = `arn:aws:sts::${ACCT}:federated-user/bob`
  const bucketPolicy = (principal: string) =>
    policy('resource', allow('s3:GetObject', BUCKET, { Principal: { AWS: principal } }))
  const fed = (over: Partial<AuthorizationRequest>) =>
    req({ principal: FED, sessionIssuer: USER, ...over })
  const s3Session = [policy('session', allow('s3:*'))]
  const ec2Session = [policy('session', allow('ec2:*'))]

  void test('naming the federated user ARN grants, whatever the session policy', () => {
    assert.equal(authorize(fed({ resourcePolicy: bucketPolicy(FED) })).decision, 'Allowed')
    assert.equal(
      authorize(fed({ resourcePolicy: bucketPolicy(FED), sessionPolicies: ec2Session })).decision,
      'Allowed',
    )
  })
  void test('naming the IAM user who federated grants nothing without a session policy', () => {
    assert.equal(
      authorize(fed({ resourcePolicy: bucketPolicy(USER) })).decision,
      'ImplicitlyDenied',
    )
  })
  void test('naming the IAM user who federated is limited by the session policy', () => {
    assert.equal(
      authorize(fed({ resourcePolicy: bucketPolicy(USER), sessionPolicies: ec2Session })).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(fed({ resourcePolicy: bucketPolicy(USER), sessionPolicies: s3Session })).decision,
      'Allowed',
    )
  })
  void test('naming the IAM user who federated is limited by the permissions boundary', () => {
    assert.equal(
      authorize(
        fed({
          resourcePolicy: bucketPolicy(USER),
          sessionPolicies: s3Session,
          permissionBoundaries: [policy('boundary', allow('ec2:*'))],
        }),
      ).decision,
      'ImplicitlyDenied',
    )
  })
  void test('another user, or the user ARN without the issuer, does not match', () => {
    assert.equal(
      authorize(
        fed({
          resourcePolicy: bucketPolicy(`arn:aws:iam::${ACCT}:user/eve`),
          sessionPolicies: s3Session,
        }),
      ).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(
        req({ principal: FED, resourcePolicy: bucketPolicy(USER), sessionPolicies: s3Session }),
      ).decision,
      'ImplicitlyDenied',
    )
  })
  void test("the user's own identity policies ∩ session policies", () => {
    const identity = [policy('identity', allow('s3:GetObject'))]
    assert.equal(
      authorize(fed({ identityPolicies: identity, sessionPolicies: s3Session })).decision,
      'Allowed',
    )
    assert.equal(
      authorize(fed({ identityPolicies: identity, sessionPolicies: ec2Session })).decision,
      'ImplicitlyDenied',
    )
  })
})

void describe('totality', () => {
  void test('malformed requests give a decision with errors, never an exception', () => {
    const r = authorize({
      principal: USER,
      action: 's3:GetObject',
      resource: BUCKET,
      context: {},
      identityPolicies: [null as never],
    })
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.equal(r.errors.length, 1)
    const r2 = authorize({} as AuthorizationRequest)
    assert.equal(r2.decision, 'ImplicitlyDenied')
  })
})
