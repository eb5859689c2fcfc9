// Generic trust (TRUST-*), Pod Identity (PODID-*), permissions (PERM-*, NODE-002/005) and LEG-003.
// Deciding documents: IAM User Guide "Policy evaluation logic" and "IAM JSON policy elements: NotPrincipal";
// EKS user guide "pod-id-role" (trust needs sts:AssumeRole and sts:TagSession), "pod-id-abac" (session tags),
// "pod-id-assign-target-role" (externalId); Rhino Security Labs' privilege-escalation methods.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { PodIdentityAssociation } from '../../../src/analysis/model.ts'
import { ACCOUNT, allowAll, exactTrust, gaad, only, roleArn, run, sa } from './helpers.ts'

const assume = (principal: object, extra: object = {}) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...extra }],
})
const podTrust = (
  actions: string[] = ['sts:AssumeRole', 'sts:TagSession'],
  extra: object = {},
) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: actions,
      ...extra,
    },
  ],
})
const association = (
  role: string,
  extra: Partial<PodIdentityAssociation> = {},
): PodIdentityAssociation => ({
  clusterName: 'prod',
  clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/prod`,
  namespace: 'pay',
  serviceAccount: 'api',
  roleArn: roleArn(role),
  disableSessionTags: false,
  ...extra,
})

void describe('TRUST-*', () => {
  void test('TRUST-001 any principal without condition; TRUST-002 with a condition; TRUST-006 NotPrincipal', () => {
    const report = run(
      '',
      gaad([
        { name: 'any', trust: assume({ AWS: '*' }) },
        {
          name: 'anycond',
          trust: assume(
            { AWS: '*' },
            { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } },
          ),
        },
        {
          name: 'notp',
          trust: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', NotPrincipal: { AWS: roleArn('x') }, Action: 'sts:AssumeRole' },
            ],
          },
        },
      ]),
    )
    assert.deepEqual(
      only(report, 'TRUST-001').map((f) => f.objects[0]),
      [roleArn('any')],
    )
    assert.deepEqual(
      only(report, 'TRUST-002').map((f) => f.objects[0]),
      [roleArn('anycond')],
    )
    assert.deepEqual(
      only(report, 'TRUST-006').map((f) => f.objects[0]),
      [roleArn('notp')],
    )
  })

  void test('TRUST-003/004 third-party account without ExternalId; a known account is not flagged', () => {
    const g = gaad([{ name: 'x', trust: assume({ AWS: 'arn:aws:iam::999988887777:root' }) }])
    assert.equal(only(run('', g), 'TRUST-003').length, 1)
    assert.equal(only(run('', g), 'TRUST-004').length, 1)
    assert.equal(only(run('', g, {}, { knownAccounts: ['999988887777'] }), 'TRUST-003').length, 0)
  })

  void test('TRUST-005 same-account root; TRUST-007 compute service', () => {
    const report = run(
      '',
      gaad([
        { name: 'root', trust: assume({ AWS: `arn:aws:iam::${ACCOUNT}:root` }) },
        { name: 'ec2', trust: assume({ Service: 'ec2.amazonaws.com' }) },
      ]),
    )
    assert.equal(only(report, 'TRUST-005')[0]!.objects[0], roleArn('root'))
    assert.equal(only(report, 'TRUST-007')[0]!.objects[0], roleArn('ec2'))
  })

  void test('TRUST-008: a pod-reachable role chains to an admin role (edge needs identity Allow and target trust)', () => {
    const report = run(
      sa('pay', 'api', roleArn('app')),
      gaad([
        {
          name: 'app',
          trust: exactTrust('pay', 'api'),
          inline: [allowAll('sts:AssumeRole', roleArn('admin'))],
        },
        { name: 'admin', trust: assume({ AWS: roleArn('app') }), inline: [allowAll('*')] },
        { name: 'unreachable', trust: assume({ AWS: roleArn('other') }), inline: [allowAll('*')] },
      ]),
    )
    const chain = only(report, 'TRUST-008')
    assert.equal(chain.length, 1)
    assert.equal(chain[0]!.severity, 'critical')
    assert.deepEqual(chain[0]!.objects.slice(0, 2), [roleArn('app'), roleArn('admin')])
  })

  void test('LEG-003: a role trusting the node role', () => {
    const report = run(
      '',
      gaad([
        { name: 'node', trust: assume({ Service: 'ec2.amazonaws.com' }), instanceProfile: true },
        { name: 'k2i', trust: assume({ AWS: roleArn('node') }) },
      ]),
    )
    assert.equal(only(report, 'LEG-003')[0]!.objects[0], roleArn('k2i'))
  })
})

void describe('PODID-*', () => {
  void test('PODID-001 no conditions, PODID-005 no confused-deputy keys', () => {
    const report = run('', gaad([{ name: 'p', trust: podTrust() }]))
    assert.equal(only(report, 'PODID-001').length, 1)
    assert.equal(only(report, 'PODID-005').length, 1)
    const guarded = run(
      '',
      gaad([
        {
          name: 'p',
          trust: podTrust(undefined, {
            Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
          }),
        },
      ]),
    )
    assert.equal(only(guarded, 'PODID-001').length + only(guarded, 'PODID-005').length, 0)
  })

  void test('PODID-002: trust without sts:TagSession, evaluated for the association', () => {
    const report = run(
      sa('pay', 'api'),
      gaad([{ name: 'p', trust: podTrust(['sts:AssumeRole']) }]),
      { associations: [association('p')] },
    )
    assert.equal(only(report, 'PODID-002').length, 1)
    const tagged = run(sa('pay', 'api'), gaad([{ name: 'p', trust: podTrust() }]), {
      associations: [association('p')],
    })
    assert.equal(only(tagged, 'PODID-002').length, 0)
    assert.equal(tagged.workloads.length, 0)
    assert.deepEqual(tagged.edges, [
      { serviceAccount: 'pay/api', role: roleArn('p'), via: 'pod-identity' },
    ])
  })

  void test('PODID-004: tags disabled while the trust requires aws:RequestTag; IfExists on kubernetes-* tags', () => {
    const cond = { Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'pay' } } }
    const report = run(sa('pay', 'api'), gaad([{ name: 'p', trust: podTrust(undefined, cond) }]), {
      associations: [association('p', { disableSessionTags: true })],
    })
    assert.match(only(report, 'PODID-004')[0]!.message, /never works/)
    const ifExists = run(
      '',
      gaad([
        {
          name: 'q',
          trust: podTrust(undefined, {
            Condition: { StringEqualsIfExists: { 'aws:RequestTag/kubernetes-namespace': 'pay' } },
          }),
        },
      ]),
    )
    assert.equal(only(ifExists, 'PODID-004').length, 1)
  })

  void test('PODID-003: ABAC on kubernetes-namespace without eks-cluster-arn', () => {
    const abac = allowAll('s3:GetObject', 'arn:aws:s3:::b/*', {
      Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': 'pay' } },
    })
    const report = run('', gaad([{ name: 'p', trust: podTrust(), inline: [abac] }]))
    assert.equal(only(report, 'PODID-003').length, 1)
  })

  void test('PODID-006: target role trusting the primary role without sts:ExternalId', () => {
    const report = run(
      sa('pay', 'api'),
      gaad([
        { name: 'p', trust: podTrust() },
        { name: 't', trust: assume({ AWS: roleArn('p') }) },
      ]),
      { associations: [association('p', { targetRoleArn: roleArn('t'), externalId: 'ext-1' })] },
    )
    assert.equal(only(report, 'PODID-006').length, 1)
    const safe = run(
      sa('pay', 'api'),
      gaad([
        { name: 'p', trust: podTrust() },
        {
          name: 't',
          trust: assume(
            { AWS: roleArn('p') },
            { Condition: { StringEquals: { 'sts:ExternalId': 'ext-1' } } },
          ),
        },
      ]),
      { associations: [association('p', { targetRoleArn: roleArn('t'), externalId: 'ext-1' })] },
    )
    assert.equal(only(safe, 'PODID-006').length, 0)
  })

  void test('PODID-007: IRSA annotation and Pod Identity association on one SA', () => {
    const report = run(
      sa('pay', 'api', roleArn('irsa')),
      gaad([
        { name: 'p', trust: podTrust() },
        { name: 'irsa', trust: exactTrust('pay', 'api') },
      ]),
      { associations: [association('p')] },
    )
    assert.equal(only(report, 'PODID-007').length, 1)
  })
})

void describe('PERM-* on pod-reachable roles', () => {
  const reach = (inline: object[], extra: Partial<Parameters<typeof gaad>[0][number]> = {}) =>
    run(
      sa('pay', 'api', roleArn('app')),
      gaad([{ name: 'app', trust: exactTrust('pay', 'api'), inline, ...extra }]),
    )

  void test('PERM-001 admin; a Deny on iam:* removes privilege escalation (cloudsplaining fp1 shape)', () => {
    assert.equal(only(reach([allowAll('*')]), 'PERM-001')[0]!.severity, 'critical')
    const fp = reach([
      allowAll('iam:*'),
      { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:*', Resource: '*' }] },
    ])
    assert.equal(
      only(fp, 'PERM-007').length + only(fp, 'PERM-002').length + only(fp, 'PERM-001').length,
      0,
    )
  })

  void test('PERM-007 privilege escalation (reachable → critical), only when every action of a method is unrestricted', () => {
    assert.match(
      only(reach([allowAll(['iam:PassRole', 'ec2:RunInstances'])]), 'PERM-007')[0]!.message,
      /CreateEC2WithExistingIP/,
    )
    assert.equal(
      only(reach([allowAll(['iam:PassRole', 'ec2:RunInstances'])]), 'PERM-007')[0]!.severity,
      'critical',
    )
    assert.equal(
      only(
        reach([
          allowAll('iam:PassRole'),
          allowAll('ec2:RunInstances', 'arn:aws:ec2:*:*:instance/i-1'),
        ]),
        'PERM-007',
      ).length,
      0,
    )
    assert.equal(
      only(
        reach([
          allowAll(['iam:PassRole', 'ec2:RunInstances'], '*', {
            Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
          }),
        ]),
        'PERM-007',
      ).length,
      0,
    )
  })

  void test('a permissions boundary limits what counts', () => {
    const report = run(
      sa('pay', 'api', roleArn('app')),
      gaad(
        [
          {
            name: 'app',
            trust: exactTrust('pay', 'api'),
            inline: [allowAll('*')],
            boundary: `arn:aws:iam::${ACCOUNT}:policy/b`,
          },
        ],
        {
          policies: [
            {
              arn: `arn:aws:iam::${ACCOUNT}:policy/b`,
              document: allowAll('s3:GetObject', 'arn:aws:s3:::b/*'),
            },
          ],
        },
      ),
    )
    assert.equal(only(report, 'PERM-001').length, 0)
    assert.equal(only(report, 'PERM-013').length, 0)
  })

  void test('PERM-002, 004, 005, 006, 008, 009, 010, 011, 013, 014 and NODE-005', () => {
    const report = reach([
      allowAll('s3:*', 'arn:aws:s3:::bucket/*'),
      allowAll([
        's3:GetObject',
        's3:PutBucketPolicy',
        'ecr:GetAuthorizationToken',
        'kms:Decrypt',
        'ssm:SendCommand',
      ]),
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'sqs:SendMessage', NotResource: 'arn:aws:sqs:*:*:q' },
        ],
      },
    ])
    for (const id of [
      'PERM-002',
      'PERM-005',
      'PERM-008',
      'PERM-009',
      'PERM-010',
      'PERM-013',
      'PERM-014',
      'NODE-005',
    ])
      assert.equal(only(report, id).length, 1, id)
    // Allow + NotAction on * grants everything but the listed actions: admin-equivalent (cloudsplaining fn4).
    const notAction = reach([
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }],
      },
    ])
    assert.equal(only(notAction, 'PERM-004')[0]!.severity, 'high')
    assert.equal(only(notAction, 'PERM-001').length, 1)
    const pass = reach([allowAll('iam:PassRole', 'arn:aws:iam::*:role/*')])
    assert.equal(only(pass, 'PERM-006').length, 1)
    const eks = reach([allowAll(['eks:CreatePodIdentityAssociation', 'iam:PassRole'])])
    assert.match(only(eks, 'PERM-011')[0]!.message, /Pod Identity associations/)
  })

  void test('PERM-012: ForAllValues on a single-valued key in a reachable role policy', () => {
    const report = reach([
      allowAll('s3:GetObject', 'arn:aws:s3:::b/*', {
        Condition: { 'ForAllValues:StringEquals': { 'aws:SourceVpc': 'vpc-1' } },
      }),
    ])
    assert.equal(only(report, 'PERM-012')[0]!.severity, 'medium')
  })

  void test('permission checks skip roles no pod reaches when Kubernetes inputs are given', () => {
    const report = run(
      sa('pay', 'api'),
      gaad([
        { name: 'admin', trust: assume({ Service: 'ec2.amazonaws.com' }), inline: [allowAll('*')] },
      ]),
    )
    assert.equal(only(report, 'PERM-001').length, 0)
    assert.equal(
      only(
        run(
          sa('pay', 'api'),
          gaad([
            {
              name: 'admin',
              trust: assume({ Service: 'ec2.amazonaws.com' }),
              inline: [allowAll('*')],
            },
          ]),
          {},
          { allPrincipals: true },
        ),
        'PERM-001',
      ).length,
      1,
    )
  })

  void test('NODE-002: node role with more than the standard node policies', () => {
    const report = run(
      '',
      gaad([
        {
          name: 'node',
          trust: assume({ Service: 'ec2.amazonaws.com' }),
          instanceProfile: true,
          attached: [
            'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
            'arn:aws:iam::aws:policy/AmazonS3FullAccess',
          ],
        },
      ]),
      {
        nodes: [
          {
            name: 'i-1',
            httpTokens: 'required',
            httpEndpoint: 'enabled',
            hopLimit: 1,
            instanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/node`,
          },
        ],
      },
    )
    assert.match(only(report, 'NODE-002')[0]!.message, /AmazonS3FullAccess/)
  })
})
