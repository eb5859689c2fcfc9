// Azure, GCP and JWKS scan inputs in the shapes the clients print. Deciding documents: az CLI / ARM
// federatedIdentityCredentials (https://learn.microsoft.com/rest/api/managedidentity/federated-identity-credentials/list),
// Microsoft Graph federatedIdentityCredential (https://learn.microsoft.com/graph/api/resources/federatedidentitycredential),
// ARM roleAssignments (https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-subscription),
// AKS managedClusters (https://learn.microsoft.com/rest/api/aks/managed-clusters/get), IAM v1 WorkloadIdentityPoolProvider
// and Policy (https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers,
// https://cloud.google.com/iam/docs/reference/rest/v1/Policy), GKE Cluster
// (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters), RFC 7638.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { calculateJwkThumbprint } from 'jose'
import {
  parseAksClusters,
  parseAzureFederatedCredentials,
  parseAzureIdentities,
  parseAzureRoleAssignments,
  parseAzureRoleDefinitions,
} from '../../../src/analysis/inputs/azure.ts'
import {
  parseGcpPolicy,
  parseGcpPolicyOwner,
  parseGcpProviders,
  parseGkeClusters,
} from '../../../src/analysis/inputs/gcp.ts'
import { parseClusterJwks } from '../../../src/analysis/inputs/jwks.ts'
import { scanCli } from './helpers.ts'

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000001'
const UAMI = `${SUB}/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pay-id`
/** `az identity federated-credential list` (the CLI flattens ARM's properties). */
const azFics = [
  {
    audiences: ['api://AzureADTokenExchange'],
    id: `${UAMI}/federatedIdentityCredentials/pay-api`,
    issuer: 'https://issuer.example/',
    name: 'pay-api',
    resourceGroup: 'rg',
    subject: 'system:serviceaccount:pay:api',
    systemData: null,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
  },
]
/** `az identity list`. */
const azIdentities = [
  {
    clientId: '11111111-1111-1111-1111-111111111111',
    id: UAMI.replace('resourcegroups', 'resourceGroups'),
    name: 'pay-id',
    principalId: '22222222-2222-2222-2222-222222222222',
    tenantId: 't',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
  },
]

void describe('Azure inputs', () => {
  void test('az identity federated-credential list: owner from the ARM id, ids from az identity list', () => {
    const identities = parseAzureIdentities(azIdentities, 'ids.json')
    const [f] = parseAzureFederatedCredentials(azFics, 'fics.json', { identities })
    assert.deepEqual(f, {
      identity: 'pay-id',
      clientId: '11111111-1111-1111-1111-111111111111',
      identityId: UAMI,
      principalId: '22222222-2222-2222-2222-222222222222',
      name: 'pay-api',
      issuer: 'https://issuer.example/',
      subject: 'system:serviceaccount:pay:api',
      audiences: ['api://AzureADTokenExchange'],
    })
  })

  void test('ARM REST {value:[{properties}]} and Graph (app) credentials with CLIENT_ID=', () => {
    const arm = {
      value: [
        {
          id: `${UAMI}/federatedIdentityCredentials/x`,
          name: 'x',
          properties: { issuer: 'https://i/', subject: 's', audiences: ['a'] },
        },
      ],
    }
    assert.equal(parseAzureFederatedCredentials(arm, 'arm.json')[0]!.issuer, 'https://i/')
    const graph = [
      {
        id: '9b8a…',
        name: 'gh',
        issuer: 'https://token.actions.githubusercontent.com',
        claimsMatchingExpression: { value: "claims['sub'] matches 'repo:o/*'", languageVersion: 1 },
        audiences: ['api://AzureADTokenExchange'],
      },
    ]
    const [g] = parseAzureFederatedCredentials(graph, 'app.json', { owner: 'app-client' })
    assert.equal(g!.clientId, 'app-client')
    assert.equal(g!.claimsMatchingExpression, "claims['sub'] matches 'repo:o/*'")
    assert.throws(
      () => parseAzureFederatedCredentials(graph, 'app.json'),
      /app\.json: \[0\]\.id: cannot tell which app or identity/,
    )
  })

  void test('malformed files name the file and the path inside it', () => {
    const bad = [{ ...azFics[0], audiences: 'api://AzureADTokenExchange' }]
    assert.throws(
      () => parseAzureFederatedCredentials(bad, 'fics.json'),
      /fics\.json: \[0\]\.audiences: expected an array of strings/,
    )
    assert.throws(
      () =>
        parseAzureRoleAssignments(
          { value: [{ properties: { principalId: 'p', scope: '/' } }] },
          'ra.json',
        ),
      /ra\.json: value\[0\]\.properties\.roleDefinitionId: missing/,
    )
    assert.throws(() => parseAzureIdentities('x', 'ids.json'), /ids\.json: expected identities/)
  })

  void test('role assignments (az and REST), role definitions, AKS clusters', () => {
    const az = parseAzureRoleAssignments(
      [
        {
          principalId: 'p',
          roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/r`,
          roleDefinitionName: 'Owner',
          scope: SUB,
          condition: null,
        },
      ],
      'ra.json',
    )
    assert.deepEqual(az, [
      {
        principalId: 'p',
        roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/r`,
        roleDefinitionName: 'Owner',
        scope: SUB,
      },
    ])
    const defs = parseAzureRoleDefinitions(
      [
        {
          id: '/x/roleDefinitions/c',
          roleName: 'deployer',
          permissions: [
            { actions: ['*'], notActions: ['Microsoft.Authorization/*'], dataActions: [] },
          ],
        },
      ],
      'defs.json',
    )
    assert.deepEqual(defs[0], {
      id: '/x/roleDefinitions/c',
      roleName: 'deployer',
      actions: ['*'],
      notActions: ['Microsoft.Authorization/*'],
    })
    const [aks] = parseAksClusters(
      {
        name: 'aks1',
        id: `${SUB}/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1`,
        oidcIssuerProfile: {
          enabled: true,
          issuerUrl: 'https://eastus.oic.prod-aks.azure.com/t/g/',
        },
        identityProfile: {
          kubeletidentity: { clientId: 'kc', objectId: 'ko', resourceId: '/x/aks1-agentpool' },
        },
      },
      'aks.json',
    )
    assert.equal(aks!.issuerUrl, 'https://eastus.oic.prod-aks.azure.com/t/g/')
    assert.deepEqual(aks!.kubeletIdentity, {
      clientId: 'kc',
      objectId: 'ko',
      resourceId: '/x/aks1-agentpool',
    })
  })
})

