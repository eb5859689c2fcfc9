/**
 * migrate plan: kube2iam/kiam annotations → ServiceAccounts + trust statements, IRSA → Pod Identity
 * associations, with the edge cases each source document names (kube2iam README: base role ARN, namespace
 * restrictions by glob; kiam docs: `iam.amazonaws.com/permitted` regex; EKS docs: Pod Identity trust, session
 * tags, same-account roles, minimum SDKs; IAM quotas: 2048-character trust policies).
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, describe, it } from 'node:test'
import { parse, stringify } from 'yaml'
import { migrateCommand } from '../../../src/cli/commands/migrate.ts'
import { parseGaad } from '../../../src/analysis/inputs/gaad.ts'
import { clusterFromTexts, iamFromAnalysis } from '../../../src/generate/migrate/inputs.ts'
import {
  planMigration,
  policySize,
  POD_IDENTITY_MIN_SDK,
  TRUST_POLICY_LIMIT,
  type MigrationPlan,
} from '../../../src/generate/migrate/plan.ts'
import { planFiles } from '../../../src/generate/migrate/render.ts'

const KUBE2IAM_DIR = resolve(
  import.meta.dirname,
  '../../../../shared/conformance/scan-inputs/k8s/kube2iam',
)
const ISSUER = 'https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE'
const HOST = ISSUER.slice('https://'.length)

/** Objects through scan's parser, as `migrate plan --k8s` reads them. */
const inventoryFromObjects = (objects: readonly unknown[]) =>
  clusterFromTexts([{ path: 'objects.yaml', text: objects.map((o) => stringify(o)).join('---\n') }])
const rolesFromAuthorizationDetails = (gaad: unknown) =>
  iamFromAnalysis(parseGaad(gaad, 'gaad.json'))

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const deployment = (
  name: string,
  namespace: string,
  annotations: Record<string, string>,
  serviceAccountName?: string,
) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    template: {
      metadata: { annotations },
      spec: {
        ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
        containers: [{ name: 'app', image: `${name}:1` }],
      },
    },
  },
})
const namespace = (name: string, annotations: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, annotations },
})
const sa = (ns: string, name: string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: ns, annotations },
})
const ids = (plan: MigrationPlan) => plan.findings.map((f) => f.id)

const NODE_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:role/nodes' },
      Action: 'sts:AssumeRole',
    },
  ],
}
const gaadRole = (name: string, trust: unknown, account = '111122223333') => ({
  RoleName: name,
  Arn: `arn:aws:iam::${account}:role/${name}`,
  AssumeRolePolicyDocument: trust,
})

