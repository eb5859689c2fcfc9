// AZ-002/004/007, GCP-003/005/006/008, X-001/004. Deciding documents, per test: Microsoft Entra workload identity
// federation (issuer and subject compared exactly; https://learn.microsoft.com/entra/workload-id/workload-identity-federation),
// Azure RBAC role definitions (actions minus notActions, wildcards;
// https://learn.microsoft.com/azure/role-based-access-control/role-definitions) and the built-in role ids
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged); Azure IMDS at
// 169.254.169.254 (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service); Google workload
// identity federation mapping/conditions and principal identifiers
// (https://cloud.google.com/iam/docs/workload-identity-federation, https://cloud.google.com/iam/docs/principal-identifiers);
// GKE fleet identity sameness and WorkloadMetadataConfig
// (https://cloud.google.com/kubernetes-engine/fleet-management/docs/about-fleet-workload-identity-federation,
// https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#limitations).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type {
  AwsSideInputs,
  AzureFederatedCredential,
  GcpProvider,
  GcpServiceAccountPolicy,
} from '../../../src/analysis/model.ts'
import { federationEvaluator } from '../../../src/cli/scan-federation.ts'
import { deployment, gaad, only, run, sa } from './helpers.ts'

const federation = federationEvaluator()
const scanWith = (yaml: string, side: AwsSideInputs, issuers?: string[]) =>
  run(yaml, gaad([]), side, { federation, ...(issuers !== undefined ? { issuers } : {}) })

const ISSUER = 'https://eastus.oic.prod-aks.azure.com/tenant/c1/'
const SUB = '00000000-0000-0000-0000-000000000001'
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c'
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
const roleDef = (guid: string) =>
  `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`

const fic = (over: Partial<AzureFederatedCredential> = {}): AzureFederatedCredential => ({
  identity: 'pay-id',
  clientId: 'c-1',
  principalId: 'p-1',
  name: 'pay-api',
  issuer: ISSUER,
  subject: 'system:serviceaccount:pay:api',
  audiences: ['api://AzureADTokenExchange'],
  ...over,
})

void describe('AZ-002 issuer shared or unknown', () => {
  void test('a FIC on a CI issuer with a ServiceAccount subject, an unknown issuer, a trailing-slash mismatch', () => {
    const report = scanWith(
      '',
      {
        azure: [
          fic({ name: 'gh', issuer: 'https://token.actions.githubusercontent.com' }),
          fic({ name: 'other', issuer: 'https://attacker.example/' }),
          fic({ name: 'slash', issuer: ISSUER.slice(0, -1) }),
          fic({ name: 'ok' }),
        ],
      },
      [ISSUER],
    )
    const byName = new Map(only(report, 'AZ-002').map((f) => [f.objects[0], f]))
    assert.deepEqual([...byName.keys()].sort(), ['pay-id/gh', 'pay-id/other', 'pay-id/slash'])
    assert.match(byName.get('pay-id/slash')!.message, /AADSTS700211/)
    assert.match(byName.get('pay-id/gh')!.message, /multi-tenant/)
  })

  void test('two AKS clusters publishing one issuer; no cluster inventory means no "unknown" guess', () => {
    const shared = scanWith('', {
      azure: [fic()],
      azureDirectory: {
        clusters: [
          { name: 'blue', issuerUrl: ISSUER },
          { name: 'green', issuerUrl: ISSUER },
        ],
      },
    })
    assert.deepEqual(only(shared, 'AZ-002')[0]!.objects, ['pay-id/pay-api', 'blue', 'green'])
    assert.equal(only(scanWith('', { azure: [fic()] }), 'AZ-002').length, 0)
  })
})