void describe('GCP inputs', () => {
  const POOL = 'projects/123/locations/global/workloadIdentityPools/pool'
  void test('pools and providers lists; a disabled pool disables its providers; non-OIDC providers skipped', () => {
    const providers = parseGcpProviders(
      [
        { name: POOL, state: 'ACTIVE', disabled: true },
        {
          name: `${POOL}/providers/kube`,
          state: 'ACTIVE',
          attributeMapping: { 'google.subject': 'assertion.sub' },
          attributeCondition: "assertion.sub == 'x'",
          oidc: { issuerUri: 'https://issuer.example', allowedAudiences: ['a'] },
        },
        { name: `${POOL}/providers/aws`, aws: { accountId: '111122223333' } },
      ],
      'pools.json',
    )
    assert.deepEqual(providers, [
      {
        name: `${POOL}/providers/kube`,
        issuerUri: 'https://issuer.example',
        allowedAudiences: ['a'],
        disabled: true,
        attributeMapping: { 'google.subject': 'assertion.sub' },
        attributeCondition: "assertion.sub == 'x'",
      },
    ])
    const rest = parseGcpProviders(
      {
        workloadIdentityPoolProviders: [
          { name: `${POOL}/providers/p`, oidc: { issuerUri: 'https://i' } },
        ],
      },
      'r.json',
    )
    assert.deepEqual(rest[0]!.allowedAudiences, [])
    assert.throws(
      () => parseGcpProviders([{ name: `${POOL}/providers/p`, oidc: {} }], 'p.json'),
      /p\.json: \[0\]\.oidc\.issuerUri: missing/,
    )
    assert.throws(
      () => parseGcpProviders([{ name: 'pool' }], 'p.json'),
      /p\.json: \[0\]\.name: 'pool' is not/,
    )
  })

  void test('IAM policies: bindings with conditions; the owner of a policy; errors with paths', () => {
    const bindings = parseGcpPolicy(
      {
        bindings: [
          {
            role: 'roles/editor',
            members: ['serviceAccount:a@p.iam.gserviceaccount.com'],
            condition: {
              title: 't',
              expression: 'request.time < timestamp("2030-01-01T00:00:00Z")',
            },
          },
        ],
        etag: 'BwX=',
        version: 3,
      },
      'proj.json',
    )
    assert.equal(bindings[0]!.condition, 'request.time < timestamp("2030-01-01T00:00:00Z")')
    assert.deepEqual(parseGcpPolicy({ etag: 'ACAB' }, 'empty.json'), [])
    assert.throws(
      () => parseGcpPolicy({ bindings: [{ role: 'r' }] }, 'p.json'),
      /p\.json: bindings\[0\]\.members: missing/,
    )
    assert.deepEqual(parseGcpPolicyOwner('serviceAccounts/app@proj.iam.gserviceaccount.com'), {
      kind: 'serviceAccount',
      email: 'app@proj.iam.gserviceaccount.com',
      projectId: 'proj',
    })
    assert.deepEqual(parseGcpPolicyOwner('projects/proj'), {
      kind: 'resource',
      resource: 'projects/proj',
    })
    assert.equal(parseGcpPolicyOwner('policy.json'), undefined)
  })

  void test('GKE clusters: workload pool, node pool metadata modes, Autopilot', () => {
    const clusters = parseGkeClusters(
      [
        {
          name: 'std',
          location: 'europe-west1',
          workloadIdentityConfig: { workloadPool: 'proj.svc.id.goog' },
          nodePools: [
            {
              name: 'wi',
              config: {
                workloadMetadataConfig: { mode: 'GKE_METADATA' },
                serviceAccount: 'n@proj.iam.gserviceaccount.com',
              },
            },
            { name: 'legacy', config: {} },
          ],
        },
        {
          name: 'ap',
          autopilot: { enabled: true },
          workloadIdentityConfig: { workloadPool: 'proj.svc.id.goog' },
          nodePools: [{ name: 'pool-1', config: {} }],
        },
      ],
      'gke.json',
    )
    assert.deepEqual(clusters[0]!.nodePools, [
      {
        name: 'wi',
        metadataMode: 'GKE_METADATA',
        serviceAccount: 'n@proj.iam.gserviceaccount.com',
      },
      { name: 'legacy' },
    ])
    assert.equal(clusters[1]!.nodePools[0]!.metadataMode, 'GKE_METADATA')
  })
})

