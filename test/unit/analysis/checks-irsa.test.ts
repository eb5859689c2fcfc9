// IRSA trust checks (IRSA-*), issuer/audience (X-*), quotas (LIMIT-*) and reachability by evaluation.
// Deciding documents: EKS user guide "IAM roles for service accounts" (sub = system:serviceaccount:NS:SA, aud
// sts.amazonaws.com); IAM User Guide "Condition operators" (ForAllValues vacuous truth, …IfExists) and
// "IAM and AWS STS quotas" (trust policy 2,048 characters, 100 OIDC providers per account).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  ACCOUNT,
  deployment,
  exactTrust,
  gaad,
  irsaTrust,
  ISSUER,
  only,
  PROVIDER,
  providers,
  roleArn,
  run,
  sa,
} from './helpers.ts'

const sub = `${ISSUER}:sub`
const aud = `${ISSUER}:aud`

void describe('reachability by evaluation', () => {
  void test('an exact trust admits only its ServiceAccount; a namespace wildcard admits every SA of that namespace', () => {
    const report = run(
      sa('pay', 'api', roleArn('api')) +
        sa('pay', 'worker') +
        sa('ops', 'tool') +
        deployment('pay', 'api', 'api'),
      gaad([
        { name: 'api', trust: exactTrust('pay', 'api') },
        {
          name: 'pay-all',
          trust: irsaTrust({
            StringLike: { [sub]: 'system:serviceaccount:pay:*' },
            StringEquals: { [aud]: 'sts.amazonaws.com' },
          }),
        },
      ]),
    )
    const edges = report.edges
      .filter((e) => e.via === 'irsa')
      .map((e) => `${e.serviceAccount}→${e.role.split('/')[1]}`)
      .sort()
    assert.deepEqual(edges, ['pay/api→api', 'pay/api→pay-all', 'pay/worker→pay-all'])
    const w = report.workloads.find((x) => x.pod === 'pay/api')!
    assert.deepEqual(w.roles, [roleArn('api'), roleArn('pay-all')])
    assert.equal(w.credentialSource, 'irsa')
  })

  void test('the token audience must be in the provider ClientIDList (STS InvalidIdentityToken otherwise)', () => {
    const yaml = sa('pay', 'api', roleArn('api'), '    eks.amazonaws.com/audience: other\n')
    const g = gaad([
      {
        name: 'api',
        trust: irsaTrust({ StringEquals: { [sub]: 'system:serviceaccount:pay:api' } }),
      },
    ])
    assert.equal(
      run(yaml, g).edges.length,
      1,
      'without a provider list the audience is not checked',
    )
    assert.equal(run(yaml, g, { oidcProviders: providers() }).edges.length, 0)
  })

  void test('a trust naming a provider missing from the account reaches nobody and is IRSA-006', () => {
    const report = run(sa('pay', 'api'), gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]), {
      oidcProviders: [],
    })
    assert.equal(report.edges.length, 0)
    assert.equal(only(report, 'IRSA-006').length, 1)
  })

  void test('--issuer narrows reachability to the cluster the pods run in', () => {
    const other = 'oidc.eks.us-east-1.amazonaws.com/id/CLUSTER2'
    const trust = (url: string) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${url}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [`${url}:sub`]: 'system:serviceaccount:pay:api' } },
        },
      ],
    })
    const g = gaad([
      { name: 'here', trust: trust(ISSUER) },
      { name: 'there', trust: trust(other) },
    ])
    assert.equal(run(sa('pay', 'api'), g).edges.length, 2)
    const narrowed = run(sa('pay', 'api'), g, {}, { issuers: [`https://${ISSUER}`] })
    assert.deepEqual(
      narrowed.edges.map((e) => e.role),
      [roleArn('here')],
    )
  })

  void test('an explicit Deny in the trust wins over a wide Allow', () => {
    const trust = irsaTrust({ StringLike: { [sub]: 'system:serviceaccount:pay:*' } })
    trust.Statement.push({
      Effect: 'Deny',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { [sub]: 'system:serviceaccount:pay:worker' } },
    } as never)
    const report = run(sa('pay', 'api') + sa('pay', 'worker'), gaad([{ name: 'r', trust }]))
    assert.deepEqual(
      report.edges.map((e) => e.serviceAccount),
      ['pay/api'],
    )
  })
})

