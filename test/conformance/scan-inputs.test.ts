// `podtrust scan` on public real-world inputs no one here wrote (../shared/conformance/scan-inputs), with their
// findings reviewed. Oracles: the MKAT demo README (inventory-service-sa reaches inventory-service-role and
// s3-backup-role); the BishopFox "IAM Vulnerable" account as labelled in cloudsplaining's example (privesc* must be
// flagged, fp* must not; fn* are cloudsplaining's false negatives: we record which we catch).
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { parse } from 'yaml'
import { parseGaad } from '../../src/analysis/inputs/gaad.ts'
import {
  buildKubeInventory,
  parseKubeDocuments,
  type TextInput,
} from '../../src/analysis/inputs/kube.ts'
import type { ScanReport } from '../../src/analysis/model.ts'
import { scan } from '../../src/analysis/scan.ts'
import { loadActionCatalog } from '../../src/cli/action-data.ts'
import { federationEvaluator } from '../../src/cli/scan-federation.ts'
import { conformanceRoot } from './suite.ts'

const root = join(conformanceRoot(), 'scan-inputs')
const missing = !existsSync(root)
const skipReason = `scan inputs not found at ${root}` // reason: a stranger's clone has no ../shared
const NOW = new Date('2026-12-01T00:00:00Z')

function files(path: string): TextInput[] {
  const full = join(root, path)
  if (statSync(full).isDirectory())
    return readdirSync(full)
      .sort()
      .flatMap((n) =>
        statSync(join(full, n)).isDirectory()
          ? files(join(path, n))
          : /\.(ya?ml|json)$/.test(n)
            ? files(join(path, n))
            : [],
      )
  return [{ path, text: readFileSync(full, 'utf8') }]
}

function scanK8s(paths: string[], gaadFile?: string): ScanReport {
  const parsed = parseKubeDocuments(paths.flatMap(files))
  const iam =
    gaadFile === undefined
      ? parseGaad({ RoleDetailList: [] })
      : parseGaad(readFileSync(join(root, gaadFile), 'utf8'))
  return scan(
    { kube: buildKubeInventory(parsed.objects, parsed.skipped), iam, side: {} },
    { now: NOW },
  )
}

const summary = (r: ScanReport) =>
  r.findings.map((f) => `${f.id} ${f.severity} ${f.objects[0]}`).sort()