void describe('JWKS input', () => {
  void test('RFC 7638 thumbprints agree with jose; kid does not matter', async () => {
    const key = {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    }
    const jwks = parseClusterJwks(
      { keys: [{ ...key, kid: 'k1', use: 'sig', alg: 'ES256' }] },
      'a.json',
      'a',
    )
    assert.equal(jwks.keys[0]!.thumbprint, await calculateJwkThumbprint(key))
    assert.equal(
      parseClusterJwks({ keys: [{ ...key, kid: 'other' }] }, 'b.json', 'b').keys[0]!.thumbprint,
      jwks.keys[0]!.thumbprint,
    )
    assert.throws(
      () => parseClusterJwks({ keys: [{ kty: 'RSA', e: 'AQAB' }] }, 'c.json', 'c'),
      /c\.json: keys\[0\]\.n: missing/,
    )
  })
})

void describe('scan CLI with Azure and GCP files', () => {
  const cli = scanCli

  void test('files in, findings out; a policy without its resource is a usage error naming the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scan-cloud-'))
    try {
      writeFileSync(join(dir, 'fics.json'), JSON.stringify(azFics))
      writeFileSync(join(dir, 'ids.json'), JSON.stringify(azIdentities))
      writeFileSync(
        join(dir, 'ra.json'),
        JSON.stringify([
          {
            principalId: azIdentities[0]!.principalId,
            roleDefinitionId:
              '/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
            scope: SUB,
          },
        ]),
      )
      writeFileSync(
        join(dir, 'sa.json'),
        JSON.stringify({
          bindings: [
            {
              role: 'roles/iam.workloadIdentityUser',
              members: ['serviceAccount:proj.svc.id.goog[pay/api]'],
            },
          ],
        }),
      )
      writeFileSync(
        join(dir, 'proj.json'),
        JSON.stringify({
          bindings: [
            { role: 'roles/owner', members: ['serviceAccount:app@proj.iam.gserviceaccount.com'] },
          ],
        }),
      )
      writeFileSync(
        join(dir, 'k8s.yaml'),
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: pay}\n',
      )
      const r = await cli(dir, [
        '--k8s',
        'k8s.yaml',
        '--azure-federated-credentials',
        'fics.json',
        '--azure-identities',
        'ids.json',
        '--azure-role-assignments',
        'ra.json',
        '--gcp-iam-policy',
        'serviceAccounts/app@proj.iam.gserviceaccount.com=sa.json',
        '--gcp-iam-policy',
        'projects/proj=proj.json',
        '--format',
        'json',
      ])
      assert.equal(r.code, 0, r.err)
      const ids = (JSON.parse(r.out) as { findings: { id: string; objects: string[] }[] }).findings
      assert.ok(ids.some((f) => f.id === 'AZ-004' && f.objects.includes('pay/api')))
      assert.ok(ids.some((f) => f.id === 'GCP-006' && f.objects.includes('pay/api')))
      const bad = await cli(dir, ['--gcp-iam-policy', 'proj.json'])
      assert.equal(bad.code, 2)
      assert.match(bad.err, /does not name its resource/)
      const malformed = await cli(dir, ['--gcp-providers', 'proj.json'])
      assert.equal(malformed.code, 2)
      assert.match(malformed.err, /proj\.json: name: missing/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