void describe('IRSA-001 / IRSA-002: breadth judged by probe evaluation', () => {
  void test('no sub condition → IRSA-001 high', () => {
    const report = run(
      sa('a', 'b'),
      gaad([{ name: 'open', trust: irsaTrust({ StringEquals: { [aud]: 'sts.amazonaws.com' } }) }]),
    )
    const f = only(report, 'IRSA-001')
    assert.equal(f.length, 1)
    assert.equal(f[0]!.severity, 'high')
    assert.ok(f[0]!.objects.includes(roleArn('open')))
  })

  void test('one pinned statement beside an unpinned one is still IRSA-001 (the unpinned one admits everyone)', () => {
    const t = exactTrust('a', 'b')
    t.Statement.push({
      ...t.Statement[0]!,
      Condition: { StringEquals: { [aud]: 'sts.amazonaws.com' } },
    } as never)
    const report = run('', gaad([{ name: 'mixed', trust: t }]))
    assert.equal(only(report, 'IRSA-001').length, 1)
    assert.equal(only(report, 'IRSA-002').length, 0)
  })

  void test('StringNotEquals as the only sub limit admits everything else → IRSA-001 and IRSA-007', () => {
    const report = run(
      '',
      gaad([
        {
          name: 'neg',
          trust: irsaTrust({ StringNotEquals: { [sub]: 'system:serviceaccount:x:y' } }),
        },
      ]),
    )
    assert.equal(only(report, 'IRSA-001').length, 1)
    assert.match(only(report, 'IRSA-007')[0]!.message, /negated/)
  })

  void test('sub "system:serviceaccount:*" → IRSA-002 high; "ns:*" → medium; "ns:app-*" → low', () => {
    const like = (v: string) =>
      irsaTrust({ StringLike: { [sub]: v }, StringEquals: { [aud]: 'sts.amazonaws.com' } })
    const report = run(
      sa('pay', 'app-1'),
      gaad([
        { name: 'all', trust: like('system:serviceaccount:*') },
        { name: 'ns', trust: like('system:serviceaccount:pay:*') },
        { name: 'prefix', trust: like('system:serviceaccount:pay:app-*') },
      ]),
    )
    const sev = Object.fromEntries(
      only(report, 'IRSA-002').map((f) => [f.objects[0]!.split('/')[1], f.severity]),
    )
    assert.deepEqual(sev, { all: 'high', ns: 'medium', prefix: 'low' })
  })

  void test('an exact sub with aud is clean', () => {
    const report = run(
      sa('pay', 'api', roleArn('api')),
      gaad([{ name: 'api', trust: exactTrust('pay', 'api') }]),
      { oidcProviders: providers() },
    )
    assert.deepEqual(
      report.findings.filter((f) => f.id.startsWith('IRSA') || f.id.startsWith('BIND')),
      [],
    )
  })
})