void describe('scan on the shared real inputs', () => {
  void test('every input scans without errors', (t) => {
    if (missing) return t.skip(skipReason)
    for (const gaad of readdirSync(join(root, 'authz-details'))) {
      const report = scanK8s(['k8s'], join('authz-details', gaad))
      assert.deepEqual(report.stats.warnings, [], gaad)
      assert.ok(report.stats.roles > 0, gaad)
    }
  })

  void test('eks-workshop carts: placeholder keys from a ConfigMap are reported as placeholders, not real keys', (t) => {
    if (missing) return t.skip(skipReason)
    const report = scanK8s(['k8s/eks-workshop-v2/rendered-base-carts.yaml'])
    assert.deepEqual(
      summary(report).filter((s) => s.startsWith('CRED')),
      ['CRED-002 info carts/carts', 'CRED-003 info ConfigMap carts/carts'],
    )
    const carts = report.workloads.find((w) => w.pod === 'carts/carts')!
    assert.equal(carts.credentialSource, 'env-keys')
    assert.ok(summary(report).includes('SA-001 low carts/carts-dynamodb'))
    // The kustomize base folder gives the same namespace and result.
    const base = scanK8s(['k8s/eks-workshop-v2/base-application/carts'])
    assert.equal(base.workloads.find((w) => w.pod === 'carts/carts')?.credentialSource, 'env-keys')
  })

  void test('eks-workshop IRSA overlay: the unrendered ${CARTS_IAM_ROLE} annotation is BIND-002; the alb List SA has a masked account', (t) => {
    if (missing) return t.skip(skipReason)
    const irsa = scanK8s(['k8s/eks-workshop-v2/rendered-irsa-service-account.yaml'])
    assert.deepEqual(
      summary(irsa).filter((s) => s.startsWith('BIND')),
      ['BIND-002 medium carts/carts'],
    )
    assert.equal(irsa.workloads.find((w) => w.pod === 'carts/carts')?.credentialSource, 'irsa')
    assert.equal(
      summary(irsa).filter((s) => s.startsWith('CRED')).length,
      0,
      'the overlay replaces the ConfigMap holding keys',
    )
    const alb = scanK8s([
      'k8s/eks-workshop-v2/modules/troubleshooting/alb/files/iam_issue_service_account_role.yaml',
    ])
    assert.deepEqual(summary(alb), ['BIND-002 medium kube-system/aws-load-balancer-controller-sa'])
  })

  void test('external-dns: Helm values are skipped with a reason; the Deployment runs on the default SA', (t) => {
    if (missing) return t.skip(skipReason)
    const report = scanK8s(['k8s/external-dns'])
    assert.equal(report.stats.skippedDocuments.length, 4)
    assert.ok(report.stats.skippedDocuments.every((s) => /not a Kubernetes object/.test(s.reason)))
    assert.deepEqual(
      summary(report).filter((s) => !s.startsWith('SA-002')),
      ['SA-001 low default/external-dns'],
    )
  })

  void test('kube2iam README: three annotated workloads, a wildcard allowed-roles namespace, a host-network DaemonSet', (t) => {
    if (missing) return t.skip(skipReason)
    const report = scanK8s(['k8s/kube2iam'])
    const s = summary(report)
    assert.deepEqual(
      s.filter((x) => x.startsWith('LEG-001')),
      [
        'LEG-001 medium default/aws-cli',
        'LEG-001 medium default/my-cronjob',
        'LEG-001 medium default/nginx-deployment',
      ],
    )
    assert.deepEqual(
      s.filter((x) => x.startsWith('LEG-002')),
      ['LEG-002 medium namespace default'],
    )
    assert.deepEqual(
      s.filter((x) => x.startsWith('NODE-003')),
      ['NODE-003 medium default/kube2iam'],
    )
    assert.equal(report.workloads.filter((w) => w.credentialSource === 'kube2iam').length, 3)
  })

  void test("MKAT demo: reachability by evaluation reproduces the README's role relationships", (t) => {
    if (missing) return t.skip(skipReason)
    // objects.yaml is MKAT's Terraform input, not Kubernetes objects; build what its Terraform creates:
    // one SA per entry annotated with its role, and each role's trust as terraform-aws-modules'
    // iam-role-for-service-accounts-eks writes it (StringEquals sub list + aud).
    const demo = parse(readFileSync(join(root, 'k8s/mkat-demo/objects.yaml'), 'utf8')) as {
      serviceAccounts: { name: string; namespace: string; role: string }[]
      pods: { name: string; namespace: string; serviceAccount: string }[]
      roles: { name: string; allowedServiceAccounts: { namespace: string; name: string }[] }[]
    }
    assert.equal(
      scanK8s(['k8s/mkat-demo']).stats.skippedDocuments.length,
      1,
      'not Kubernetes objects: skipped',
    )
    const account = '012345678901'
    const issuer = 'oidc.eks.us-east-1.amazonaws.com/id/MKATDEMO'
    const yaml = [
      ...demo.serviceAccounts.map(
        (s) =>
          `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${s.name}\n  namespace: ${s.namespace}\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::${account}:role/${s.role}\n`,
      ),
      ...demo.pods.map(
        (p) =>
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p.name}\n  namespace: ${p.namespace}\nspec:\n  serviceAccountName: ${p.serviceAccount}\n  containers:\n    - name: app\n      image: app\n      env:\n        - { name: AWS_ROLE_ARN, value: x }\n        - { name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token }\n`,
      ),
    ].join('---\n')
    const gaad = {
      RoleDetailList: demo.roles.map((r) => ({
        RoleName: r.name,
        Arn: `arn:aws:iam::${account}:role/${r.name}`,
        AssumeRolePolicyDocument: encodeURIComponent(
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${issuer}` },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: {
                  StringEquals: {
                    [`${issuer}:sub`]: r.allowedServiceAccounts.map(
                      (s) => `system:serviceaccount:${s.namespace}:${s.name}`,
                    ),
                    [`${issuer}:aud`]: 'sts.amazonaws.com',
                  },
                },
              },
            ],
          }),
        ),
        RoleLastUsed: {},
      })),
    }
    const parsed = parseKubeDocuments([{ path: 'mkat.yaml', text: yaml }])
    const report = scan(
      { kube: buildKubeInventory(parsed.objects), iam: parseGaad(gaad), side: {} },
      { now: NOW },
    )
    const rolesOf = (pod: string) =>
      report.workloads.find((w) => w.pod === pod)!.roles.map((r) => r.split('/')[1])
    assert.deepEqual(rolesOf('microservices/inventory-service'), [
      'inventory-service-role',
      's3-backup-role',
    ])
    assert.deepEqual(rolesOf('kafka/kafka-proxy'), ['kafka-proxy-role', 's3-backup-role'])
    assert.deepEqual(rolesOf('microservices/rate-limiter-1'), ['rate-limiter-role'])
    const hidden = report.findings
      .filter((f) => f.id === 'BIND-003')
      .map((f) => f.objects.join(' '))
      .sort()
    assert.deepEqual(hidden, [
      `kafka/kafka-proxy-sa arn:aws:iam::${account}:role/s3-backup-role`,
      `microservices/inventory-service-sa arn:aws:iam::${account}:role/s3-backup-role`,
    ])
    assert.equal(
      report.findings.filter(
        (f) => f.id === 'BIND-007' && f.objects[0]!.endsWith('/s3-backup-role'),
      )[0]?.severity,
      'medium',
    )
  })

  void test('IAM Vulnerable: every privesc principal is flagged, no fp principal is; fn1 and fn4 are caught', (t) => {
    if (missing) return t.skip(skipReason)
    const report = scanK8s([], 'authz-details/example-iam-vulnerable.json')
    const flagged = new Set(
      report.findings
        .filter((f) => f.id === 'PERM-001' || f.id === 'PERM-007')
        .map((f) => f.objects[0]!.slice(f.objects[0]!.lastIndexOf('/') + 1)),
    )
    const gaad = JSON.parse(
      readFileSync(join(root, 'authz-details/example-iam-vulnerable.json'), 'utf8'),
    ) as {
      RoleDetailList: { RoleName: string }[]
      UserDetailList: { UserName: string }[]
    }
    const names = [
      ...gaad.RoleDetailList.map((r) => r.RoleName),
      ...gaad.UserDetailList.map((u) => u.UserName),
    ]
    // The AssumeRole chain's first hops and the permissive trust escalate through trusts, not identity actions.
    const throughTrust =
      /^privesc-(AssumeRole-(starting|intermediate)|permissive-role-trust|AssumeRole-start-user)/
    const privesc = names.filter((n) => /^privesc/.test(n) && !throughTrust.test(n))
    assert.deepEqual(
      privesc.filter((n) => !flagged.has(n)),
      [],
    )
    assert.deepEqual(
      names.filter((n) => /^fp\d/.test(n) && flagged.has(n)),
      [],
    )
    const fn = names.filter((n) => /^fn\d/.test(n) && flagged.has(n)).sort()
    assert.deepEqual(fn, [
      'fn1-privesc3-partial-role',
      'fn1-privesc3-partial-user',
      'fn4-exploitableNotAction-role',
      'fn4-exploitableNotAction-user',
    ])
    assert.equal(privesc.length, 64)
  })

  void test('every input also scans with the action data and the federation rules the CLI passes', async (t) => {
    if (missing) return t.skip(skipReason)
    for (const gaad of readdirSync(join(root, 'authz-details'))) {
      const parsed = parseKubeDocuments(files('k8s'))
      const iam = parseGaad(readFileSync(join(root, 'authz-details', gaad), 'utf8'))
      const report = scan(
        { kube: buildKubeInventory(parsed.objects, parsed.skipped), iam, side: {} },
        {
          now: NOW,
          actionCatalog: await loadActionCatalog(iam),
          federation: federationEvaluator(),
        },
      )
      assert.deepEqual(report.stats.warnings, [], gaad)
    }
  })

  void test('cloudsplaining example: PERM-003 lists the write actions MyRole gets on "*", not its reads', async (t) => {
    if (missing) return t.skip(skipReason)
    // MyRole's inline EC2-IAM-example grants eight instance-profile actions on "*": three are List/Read
    // (iam:ListInstanceProfilesForRole, iam:GetInstanceProfile, ec2:DescribeIamInstanceProfileAssociations).
    const iam = parseGaad(
      readFileSync(join(root, 'authz-details/example-authz-details.json'), 'utf8'),
    )
    const report = scan(
      { kube: buildKubeInventory([], []), iam, side: {} },
      { now: NOW, actionCatalog: await loadActionCatalog(iam) },
    )
    const myRole = report.findings.filter(
      (f) => f.id === 'PERM-003' && f.objects[0]!.endsWith(':role/MyRole'),
    )
    assert.equal(myRole.length, 1)
    assert.match(
      myRole[0]!.message,
      /5 action\(s\).*: ec2:AssociateIamInstanceProfile, ec2:DisassociateIamInstanceProfile, iam:AddRoleToInstanceProfile, iam:CreateInstanceProfile, iam:PassRole$/,
    )
    assert.equal(myRole[0]!.severity, 'low')
  })
})
