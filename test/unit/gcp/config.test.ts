import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { deriveUniqueId, gcpConfigSection, parseGcpConfig } from '../../../src/gcp/config.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { gcpMigrations } from '../../../src/gcp/migrations.ts'
import { getBindings, getProvider, getServiceAccount } from '../../../src/gcp/repo.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

const BASE = 'iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kube'
const yaml = `
projects:
  - projectId: demo-project
    projectNumber: '123456789012'
    pools:
      - poolId: kube
        displayName: Local clusters
        sessionDuration: 1800s
        providers:
          - providerId: local
            oidc:
              issuerUri: https://127.0.0.1:7443
              allowedAudiences: [my-aud]
              jwksJson: '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k"}]}'
            attributeMapping:
              google.subject: assertion.sub
              attribute.namespace: assertion['kubernetes.io']['namespace']
            attributeCondition: attribute.namespace == 'default'
          - providerId: off-one
            disabled: true
            oidc: { issuerUri: 'https://issuer.example' }
    serviceAccounts:
      - accountId: app-sa
        displayName: App
        bindings:
          - role: roles/iam.workloadIdentityUser
            members:
              - principal://${BASE}/subject/system:serviceaccount:default:app
              - principalSet://${BASE}/attribute.namespace/default
`
const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}

for (const engine of engines) {
  void test(`gcp section applies and round-trips through export (${engine})`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresSkipReason()
      if (reason !== undefined) return t.skip(reason)
    }
    const store = await openTestDb(engine, { migrations: gcpMigrations })
    try {
      const parsed = gcpConfigSection.parse(parseYaml(yaml), 'gcp')
      await store.db.transaction((tx) => gcpConfigSection.apply(tx, parsed, env))
      const provider = await getProvider(store.db, '123456789012', 'kube', 'local')
      assert.equal(provider?.attributeCondition, "attribute.namespace == 'default'")
      assert.deepEqual(provider?.allowedAudiences, ['my-aud'])
      const defaulted = await getProvider(store.db, '123456789012', 'kube', 'off-one')
      assert.equal(defaulted?.disabled, true)
      assert.deepEqual(defaulted?.attributeMapping, { 'google.subject': 'assertion.sub' })
      const sa = await getServiceAccount(store.db, 'app-sa@demo-project.iam.gserviceaccount.com')
      assert.equal(sa?.uniqueId, deriveUniqueId('app-sa@demo-project.iam.gserviceaccount.com'))
      assert.equal((await getServiceAccount(store.db, sa!.uniqueId))?.email, sa?.email)
      assert.equal((await getBindings(store.db, sa!.email))[0]?.members.length, 2)
      const exported = await gcpConfigSection.export(store.db, env)
      assert.ok(exported)
      assert.deepEqual(
        gcpConfigSection.parse(JSON.parse(JSON.stringify(exported)), 'gcp'),
        exported,
      )
      await store.db.transaction((tx) => gcpConfigSection.apply(tx, exported, env))
      assert.deepEqual(await gcpConfigSection.export(store.db, env), exported)
    } finally {
      await store.cleanup()
    }
  })
}

void test('gcp section rejects malformed input, naming the path', () => {
  const project = (extra: Record<string, unknown>) => ({
    projects: [{ projectId: 'demo-project', projectNumber: '1', ...extra }],
  })
  const provider = (p: Record<string, unknown>) =>
    project({
      pools: [
        {
          poolId: 'kube',
          providers: [{ providerId: 'prov', oidc: { issuerUri: 'https://i' }, ...p }],
        },
      ],
    })
  const cases: [unknown, RegExp][] = [
    [[], /^gcp: must be a mapping/],
    [{ projects: [{ projectId: 'X', projectNumber: '1' }] }, /projectId: must be/],
    [
      { projects: [{ projectId: 'demo-project', projectNumber: 'abc' }] },
      /projectNumber: must be a positive number/,
    ],
    [{ projects: [{ projectId: 'demo-project', projectNumber: 1e20 }] }, /quote it/],
    [project({ pools: [{ poolId: 'gcp-x' }] }), /poolId: must be/],
    [project({ pools: [{ poolId: 'kube', sessionDuration: '60s' }] }), /between 120s and 43200s/],
    [project({ pools: [{ poolId: 'kube', sessionDuration: '1h' }] }), /duration in seconds/],
    [provider({ oidc: { issuerUri: 'http://example.com' } }), /issuerUri: must be an https URL/],
    [
      provider({ attributeMapping: { 'attribute.x': 'assertion.sub' } }),
      /must map 'google.subject'/,
    ],
    [provider({ attributeCondition: 'attribute.x ==' }), /attributeCondition/],
    [
      provider({
        oidc: { issuerUri: 'https://i', jwksJson: '{"keys":[{"kty":"RSA","x5c":["a"]}]}' },
      }),
      /x5c: is not allowed/,
    ],
    [provider({ oidc: { issuerUri: 'https://i', jwksJson: 'not json' } }), /is not valid JSON/],
    [
      provider({
        oidc: {
          issuerUri: 'https://i',
          allowedAudiences: Array.from({ length: 11 }, (_, i) => `a${i}`),
        },
      }),
      /at most 10/,
    ],
    [
      project({ serviceAccounts: [{ email: 'a@other.iam.gserviceaccount.com' }] }),
      /email: must be NAME@demo-project/,
    ],
    [project({ serviceAccounts: [{ accountId: 'ab' }] }), /accountId: must be/],
    [
      project({
        serviceAccounts: [
          { accountId: 'app-sa', bindings: [{ role: 'owner', members: ['user:a@b.c'] }] },
        ],
      }),
      /role: must be/,
    ],
    [
      project({
        serviceAccounts: [
          { accountId: 'app-sa', bindings: [{ role: 'roles/x', members: ['everyone'] }] },
        ],
      }),
      /is not a valid IAM member/,
    ],
    [
      project({
        serviceAccounts: [{ accountId: 'app-sa', bindings: [{ role: 'roles/x', members: [] }] }],
      }),
      /at least one member/,
    ],
  ]
  for (const [value, pattern] of cases) {
    assert.throws(
      () => parseGcpConfig(value, 'gcp'),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      String(pattern),
    )
  }
})