void describe('AZ-004 over-privileged identity behind a FIC', () => {
  const yaml = sa('pay', 'api')
  const side = (roleGuid: string, scope = `/subscriptions/${SUB}`, condition?: string) => ({
    azure: [fic()],
    azureDirectory: {
      roleAssignments: [
        {
          principalId: 'p-1',
          roleDefinitionId: roleDef(roleGuid),
          scope,
          ...(condition !== undefined ? { condition } : {}),
        },
      ],
    },
  })

  void test('Owner at subscription scope is critical and names the ServiceAccount Entra admits', () => {
    const [f, ...rest] = only(scanWith(yaml, side(OWNER), [ISSUER]), 'AZ-004')
    assert.equal(rest.length, 0)
    assert.equal(f!.severity, 'critical')
    assert.ok(f!.objects.includes('pay/api'), 'reachable by evaluation of the FIC')
  })

  void test('Contributor: high at subscription scope, medium on a resource group; Reader: nothing', () => {
    assert.equal(only(scanWith(yaml, side(CONTRIBUTOR)), 'AZ-004')[0]!.severity, 'high')
    const rg = side(CONTRIBUTOR, `/subscriptions/${SUB}/resourceGroups/app`)
    assert.equal(only(scanWith(yaml, rg), 'AZ-004')[0]!.severity, 'medium')
    assert.equal(only(scanWith(yaml, side(READER)), 'AZ-004').length, 0)
  })

  void test('a custom role is judged by actions minus notActions', () => {
    const custom = (actions: string[], notActions: string[]) =>
      scanWith(yaml, {
        azure: [fic()],
        azureDirectory: {
          roleAssignments: [
            {
              principalId: 'p-1',
              roleDefinitionId: roleDef('custom-1'),
              scope: `/subscriptions/${SUB}`,
            },
          ],
          roleDefinitions: [{ id: roleDef('custom-1'), roleName: 'deployer', actions, notActions }],
        },
      })
    assert.equal(
      only(custom(['Microsoft.Authorization/*/write'], []), 'AZ-004')[0]!.severity,
      'critical',
    )
    assert.equal(
      only(custom(['Microsoft.Storage/*'], []), 'AZ-004').length,
      0,
      'storage only: neither full control nor role assignment',
    )
    assert.equal(
      only(custom(['*'], ['Microsoft.Authorization/*']), 'AZ-004')[0]!.severity,
      'high',
      'full control without role assignment',
    )
  })
})