void describe('migrate plan: kube2iam → IRSA', () => {
  const objects = [
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube2iam', namespace: 'kube-system' },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'k',
                image: 'jtblin/kube2iam:0.11',
                args: [
                  '--base-role-arn=arn:aws:iam::111122223333:role/',
                  '--namespace-restrictions',
                ],
              },
            ],
          },
        },
      },
    },
    namespace('shop', { 'iam.amazonaws.com/allowed-roles': '["cart-*"]' }),
    deployment('cart', 'shop', { 'iam.amazonaws.com/role': 'cart-role' }),
    deployment('orders', 'shop', {
      'iam.amazonaws.com/role': 'arn:aws:iam::111122223333:role/orders',
    }),
    deployment('worker', 'jobs', { 'iam.amazonaws.com/role': 'cart-role' }, 'worker'),
  ]
  const gaad = {
    RoleDetailList: [
      gaadRole('cart-role', NODE_TRUST),
      gaadRole('orders', encodeURIComponent(JSON.stringify(NODE_TRUST))),
    ],
  }
  const plan = planMigration(inventoryFromObjects(objects), rolesFromAuthorizationDetails(gaad), {
    from: 'kube2iam',
    to: 'irsa',
    clusterName: 'prod',
    issuer: ISSUER,
    accountId: '111122223333',
  })

  void it('resolves role names with --base-role-arn and gives pods sharing `default` their own ServiceAccounts', () => {
    assert.deepEqual(
      plan.workloads.map((w) => [
        w.namespace,
        w.name,
        w.roleArn,
        w.fromServiceAccount,
        w.toServiceAccount,
        w.createServiceAccount,
      ]),
      [
        ['shop', 'cart', 'arn:aws:iam::111122223333:role/cart-role', 'default', 'cart', true],
        ['shop', 'orders', 'arn:aws:iam::111122223333:role/orders', 'default', 'orders', true],
        ['jobs', 'worker', 'arn:aws:iam::111122223333:role/cart-role', 'worker', 'worker', true],
      ],
    )
    assert.deepEqual(plan.serviceAccounts.find((s) => s.name === 'cart')!.setAnnotations, {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/cart-role',
    })
  })

  void it('applies the namespace glob: orders is not allowed today, so the plan says migrating would grant it', () => {
    const denied = plan.findings.filter((f) => f.id === 'NAMESPACE_DENIED')
    assert.equal(denied.length, 1)
    assert.match(denied[0]!.message, /shop\/orders/)
    assert.ok(
      plan.findings.some(
        (f) => f.id === 'NAMESPACE_UNRESTRICTED' && /namespace jobs/.test(f.message),
      ),
    )
  })

  void it('adds one IRSA statement per role (sub and aud), keeps the node-role statement until the rollout is done', () => {
    const cart = plan.roles.find((r) => r.roleName === 'cart-role')!
    assert.deepEqual(cart.subjects, [
      'system:serviceaccount:jobs:worker',
      'system:serviceaccount:shop:cart',
    ])
    assert.deepEqual(cart.addStatements[0]!['Condition'], {
      StringEquals: {
        [`${HOST}:sub`]: ['system:serviceaccount:jobs:worker', 'system:serviceaccount:shop:cart'],
        [`${HOST}:aud`]: 'sts.amazonaws.com',
      },
    })
    assert.equal(cart.trustDuringRollout.Statement.length, 2)
    assert.deepEqual(cart.trustAfterRollout.Statement, cart.addStatements)
    assert.deepEqual(cart.removeAfterRollout, NODE_TRUST.Statement)
    // The URL-encoded GAAD document (raw API form) is read too.
    assert.equal(plan.roles.find((r) => r.roleName === 'orders')!.known, true)
    assert.ok(ids(plan).includes('MANY_SERVICE_ACCOUNTS'))
    assert.ok(ids(plan).includes('NODE_ROLE_TRUST'))
    assert.ok(ids(plan).includes('SDK_VERSIONS'))
  })

  void it("a role of another account: IRSA works across accounts with that account's own OIDC provider", () => {
    const p = planMigration(
      inventoryFromObjects([
        deployment('x', 'a', { 'iam.amazonaws.com/role': 'arn:aws:iam::444455556666:role/remote' }),
      ]),
      { roles: [] },
      {
        from: 'kube2iam',
        to: 'irsa',
        clusterName: 'prod',
        issuer: ISSUER,
        accountId: '111122223333',
      },
    )
    assert.ok(p.findings.some((f) => f.id === 'CROSS_ACCOUNT' && f.severity === 'info'))
    const principal = (p.roles[0]!.addStatements[0]!['Principal'] as Record<string, string>)[
      'Federated'
    ]
    assert.equal(principal, `arn:aws:iam::444455556666:oidc-provider/${HOST}`)
  })

  void it('orders the rollout so no pod is without credentials, with a rollback', () => {
    assert.match(plan.steps[1]!, /Add the IRSA statement/)
    assert.match(plan.steps[3]!, /web identity credentials before instance metadata/)
    assert.match(plan.steps[6]!, /Remove the kube2iam statements/)
    assert.match(plan.rollback[0]!, /Until step 7/)
  })

  void it('--write files: patches per phase, ServiceAccounts, trust policies', () => {
    const files = new Map(planFiles(plan).map((f) => [f.path, f.content]))
    const phase1 = parse(files.get('patches/shop.deployment.cart.phase1.yaml')!)
    assert.equal(phase1.spec.template.spec.serviceAccountName, 'cart')
    const phase2 = parse(files.get('patches/shop.deployment.cart.phase2.yaml')!)
    assert.deepEqual(phase2.spec.template.metadata.annotations, { 'iam.amazonaws.com/role': null })
    const rollback = parse(files.get('patches/shop.deployment.cart.rollback.yaml')!)
    assert.equal(rollback.spec.template.spec.serviceAccountName, 'default')
    assert.deepEqual(
      JSON.parse(files.get('trust-policies/111122223333.cart-role.after.json')!).Statement,
      plan.roles[0]!.addStatements,
    )
    assert.match(
      files.get('update-trust.sh')!,
      /aws iam update-assume-role-policy --role-name 'cart-role'/,
    )
  })
})