void describe('IRSA-003 … IRSA-009', () => {
  void test('IRSA-003: no aud condition (low; medium when the provider accepts other audiences)', () => {
    const g = gaad([
      { name: 'r', trust: irsaTrust({ StringEquals: { [sub]: 'system:serviceaccount:a:b' } }) },
    ])
    assert.equal(only(run('', g), 'IRSA-003')[0]!.severity, 'low')
    assert.equal(
      only(
        run('', g, {
          oidcProviders: providers(['sts.amazonaws.com', 'https://kubernetes.default.svc']),
        }),
        'IRSA-003',
      )[0]!.severity,
      'medium',
    )
  })

  void test('IRSA-004 / IRSA-009: GitHub Actions without repository pinning is critical; pinned is IRSA-004 high only', () => {
    const gh = 'token.actions.githubusercontent.com'
    const trust = (cond: object) => ({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${gh}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: cond,
        },
      ],
    })
    const open = run(
      '',
      gaad([
        { name: 'ci', trust: trust({ StringEquals: { [`${gh}:aud`]: 'sts.amazonaws.com' } }) },
      ]),
    )
    assert.equal(only(open, 'IRSA-009')[0]!.severity, 'critical')
    const pinned = run(
      '',
      gaad([{ name: 'ci', trust: trust({ StringLike: { [`${gh}:sub`]: 'repo:acme/app:*' } }) }]),
    )
    assert.equal(only(pinned, 'IRSA-009').length, 0)
    assert.equal(only(pinned, 'IRSA-004')[0]!.severity, 'high')
  })

  void test('IRSA-005: one role trusts two clusters', () => {
    const t = exactTrust('a', 'b')
    t.Statement.push({
      ...t.Statement[0]!,
      Principal: {
        Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/CLUSTER2`,
      },
    })
    assert.equal(only(run('', gaad([{ name: 'r', trust: t }])), 'IRSA-005').length, 1)
  })

  void test('IRSA-007: ForAllValues and IfExists on sub', () => {
    const report = run(
      '',
      gaad([
        {
          name: 'fav',
          trust: irsaTrust({
            'ForAllValues:StringEquals': { [sub]: 'system:serviceaccount:a:b' },
            StringEquals: { [aud]: 'sts.amazonaws.com' },
          }),
        },
        {
          name: 'ife',
          trust: irsaTrust({
            StringEqualsIfExists: { [sub]: 'system:serviceaccount:a:b' },
            StringEquals: { [aud]: 'sts.amazonaws.com' },
          }),
        },
      ]),
    )
    assert.deepEqual(
      only(report, 'IRSA-007')
        .map((f) => f.objects[0])
        .sort(),
      [roleArn('fav'), roleArn('ife')],
    )
  })

  void test('IRSA-008: wildcard under StringEquals, subject under :aud, key without claim — and BIND-001 explains the broken binding', () => {
    const report = run(
      sa('pay', 'api', roleArn('lit')),
      gaad([
        {
          name: 'lit',
          trust: irsaTrust({ StringEquals: { [sub]: 'system:serviceaccount:pay:*' } }),
        },
        {
          name: 'swap',
          trust: irsaTrust({
            StringEquals: { [aud]: 'system:serviceaccount:kube-system:aws-node' },
          }),
        },
        {
          name: 'bare',
          trust: irsaTrust({ StringEquals: { [ISSUER]: 'system:serviceaccount:a:b' } }),
        },
      ]),
    )
    const dead = only(report, 'IRSA-008')
      .map((f) => f.objects[0]!.split('/')[1])
      .sort()
    assert.deepEqual(dead, ['bare', 'lit', 'swap'])
    const broken = only(report, 'BIND-001')
    assert.equal(broken.length, 1)
    assert.match(broken[0]!.message, /StringEquals .*:sub failed/)
    assert.match(broken[0]!.remediation, /system:serviceaccount:pay:api/)
  })

  void test('X-003: provider accepting the API server audience; X-002: issuer on S3', () => {
    const s3 = 'my-bucket.s3.us-east-1.amazonaws.com'
    const g = gaad([
      {
        name: 'r',
        trust: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${s3}` },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { [`${s3}:sub`]: 'system:serviceaccount:a:b' } },
            },
          ],
        },
      },
    ])
    const report = run('', g, {
      oidcProviders: [
        ...providers(['sts.amazonaws.com', 'https://kubernetes.default.svc']),
        {
          arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${s3}`,
          url: s3,
          clientIds: ['sts.amazonaws.com'],
          thumbprints: [],
        },
      ],
    })
    assert.equal(only(report, 'X-003')[0]!.severity, 'high')
    assert.equal(only(report, 'X-002').length, 1)
  })

  void test('LIMIT-001: trust near 2,048 characters; LIMIT-002: OIDC providers near 100', () => {
    const subs = Array.from(
      { length: 40 },
      (_, i) => `system:serviceaccount:namespace-${i}:service-account`,
    )
    const report = run(
      '',
      gaad([{ name: 'big', trust: irsaTrust({ StringEquals: { [sub]: subs } }) }]),
      {
        oidcProviders: Array.from({ length: 90 }, (_, i) => ({
          arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/o/id/${i}`,
          url: `o/id/${i}`,
          clientIds: ['sts.amazonaws.com'],
          thumbprints: [],
        })),
      },
    )
    assert.equal(only(report, 'LIMIT-001').length, 1)
    assert.equal(only(report, 'LIMIT-002')[0]!.severity, 'medium')
  })
})