void describe('AZ-007 AKS node identity reachable from pods', () => {
  const clusters = [
    { name: 'aks1', kubeletIdentity: { objectId: 'kubelet-1', resourceId: '/x/kubelet-id' } },
  ]
  const pods = deployment('pay', 'api', 'api')
  void test('pods reach IMDS; the kubelet identity with Contributor makes it high', () => {
    const report = scanWith(pods, {
      azureDirectory: {
        clusters,
        roleAssignments: [
          {
            principalId: 'kubelet-1',
            roleDefinitionId: roleDef(CONTRIBUTOR),
            scope: `/subscriptions/${SUB}`,
          },
        ],
      },
    })
    const [f] = only(report, 'AZ-007')
    assert.equal(f!.severity, 'high')
    assert.ok(f!.objects.includes('pay/api'))
  })

  void test('an egress NetworkPolicy without 169.254.169.254 blocks it', () => {
    const netpol = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-egress, namespace: pay }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ ipBlock: { cidr: 10.0.0.0/8 } }]
`
    assert.equal(
      only(scanWith(pods + netpol, { azureDirectory: { clusters } }), 'AZ-007').length,
      0,
    )
    assert.equal(
      only(scanWith(pods, { azureDirectory: { clusters } }), 'AZ-007')[0]!.severity,
      'medium',
    )
  })
})

const POOL = 'projects/123/locations/global/workloadIdentityPools/pool'
const provider = (over: Partial<GcpProvider> = {}): GcpProvider => ({
  name: `${POOL}/providers/kube`,
  issuerUri: 'https://issuer.example',
  allowedAudiences: [],
  attributeMapping: {
    'google.subject': 'assertion.sub',
    'attribute.namespace': "assertion['kubernetes.io']['namespace']",
  },
  disabled: false,
  ...over,
})
const gsa = (
  bindings: GcpServiceAccountPolicy['bindings'],
  email = 'app@proj.iam.gserviceaccount.com',
) => ({
  email,
  projectId: 'proj',
  bindings,
})

void describe('GCP-003 weak attribute condition or mapping', () => {
  const gcpWith = (p: GcpProvider) => scanWith('', { gcp: { providers: [p], serviceAccounts: [] } })

  void test('a prefix-only condition admits the probe ServiceAccount; an exact namespace does not', () => {
    const weak = gcpWith(
      provider({ attributeCondition: "assertion.sub.startsWith('system:serviceaccount:')" }),
    )
    assert.match(only(weak, 'GCP-003')[0]!.message, /zz-podtrust-probe/)
    const pinned = gcpWith(
      provider({ attributeCondition: "assertion['kubernetes.io']['namespace'] == 'pay'" }),
    )
    assert.equal(only(pinned, 'GCP-003').length, 0)
  })

  void test('a GitHub provider whose condition does not pin the tenant', () => {
    const gh = (condition: string) =>
      gcpWith(
        provider({
          issuerUri: 'https://token.actions.githubusercontent.com',
          attributeCondition: condition,
        }),
      )
    assert.equal(only(gh("assertion.ref == 'refs/heads/main'"), 'GCP-003').length, 1)
    assert.equal(only(gh("assertion.repository_owner_id == '4242'"), 'GCP-003').length, 0)
  })

  void test('google.subject mapped from the namespace: two ServiceAccounts become one principal', () => {
    const report = gcpWith(
      provider({
        attributeMapping: { 'google.subject': "assertion['kubernetes.io']['namespace']" },
        attributeCondition: "assertion['kubernetes.io']['namespace'] != 'kube-system'",
      }),
    )
    assert.ok(only(report, 'GCP-003').some((f) => /same google\.subject/.test(f.message)))
  })

  void test('the mapping judged on real ServiceAccounts when the condition refuses the probes', () => {
    const mapping = { 'google.subject': "assertion['kubernetes.io']['namespace']" }
    const condition = "assertion['kubernetes.io']['namespace'] == 'pay'"
    const p = provider({ attributeMapping: mapping, attributeCondition: condition })
    const gcp = { providers: [p], serviceAccounts: [] }
    const two = scanWith(sa('pay', 'api') + sa('pay', 'worker'), { gcp })
    assert.match(only(two, 'GCP-003')[0]!.message, /same google\.subject \(pay\)/)
    assert.equal(only(scanWith(sa('pay', 'api'), { gcp }), 'GCP-003').length, 0)
  })
})

void describe('GCP-006 over-privileged GSA reachable by workloads', () => {
  const yaml = sa('pay', 'api') + sa('web', 'front')
  const projectEditor = [
    {
      resource: 'projects/proj',
      bindings: [
        { role: 'roles/editor', members: ['serviceAccount:app@proj.iam.gserviceaccount.com'] },
      ],
    },
  ]

  void test('GKE member on the GSA + roles/editor on the project: high, naming the KSA', () => {
    const report = scanWith(yaml, {
      gcp: {
        providers: [],
        serviceAccounts: [
          gsa([
            {
              role: 'roles/iam.workloadIdentityUser',
              members: ['serviceAccount:proj.svc.id.goog[pay/api]'],
            },
          ]),
        ],
        resourcePolicies: projectEditor,
      },
    })
    const [f] = only(report, 'GCP-006')
    assert.equal(f!.severity, 'high')
    assert.deepEqual(f!.objects, ['app@proj.iam.gserviceaccount.com', 'pay/api'])
  })

  void test('federated reach by evaluation: the attribute set matches pay only; owner makes it critical', () => {
    const report = scanWith(yaml, {
      gcp: {
        providers: [provider()],
        serviceAccounts: [
          gsa([
            {
              role: 'roles/iam.workloadIdentityUser',
              members: [`principalSet://iam.googleapis.com/${POOL}/attribute.namespace/pay`],
            },
          ]),
        ],
        resourcePolicies: [
          {
            resource: 'projects/proj',
            bindings: [
              { role: 'roles/owner', members: ['serviceAccount:app@proj.iam.gserviceaccount.com'] },
            ],
          },
        ],
      },
    })
    const [f] = only(report, 'GCP-006')
    assert.equal(f!.severity, 'critical')
    assert.deepEqual(f!.objects.slice(1), ['pay/api'])
  })

  void test('no workload reaches it, or it holds nothing powerful: no finding', () => {
    const unreached = scanWith(yaml, {
      gcp: {
        providers: [],
        serviceAccounts: [
          gsa([
            {
              role: 'roles/iam.workloadIdentityUser',
              members: ['serviceAccount:proj.svc.id.goog[other/x]'],
            },
          ]),
        ],
        resourcePolicies: projectEditor,
      },
    })
    assert.equal(only(unreached, 'GCP-006').length, 0)
    const weak = scanWith(yaml, {
      gcp: {
        providers: [],
        serviceAccounts: [
          gsa([
            {
              role: 'roles/iam.workloadIdentityUser',
              members: ['serviceAccount:proj.svc.id.goog[pay/api]'],
            },
          ]),
        ],
        resourcePolicies: [
          {
            resource: 'projects/proj',
            bindings: [
              {
                role: 'roles/storage.objectViewer',
                members: ['serviceAccount:app@proj.iam.gserviceaccount.com'],
              },
            ],
          },
        ],
      },
    })
    assert.equal(only(weak, 'GCP-006').length, 0)
  })
})

