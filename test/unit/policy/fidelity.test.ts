/**
 * Policy-engine rules beyond the given corpora (issue 15). Each case cites the AWS document that decides it; none is
 * taken from a corpus.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  ANONYMOUS,
  authorize,
  compilePolicy,
  simulate,
  type AuthorizationRequest,
  type PolicyType,
  type SimulationRequest,
} from '../../../src/policy/index.ts'
import { covers, intersects, tokenChars } from '../../../src/policy/intersect.ts'
import { tokenize } from '../../../src/policy/glob.ts'

const ACCT = '111122223333'
const OTHER = '444455556666'
const USER = `arn:aws:iam::${ACCT}:user/alice`
const SESSION = `arn:aws:sts::${ACCT}:assumed-role/app/s1`
const OBJECT = 'arn:aws:s3:::data/report.csv'

const policy = (type: PolicyType, ...statements: object[]) =>
  compilePolicy({ Version: '2012-10-17', Statement: statements }, { type, id: type })
const allow = (action: string, resource: string | string[] = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...extra,
})
const deny = (action: string, resource: string | string[] = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action: action,
  Resource: resource,
  ...extra,
})
const ADMIN = () => policy('identity', allow('*'))

function req(over: Partial<AuthorizationRequest>): AuthorizationRequest {
  return {
    principal: SESSION,
    action: 's3:GetObject',
    resource: OBJECT,
    resourceAccount: ACCT,
    context: {},
    identityPolicies: [],
    ...over,
  }
}

// "Control access to VPC endpoints using endpoint policies" (Amazon VPC / PrivateLink guide): an endpoint policy
// "does not override or replace identity-based policies or resource-based policies", "must contain a Principal
// element", and the default policy allows full access. IAM User Guide "Policy evaluation logic" lists VPC endpoint
// policies among the policies whose explicit deny ends evaluation.
void describe('VPC endpoint policies (a gate, `vpce` in blockedBy)', () => {
  const onlyVpce = (vpce: string) =>
    policy(
      'vpce',
      allow('s3:*', '*', {
        Principal: '*',
        Condition: { StringEquals: { 'aws:SourceVpce': vpce } },
      }),
    )
  void test('an endpoint policy that allows does not grant by itself', () => {
    const r = authorize(
      req({ endpointPolicies: [policy('vpce', allow('*', '*', { Principal: '*' }))] }),
    )
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.deepEqual(r.blockedBy, [])
  })
  void test('identity allows, the endpoint policy allows the endpoint: allowed', () => {
    const r = authorize(
      req({
        identityPolicies: [ADMIN()],
        endpointPolicies: [onlyVpce('vpce-1a2b3c4d')],
        context: { 'aws:SourceVpce': 'vpce-1a2b3c4d', 'aws:SourceVpc': 'vpc-111bbb22' },
      }),
    )
    assert.equal(r.decision, 'Allowed')
  })
  void test('no statement of the endpoint policy allows: implicit deny blamed on vpce', () => {
    const r = authorize(
      req({
        identityPolicies: [ADMIN()],
        endpointPolicies: [onlyVpce('vpce-1a2b3c4d')],
        context: { 'aws:SourceVpce': 'vpce-99999999' },
      }),
    )
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.deepEqual(r.blockedBy, ['vpce'])
  })
  void test('a Deny in the endpoint policy is an explicit deny', () => {
    const r = authorize(
      req({
        identityPolicies: [ADMIN()],
        endpointPolicies: [
          policy(
            'vpce',
            allow('*', '*', { Principal: '*' }),
            deny('s3:GetObject', 'arn:aws:s3:::data/*', { Principal: '*' }),
          ),
        ],
      }),
    )
    assert.equal(r.decision, 'ExplicitlyDenied')
    assert.deepEqual(r.blockedBy, ['vpce'])
  })
  void test('anonymous requests through the endpoint are gated too', () => {
    const bucket = policy(
      'resource',
      allow('s3:GetObject', 'arn:aws:s3:::data/*', { Principal: '*' }),
    )
    const open = authorize(req({ principal: ANONYMOUS, resourcePolicy: bucket }))
    assert.equal(open.decision, 'Allowed')
    const gated = authorize(
      req({
        principal: ANONYMOUS,
        resourcePolicy: bucket,
        endpointPolicies: [policy('vpce', allow('s3:ListBucket', '*', { Principal: '*' }))],
      }),
    )
    assert.equal(gated.decision, 'ImplicitlyDenied')
    assert.deepEqual(gated.blockedBy, ['vpce'])
  })
  void test('an endpoint statement without Principal never applies', () => {
    const r = authorize(
      req({ identityPolicies: [ADMIN()], endpointPolicies: [policy('vpce', allow('*'))] }),
    )
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.deepEqual(r.blockedBy, ['vpce'])
  })
})

// IAM User Guide, "Policies and permissions" / "Principal": resource-based policies must name a principal. A
// statement that names none applies to no one.
void describe('resource-policy statements without Principal', () => {
  void test('an Allow without Principal grants nothing', () => {
    const r = authorize(req({ resourcePolicy: policy('resource', allow('s3:GetObject')) }))
    assert.equal(r.decision, 'ImplicitlyDenied')
  })
  void test('a Deny without Principal denies nothing', () => {
    const r = authorize(
      req({ identityPolicies: [ADMIN()], resourcePolicy: policy('resource', deny('s3:*')) }),
    )
    assert.equal(r.decision, 'Allowed')
    assert.equal(r.unmatched[0]?.element, 'Principal')
  })
})

// IAM User Guide, "Principal" (AWS service principals) and "Policy evaluation logic": a service principal has no
// identity-based policies; only a resource-based policy can grant it access.
void describe('service principals', () => {
  void test('only the resource policy can allow a service principal', () => {
    const base = req({ principal: 'logs.amazonaws.com', action: 'sqs:SendMessage' })
    assert.equal(authorize({ ...base, identityPolicies: [ADMIN()] }).decision, 'ImplicitlyDenied')
    const queue = policy(
      'resource',
      allow('sqs:SendMessage', '*', { Principal: { Service: 'logs.amazonaws.com' } }),
    )
    assert.equal(authorize({ ...base, resourcePolicy: queue }).decision, 'Allowed')
  })
})

// IAM User Guide, "AWS managed policies": "You cannot change the permissions defined in AWS managed policies";
// "Using service-linked roles": "you can't modify the permissions or trust policy … you can edit the
// description"; IAM Identity Center roles under /aws-reserved/ cannot be modified in IAM.
void describe('AWS-owned IAM resources', () => {
  const iam = (action: string, resource: string) =>
    authorize(req({ principal: USER, action, resource, identityPolicies: [ADMIN()] }))
  void test('writes to an AWS managed policy are denied whatever the identity policy says', () => {
    for (const a of [
      'iam:CreatePolicyVersion',
      'iam:DeletePolicy',
      'iam:SetDefaultPolicyVersion',
      'iam:TagPolicy',
    ]) {
      assert.equal(iam(a, 'arn:aws:iam::aws:policy/ReadOnlyAccess').decision, 'ImplicitlyDenied', a)
    }
    assert.equal(iam('iam:GetPolicy', 'arn:aws:iam::aws:policy/ReadOnlyAccess').decision, 'Allowed')
    assert.equal(
      iam('iam:CreatePolicyVersion', `arn:aws:iam::${ACCT}:policy/Mine`).decision,
      'Allowed',
    )
  })
  void test('IAM Identity Center roles are not modifiable', () => {
    const role = `arn:aws:iam::${ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef`
    for (const a of [
      'iam:AttachRolePolicy',
      'iam:PutRolePolicy',
      'iam:UpdateAssumeRolePolicy',
      'iam:DeleteRole',
    ]) {
      assert.equal(iam(a, role).decision, 'ImplicitlyDenied', a)
    }
    assert.equal(iam('iam:GetRole', role).decision, 'Allowed')
  })
  void test('service-linked roles: only the description and the service-linked-role operations', () => {
    const role = `arn:aws:iam::${ACCT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS`
    for (const a of ['iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRole']) {
      assert.equal(iam(a, role).decision, 'ImplicitlyDenied', a)
    }
    assert.equal(iam('iam:UpdateRoleDescription', role).decision, 'Allowed')
    assert.equal(iam('iam:DeleteServiceLinkedRole', role).decision, 'Allowed')
  })
  void test('an explicit deny stays explicit', () => {
    const r = authorize(
      req({
        principal: USER,
        action: 'iam:DeletePolicy',
        resource: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
        identityPolicies: [policy('identity', allow('*'), deny('iam:DeletePolicy'))],
      }),
    )
    assert.equal(r.decision, 'ExplicitlyDenied')
  })
})

// AWS KMS Developer Guide, "Controlling access to aliases": CreateAlias/UpdateAlias/DeleteAlias need permission
// for the alias (IAM policy) and for the KMS key (key policy); "IAM policies": CreateKey and ListKeys are not on
// a particular key, so IAM policies alone decide them.
void describe('KMS aliases and key-less KMS actions', () => {
  const ALIAS = `arn:aws:kms:us-east-1:${ACCT}:alias/app`
  const keyPolicy = (principal: object) =>
    policy('resource', allow('kms:*', '*', { Principal: principal }))
  const alias = (over: Partial<AuthorizationRequest>) =>
    authorize(
      req({
        principal: USER,
        action: 'kms:CreateAlias',
        resource: ALIAS,
        resourcePolicyIsGate: true,
        ...over,
      }),
    )
  const iamAllowsAlias = () =>
    policy('identity', allow('kms:CreateAlias', [ALIAS, `arn:aws:kms:us-east-1:${ACCT}:key/*`]))
  void test('IAM allows the alias and the key policy delegates to IAM: allowed', () => {
    const r = alias({
      identityPolicies: [iamAllowsAlias()],
      resourcePolicy: keyPolicy({ AWS: `arn:aws:iam::${ACCT}:root` }),
    })
    assert.equal(r.decision, 'Allowed')
  })
  void test('the key policy names the user, but no IAM policy allows the alias: denied', () => {
    assert.equal(alias({ resourcePolicy: keyPolicy({ AWS: USER }) }).decision, 'ImplicitlyDenied')
  })
  void test('IAM allows the alias, the key policy does not allow: denied', () => {
    assert.equal(
      alias({
        identityPolicies: [iamAllowsAlias()],
        resourcePolicy: keyPolicy({ AWS: `arn:aws:iam::${OTHER}:root` }),
      }).decision,
      'ImplicitlyDenied',
    )
  })
  void test('a principal of another account cannot manage the alias', () => {
    const r = alias({
      principal: `arn:aws:iam::${OTHER}:user/bob`,
      identityPolicies: [ADMIN()],
      resourcePolicy: keyPolicy({ AWS: `arn:aws:iam::${OTHER}:root` }),
    })
    assert.equal(r.decision, 'ImplicitlyDenied')
  })
  void test('kms:CreateKey on "*" is decided by IAM policies alone', () => {
    const r = authorize(
      req({
        principal: USER,
        action: 'kms:CreateKey',
        resource: '*',
        resourcePolicyIsGate: true,
        identityPolicies: [ADMIN()],
      }),
    )
    assert.equal(r.decision, 'Allowed')
  })
})

void describe('blockedBy names every guardrail that denied', () => {
  void test('boundary, SCP and endpoint policy all deny', () => {
    const r = authorize(
      req({
        identityPolicies: [ADMIN()],
        permissionBoundaries: [policy('boundary', allow('sqs:*'))],
        serviceControlPolicies: [
          { orgIdentifier: 'r-root', policies: [policy('scp', allow('ec2:*'))] },
        ],
        endpointPolicies: [policy('vpce', allow('sqs:*', '*', { Principal: '*' }))],
      }),
    )
    assert.equal(r.decision, 'ImplicitlyDenied')
    assert.deepEqual([...r.blockedBy].sort(), ['pb', 'scp', 'vpce'])
  })
  void test('a resource-policy deny and an SCP deny are both named', () => {
    const r = authorize(
      req({
        identityPolicies: [ADMIN()],
        resourcePolicy: policy('resource', deny('s3:GetObject', '*', { Principal: '*' })),
        serviceControlPolicies: [
          { orgIdentifier: 'r-root', policies: [policy('scp', allow('*'), deny('s3:*'))] },
        ],
      }),
    )
    assert.equal(r.decision, 'ExplicitlyDenied')
    assert.deepEqual([...r.blockedBy].sort(), ['resource', 'scp'])
  })
  void test('nothing is blamed when the identity side never allowed', () => {
    const r = authorize(
      req({
        serviceControlPolicies: [{ orgIdentifier: 'r', policies: [policy('scp', deny('*'))] }],
      }),
    )
    assert.deepEqual(r.blockedBy, [])
  })
})

// IAM User Guide, "IAM JSON policy elements: Resource" (wildcards within ARN segments) and "Policy evaluation
// logic" (a request names the resource it acts on). The simulator asks about many resources at once.
void describe('simulation: questions about any resource', () => {
  const sim = (over: Partial<SimulationRequest>) =>
    simulate({ ...req({ principal: USER }), ...over })
  const identity = (...s: object[]) => [policy('identity', ...s)]
  void test('"*" is allowed when some statement could apply', () => {
    const r = sim({
      resource: '*',
      identityPolicies: identity(allow('s3:GetObject', 'arn:aws:s3:::data/*')),
    })
    assert.equal(r.decision, 'Allowed')
  })
  void test('a bucket wildcard intersects an allowed prefix', () => {
    const ids = identity(allow('s3:GetObject', 'arn:aws:s3:::data/teams/a/*'))
    assert.equal(
      sim({ resource: 'arn:aws:s3:::data/*', identityPolicies: ids }).decision,
      'Allowed',
    )
    assert.equal(
      sim({ resource: 'arn:aws:s3:::other/*', identityPolicies: ids }).decision,
      'ImplicitlyDenied',
    )
  })
  void test('account and region wildcards intersect per segment', () => {
    const ids = identity(allow('sqs:SendMessage', `arn:aws:sqs:*:${OTHER}:jobs-*`))
    assert.equal(
      sim({
        action: 'sqs:SendMessage',
        resource: 'arn:aws:sqs:us-east-1:*:jobs-high',
        identityPolicies: ids,
      }).decision,
      'Allowed',
    )
    assert.equal(
      sim({
        action: 'sqs:SendMessage',
        resource: `arn:aws:sqs:us-east-1:${ACCT}:*`,
        identityPolicies: ids,
      }).decision,
      'ImplicitlyDenied',
    )
  })
  void test('a Deny of part of the set does not deny the question; a covering Deny does', () => {
    const partial = identity(allow('s3:*'), deny('s3:GetObject', 'arn:aws:s3:::data/secret/*'))
    assert.equal(
      sim({ resource: 'arn:aws:s3:::data/*', identityPolicies: partial }).decision,
      'Allowed',
    )
    const full = identity(allow('s3:*'), deny('s3:GetObject', 'arn:aws:s3:::data*'))
    assert.equal(
      sim({ resource: 'arn:aws:s3:::data/*', identityPolicies: full }).decision,
      'ExplicitlyDenied',
    )
  })
  void test('NotResource: Allow applies unless the exclusion covers the set', () => {
    const ids = identity({
      Effect: 'Allow',
      Action: 's3:*',
      NotResource: 'arn:aws:s3:::data/private/*',
    })
    assert.equal(
      sim({ resource: 'arn:aws:s3:::data/*', identityPolicies: ids }).decision,
      'Allowed',
    )
    assert.equal(
      sim({ resource: 'arn:aws:s3:::data/private/x*', identityPolicies: ids }).decision,
      'ImplicitlyDenied',
    )
  })
  void test('a wildcard-only action compares "*" literally', () => {
    const ids = identity(allow('s3:ListAllMyBuckets', 'arn:aws:s3:::data'))
    assert.equal(
      sim({
        action: 's3:ListAllMyBuckets',
        resource: '*',
        identityPolicies: ids,
        wildcardOnlyAction: true,
      }).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      sim({ action: 's3:ListAllMyBuckets', resource: '*', identityPolicies: ids }).decision,
      'Allowed',
    )
  })
  void test('the run-time entry point never reads a request resource as a pattern', () => {
    const ids = identity(allow('s3:GetObject', 'arn:aws:s3:::data/teams/a/*'))
    assert.equal(
      authorize(req({ resource: 'arn:aws:s3:::data/*', identityPolicies: ids })).decision,
      'ImplicitlyDenied',
    )
    assert.equal(
      authorize(req({ resource: '*', identityPolicies: ids })).decision,
      'ImplicitlyDenied',
    )
  })
  void test("STS, the gateway and IAM's own authorization do not import the simulator", () => {
    const roots = ['src/aws', 'src/identity', 'src/gateway', 'src/agent', 'src/server']
    const offenders: string[] = []
    // An import of the engine's `simulate` (from policy/index.ts or policy/simulate.ts).
    const importsSimulate = (text: string): boolean => {
      for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
        const names = m[1]!.split(',').map((x) => x.trim().split(/\s+as\s+/)[0])
        if (m[2]!.includes('policy/') && names.includes('simulate')) return true
      }
      return false
    }
    // The detector finds the offline users it must find.
    assert.ok(importsSimulate(readFileSync('src/aws/iam/actions-simulate.ts', 'utf8')))
    assert.ok(importsSimulate(readFileSync('src/cli/commands/policy.ts', 'utf8')))
    const walk = (dir: string): void => {
      let names: string[]
      try {
        names = readdirSync(dir)
      } catch {
        return
      }
      for (const n of names) {
        const p = join(dir, n)
        if (statSync(p).isDirectory()) walk(p)
        else if (n.endsWith('.ts') && !/simulate/i.test(n)) {
          if (importsSimulate(readFileSync(p, 'utf8'))) offenders.push(p)
        }
      }
    }
    for (const r of roots) walk(r)
    assert.deepEqual(offenders, [])
  })
})

void describe('pattern relations', () => {
  const p = (s: string) => tokenChars(tokenize(s))
  void test('intersects', () => {
    assert.equal(intersects(p('data/*'), p('data/teams/*')), true)
    assert.equal(intersects(p('a*c'), p('ab*')), true)
    assert.equal(intersects(p('bar*'), p('foo*')), false)
    assert.equal(intersects(p('??-x'), p('ab-*')), true)
    assert.equal(intersects(p('us-east-1'), p('us-west-*')), false)
  })
  void test('covers', () => {
    assert.equal(covers(p('data/*'), p('data/foo*')), true)
    assert.equal(covers(p('data/foo*'), p('data/*')), false)
    assert.equal(covers(p('*'), p('a?b*')), true)
    assert.equal(covers(p('a?c'), p('abc')), true)
    assert.equal(covers(p('abc'), p('a?c')), false)
  })
})

// IAM User Guide, "Condition operators", "Multivalued context keys", "Policy variables".
void describe("conditions and variables (AWS's documented logic)", () => {
  const withCond = (
    cond: object,
    context: Record<string, string | string[]>,
    version = '2012-10-17',
  ) =>
    authorize(
      req({
        context,
        identityPolicies: [
          compilePolicy({
            Version: version,
            Statement: [allow('s3:GetObject', '*', { Condition: cond })],
          }),
        ],
      }),
    ).decision
  void test('IfExists is true on a missing key; a negated operator is true on a missing key', () => {
    assert.equal(withCond({ StringEqualsIfExists: { 'aws:SourceVpc': 'vpc-1' } }, {}), 'Allowed')
    assert.equal(withCond({ StringEquals: { 'aws:SourceVpc': 'vpc-1' } }, {}), 'ImplicitlyDenied')
    assert.equal(withCond({ StringNotEquals: { 'aws:SourceVpc': 'vpc-1' } }, {}), 'Allowed')
  })
  void test('ForAnyValue is false and ForAllValues true on a missing or empty key', () => {
    assert.equal(
      withCond({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'a' } }, {}),
      'ImplicitlyDenied',
    )
    assert.equal(withCond({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, {}), 'Allowed')
    assert.equal(
      withCond({ 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': [] }),
      'Allowed',
    )
    assert.equal(
      withCond(
        { 'ForAllValues:StringEquals': { 'aws:TagKeys': 'a' } },
        { 'aws:TagKeys': ['a', 'b'] },
      ),
      'ImplicitlyDenied',
    )
  })
  void test('key names are case-insensitive, values are not', () => {
    assert.equal(
      withCond(
        { StringEquals: { 'AWS:PrincipalTag/Team': 'blue' } },
        { 'aws:principaltag/team': 'blue' },
      ),
      'Allowed',
    )
    assert.equal(
      withCond(
        { StringEquals: { 'aws:PrincipalTag/team': 'blue' } },
        { 'aws:PrincipalTag/team': 'Blue' },
      ),
      'ImplicitlyDenied',
    )
  })
  void test("a variable's default applies when the key is missing", () => {
    const c = { StringEquals: { 's3:prefix': "home/${aws:username, 'guest'}/" } }
    assert.equal(withCond(c, { 's3:prefix': 'home/guest/' }), 'Allowed')
    assert.equal(withCond(c, { 's3:prefix': 'home/alice/', 'aws:username': 'alice' }), 'Allowed')
    assert.equal(withCond(c, { 's3:prefix': 'home/guest/' }, '2008-10-17'), 'ImplicitlyDenied')
  })
  void test('NotPrincipal with Deny always denies a principal with a permissions boundary', () => {
    const bucket = policy('resource', allow('s3:GetObject', '*', { Principal: { AWS: SESSION } }), {
      Effect: 'Deny',
      NotPrincipal: { AWS: SESSION },
      Action: 's3:*',
      Resource: '*',
    })
    assert.equal(authorize(req({ resourcePolicy: bucket })).decision, 'Allowed')
    assert.equal(
      authorize(
        req({ resourcePolicy: bucket, permissionBoundaries: [policy('boundary', allow('s3:*'))] }),
      ).decision,
      'ExplicitlyDenied',
    )
  })
})