void describe('migrate plan: kiam', () => {
  void it('applies the namespace regular expression to the annotated role', () => {
    const objects = [
      namespace('a', { 'iam.amazonaws.com/permitted': '^app-.*' }),
      deployment('x', 'a', { 'iam.amazonaws.com/role': 'app-x' }),
      deployment('y', 'a', { 'iam.amazonaws.com/role': 'other' }),
    ]
    const plan = planMigration(
      inventoryFromObjects(objects),
      { roles: [] },
      {
        from: 'kiam',
        to: 'pod-identity',
        clusterName: 'prod',
        issuer: undefined,
        accountId: '111122223333',
      },
    )
    const denied = plan.findings.filter((f) => f.id === 'NAMESPACE_DENIED')
    assert.equal(denied.length, 1)
    assert.match(denied[0]!.message, /a\/y/)
    // To Pod Identity: the pods.eks.amazonaws.com statement and one association per ServiceAccount.
    assert.deepEqual(plan.roles[0]!.addStatements, [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ])
    assert.deepEqual(
      plan.associations.map((a) => `${a.namespace}/${a.serviceAccount} ${a.roleArn}`),
      ['a/x arn:aws:iam::111122223333:role/app-x', 'a/y arn:aws:iam::111122223333:role/other'],
    )
    assert.ok(ids(plan).includes('SESSION_TAGS'))
    const sdk = plan.findings.find((f) => f.id === 'SDK_VERSIONS')!
    for (const [name, version] of POD_IDENTITY_MIN_SDK)
      assert.ok(sdk.message.includes(`${name} ${version}`), name)
  })
})