void describe('GCP-005 identity sameness and GCP-008 node service account', () => {
  const member = 'serviceAccount:proj.svc.id.goog[pay/api]'
  const cluster = (
    name: string,
    mode = 'GKE_METADATA',
    pool: string | null = 'proj.svc.id.goog',
  ) => ({
    name,
    ...(pool !== null ? { workloadPool: pool } : {}),
    nodePools: [{ name: 'default-pool', metadataMode: mode }],
  })
  const gcp = (clusters: ReturnType<typeof cluster>[]) => ({
    gcp: {
      providers: [],
      serviceAccounts: [gsa([{ role: 'roles/iam.workloadIdentityUser', members: [member] }])],
      clusters,
    },
  })

  void test('GCP-005: two clusters on one pool; one cluster alone is not', () => {
    const two = only(scanWith('', gcp([cluster('a'), cluster('b')])), 'GCP-005')
    assert.equal(two.length, 1)
    assert.deepEqual(two[0]!.objects.slice(2), ['a', 'b'])
    assert.equal(only(scanWith('', gcp([cluster('a')])), 'GCP-005').length, 0)
  })

  void test('GCP-008: GCE_METADATA pool and a cluster without Workload Identity; GKE_METADATA is clean', () => {
    const report = scanWith(
      '',
      gcp([cluster('a', 'GCE_METADATA'), cluster('b', 'GKE_METADATA', null), cluster('c')]),
    )
    assert.deepEqual(
      only(report, 'GCP-008')
        .map((f) => f.objects[0])
        .sort(),
      ['a/default-pool', 'b/default-pool'],
    )
  })

  void test('GCP-008: a hostNetwork pod bypasses the GKE metadata server', () => {
    const host = deployment('pay', 'agent', 'default', '      hostNetwork: true\n')
    const report = scanWith(host, gcp([cluster('c')]))
    assert.deepEqual(only(report, 'GCP-008')[0]!.objects, ['c', 'pay/agent'])
    assert.equal(
      only(scanWith(deployment('pay', 'api', 'api'), gcp([cluster('c')])), 'GCP-008').length,
      0,
    )
  })
})

void describe('X-001 shared issuer or keys, X-004 one audience for several clouds', () => {
  void test('X-001: the same key under different kids in two clusters; distinct keys are clean', () => {
    const k = (thumbprint: string, kid: string) => ({ kid, thumbprint })
    const shared = scanWith('', {
      clusterJwks: [
        { cluster: 'a', keys: [k('T1', 'a1')] },
        { cluster: 'b', keys: [k('T1', 'b1'), k('T2', 'b2')] },
      ],
    })
    assert.deepEqual(only(shared, 'X-001')[0]!.objects, ['jwk:T1', 'a', 'b'])
    const distinct = scanWith('', {
      clusterJwks: [
        { cluster: 'a', keys: [k('T1', 'x')] },
        { cluster: 'b', keys: [k('T2', 'x')] },
      ],
    })
    assert.equal(only(distinct, 'X-001').length, 0, 'the same kid alone is not the same key')
  })

  void test('X-004: AWS and Azure accept sts.amazonaws.com from one issuer; other issuers do not count', () => {
    const aws = [
      {
        arn: 'arn:aws:iam::111122223333:oidc-provider/issuer.example',
        url: 'issuer.example',
        clientIds: ['sts.amazonaws.com'],
        thumbprints: [],
      },
    ]
    const same = scanWith('', {
      oidcProviders: aws,
      azure: [fic({ issuer: 'https://issuer.example', audiences: ['sts.amazonaws.com'] })],
    })
    assert.deepEqual(only(same, 'X-004')[0]!.objects.slice(0, 2), [
      'sts.amazonaws.com',
      'issuer.example',
    ])
    const otherIssuer = scanWith('', {
      oidcProviders: aws,
      azure: [fic({ issuer: 'https://other.example', audiences: ['sts.amazonaws.com'] })],
    })
    assert.equal(only(otherIssuer, 'X-004').length, 0)
    const gcpDefault = scanWith('', {
      oidcProviders: aws,
      gcp: { providers: [provider({ issuerUri: 'https://issuer.example' })], serviceAccounts: [] },
    })
    assert.equal(
      only(gcpDefault, 'X-004').length,
      0,
      'empty allowedAudiences: the provider name only',
    )
  })
})