void describe('migrate plan: IRSA → Pod Identity', () => {
  const otherHost = 'oidc.eks.eu-west-1.amazonaws.com/id/OTHERCLUSTER'
  const irsa = (subjects: string | string[], host = HOST, op = 'StringEquals') => ({
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${host}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { [op]: { [`${host}:sub`]: subjects, [`${host}:aud`]: 'sts.amazonaws.com' } },
  })
  const objects = [
    sa('shop', 'cart', { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/cart' }),
    sa('team-a', 'api'),
    sa('team-a', 'batch'),
    sa('x', 'remote', {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::444455556666:role/remote',
      'eks.amazonaws.com/audience': 'custom',
    }),
    deployment('cart', 'shop', {}, 'cart'),
  ]
  const many = Array.from(
    { length: 40 },
    (_, i) => `system:serviceaccount:ns-${i}:service-account-${i}`,
  )
  const gaad = {
    RoleDetailList: [
      gaadRole('cart', {
        Version: '2012-10-17',
        Statement: [
          irsa('system:serviceaccount:shop:cart'),
          irsa('system:serviceaccount:shop:cart', otherHost),
        ],
      }),
      gaadRole('team', {
        Version: '2012-10-17',
        Statement: [irsa('system:serviceaccount:team-a:*', HOST, 'StringLike')],
      }),
      gaadRole('big', { Version: '2012-10-17', Statement: [irsa(many)] }),
    ],
  }
  const plan = planMigration(inventoryFromObjects(objects), rolesFromAuthorizationDetails(gaad), {
    from: 'irsa',
    to: 'pod-identity',
    clusterName: 'prod',
    issuer: ISSUER,
    accountId: '111122223333',
  })

  void it("derives associations from annotations and from the trust policies' sub conditions", () => {
    const assoc = plan.associations.map(
      (a) =>
        `${a.namespace}/${a.serviceAccount} ${a.roleArn}${a.targetRoleArn === undefined ? '' : ` → ${a.targetRoleArn}`}`,
    )
    assert.ok(assoc.includes('shop/cart arn:aws:iam::111122223333:role/cart'))
    assert.ok(assoc.includes('team-a/api arn:aws:iam::111122223333:role/team'))
    assert.ok(assoc.includes('team-a/batch arn:aws:iam::111122223333:role/team'))
    assert.ok(assoc.includes('ns-7/service-account-7 arn:aws:iam::111122223333:role/big'))
  })

  void it('names the edge cases: wildcard subject, several clusters, size, cross-account, audience', () => {
    assert.ok(
      plan.findings.some(
        (f) => f.id === 'WILDCARD_SUBJECT' && /team-a\/api, team-a\/batch/.test(f.message),
      ),
    )
    assert.ok(plan.findings.some((f) => f.id === 'CROSS_CLUSTER' && f.message.includes(otherHost)))
    const big = plan.roles.find((r) => r.roleName === 'big')!
    assert.ok(big.trustSize > TRUST_POLICY_LIMIT)
    assert.equal(big.trustSize, policySize(big.trustDuringRollout))
    assert.ok(
      plan.findings.some(
        (f) =>
          f.id === 'TRUST_POLICY_SIZE' && f.severity === 'error' && /role\/big/.test(f.message),
      ),
    )
    const remote = plan.associations.find((a) => a.serviceAccount === 'remote')!
    assert.equal(remote.targetRoleArn, 'arn:aws:iam::444455556666:role/remote')
    assert.match(remote.roleArn, /^arn:aws:iam::111122223333:role\//)
    assert.ok(ids(plan).includes('CROSS_ACCOUNT'))
    assert.ok(ids(plan).includes('CUSTOM_AUDIENCE'))
  })

  void it('flags a role that is not an ARN (an unrendered template placeholder)', () => {
    const p = planMigration(
      inventoryFromObjects([
        sa('carts', 'carts', { 'eks.amazonaws.com/role-arn': '${CARTS_IAM_ROLE}' }),
      ]),
      { roles: [] },
      {
        from: 'irsa',
        to: 'pod-identity',
        clusterName: 'c',
        issuer: undefined,
        accountId: '111122223333',
      },
    )
    assert.ok(
      p.findings.some((f) => f.id === 'ROLE_UNRESOLVED' && f.message.includes('${CARTS_IAM_ROLE}')),
    )
    assert.ok(!ids(p).includes('CROSS_ACCOUNT'))
  })

  void it("keeps the other cluster's OIDC statement after the rollout, removes this one's", () => {
    const cart = plan.roles.find((r) => r.roleName === 'cart')!
    assert.equal(cart.removeAfterRollout.length, 1)
    assert.ok(JSON.stringify(cart.trustAfterRollout).includes(otherHost))
    assert.ok(!JSON.stringify(cart.removeAfterRollout).includes(otherHost))
    assert.match(plan.steps[4]!, /Remove the eks\.amazonaws\.com\/role-arn annotation/)
  })

  void it('writes the associations as Terraform and JSON, and the annotation patches', () => {
    const files = new Map(planFiles(plan).map((f) => [f.path, f.content]))
    assert.match(
      files.get('pod-identity.tf')!,
      /resource "aws_eks_pod_identity_association" "shop_cart"/,
    )
    assert.ok(
      JSON.parse(files.get('associations.json')!).some(
        (a: { targetRoleArn?: string }) =>
          a.targetRoleArn === 'arn:aws:iam::444455556666:role/remote',
      ),
    )
    assert.deepEqual(
      parse(files.get('serviceaccounts.patch.yaml')!.split('---\n')[0]!).metadata.annotations,
      { 'eks.amazonaws.com/role-arn': null },
    )
  })
})

void describe('migrate plan: the kube2iam README cluster (../shared) through the CLI', () => {
  void it('plans kube2iam → IRSA and writes the files', async (t) => {
    if (!existsSync(KUBE2IAM_DIR)) {
      t.skip('../shared/conformance/scan-inputs is absent (a clone without the shared fixtures)')
      return
    }
    const readme = readFileSync(join(KUBE2IAM_DIR, 'readme-examples.yaml'), 'utf8')
    assert.equal(
      clusterFromTexts([{ path: 'readme-examples.yaml', text: readme }]).kube2iamBaseRoleArn,
      'arn:aws:iam::123456789012:role/',
    )
    const out = mkdtempSync(join(tmpdir(), 'podtrust-migrate-'))
    dirs.push(out)
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let text = ''
    stdout.on('data', (c: Buffer) => (text += c.toString()))
    const code = await migrateCommand.run(
      [
        'plan',
        '--from',
        'kube2iam',
        '--to',
        'irsa',
        '--k8s',
        KUBE2IAM_DIR,
        '--issuer',
        ISSUER,
        '--cluster',
        'prod',
        '--json',
        '--write',
        out,
      ],
      { stdout, stderr, env: {}, cwd: process.cwd() },
    )
    assert.equal(code, 0)
    const plan = JSON.parse(text) as MigrationPlan
    assert.deepEqual(
      plan.workloads.map((w) => `${w.kind} ${w.name} ${w.roleArn}`),
      [
        'Pod aws-cli arn:aws:iam::123456789012:role/role-arn',
        'Deployment nginx-deployment arn:aws:iam::123456789012:role/role-arn',
        'CronJob my-cronjob arn:aws:iam::123456789012:role/role-arn',
      ],
    )
    assert.ok(ids(plan).includes('EXTERNAL_ID'))
    // The README's DaemonSet runs without --namespace-restrictions: the allowed-roles annotation is not enforced.
    assert.ok(!ids(plan).includes('NAMESPACE_DENIED'))
    assert.ok(
      plan.findings.some(
        (f) => f.id === 'NAMESPACE_UNRESTRICTED' && /not enforced/.test(f.message),
      ),
    )
    const cron = parse(
      readFileSync(join(out, 'patches/default.cronjob.my-cronjob.phase1.yaml'), 'utf8'),
    )
    assert.equal(cron.spec.jobTemplate.spec.template.spec.serviceAccountName, 'my-cronjob')
    assert.ok(existsSync(join(out, 'serviceaccounts.yaml')))
  })
})
