import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { azureConfigSection, deriveObjectId, parseAzureConfig } from '../../../src/azure/config.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { azureMigrations } from '../../../src/azure/migrations.ts'
import { getIdentity, listFederatedCredentials } from '../../../src/azure/repo.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'
const yaml = `
tenants:
  - tenantId: ${TENANT}
    displayName: Contoso
    identities:
      - name: app
        clientId: ${CLIENT}
        federatedCredentials:
          - name: kube-default-app
            issuer: https://127.0.0.1:7443
            subject: system:serviceaccount:default:app
          - name: kube-flex
            issuer: https://127.0.0.1:7443
            claimsMatchingExpression: "claims['sub'] matches 'system:serviceaccount:team-*:*'"
            audiences: [custom-aud]
            description: team namespaces
`
const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}

for (const engine of engines) {
  void test(`azure section applies and round-trips through export (${engine})`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresSkipReason()
      if (reason !== undefined) return t.skip(reason)
    }
    const store = await openTestDb(engine, { migrations: azureMigrations })
    try {
      const parsed = azureConfigSection.parse(parseYaml(yaml), 'azure')
      await store.db.transaction((tx) => azureConfigSection.apply(tx, parsed, env))
      const identity = await getIdentity(store.db, TENANT, CLIENT)
      assert.equal(identity?.objectId, deriveObjectId(TENANT, CLIENT))
      assert.equal(identity?.kind, 'userAssignedIdentity')
      const fics = await listFederatedCredentials(store.db, TENANT, CLIENT)
      assert.deepEqual(
        fics.map((f) => [f.name, f.audiences[0]]),
        [
          ['kube-default-app', 'api://AzureADTokenExchange'],
          ['kube-flex', 'custom-aud'],
        ],
      )
      const exported = await azureConfigSection.export(store.db, env)
      assert.ok(exported)
      // Re-parsing the export gives the same config (round trip), and re-applying is idempotent.
      assert.deepEqual(
        azureConfigSection.parse(JSON.parse(JSON.stringify(exported)), 'azure'),
        exported,
      )
      assert.deepEqual(exported, parsed)
      await store.db.transaction((tx) => azureConfigSection.apply(tx, exported, env))
      assert.equal((await listFederatedCredentials(store.db, TENANT, CLIENT)).length, 2)
    } finally {
      await store.cleanup()
    }
  })
}

void test('azure section rejects malformed input, naming the path', () => {
  const cases: [unknown, RegExp][] = [
    ['nope', /^azure: expected a mapping, got a string/],
    [{ tenants: {} }, /azure.tenants: expected a list, got a mapping/],
    [{ tenant: [] }, /azure.tenant: unknown key `tenant`/],
    [{ tenants: [{ tenantId: 'common' }] }, /tenants\[0\].tenantId: must be a GUID or a domain/],
    [
      { tenants: [{ tenantId: TENANT, identities: [{ name: 'a', clientId: 'not-a-guid' }] }] },
      /clientId: must be a GUID/,
    ],
    [
      { tenants: [{ tenantId: TENANT, identities: [{ name: 'a', clientId: CLIENT, type: 'x' }] }] },
      /type: must be one of `userAssignedIdentity`, `application`/,
    ],
    [
      { tenants: [{ tenantId: TENANT, identities: [{ clientId: CLIENT }] }] },
      /identities\[0\].name: is required/,
    ],
    [
      { tenants: [{ tenantId: TENANT, identities: [{ name: '', clientId: CLIENT }] }] },
      /identities\[0\].name: must not be empty/,
    ],
    [{ tenants: [{ tenantId: TENANT }, { tenantId: TENANT }] }, /duplicates tenant/],
    [
      {
        tenants: [
          {
            tenantId: TENANT,
            identities: [
              {
                name: 'a',
                clientId: CLIENT,
                federatedCredentials: [
                  { name: 'f1', issuer: 'https://x', subject: 's', audiences: ['a', 'b'] },
                ],
              },
            ],
          },
        ],
      },
      /exactly one audience/,
    ],
    [
      {
        tenants: [
          {
            tenantId: TENANT,
            identities: [
              {
                name: 'a',
                clientId: CLIENT,
                federatedCredentials: [{ name: 'f1', issuer: 'https://x', subject: 's', extra: 1 }],
              },
            ],
          },
        ],
      },
      /federatedCredentials\[0\].extra: unknown key `extra`/,
    ],
    [
      {
        tenants: [
          {
            tenantId: TENANT,
            identities: [
              {
                name: 'a',
                clientId: CLIENT,
                federatedCredentials: [
                  { name: 'f1', issuer: 'https://x', claimsMatchingExpression: 'bogus' },
                ],
              },
            ],
          },
        ],
      },
      /claimsMatchingExpression/,
    ],
  ]
  for (const [value, pattern] of cases) {
    assert.throws(
      () => parseAzureConfig(value, 'azure'),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      String(pattern),
    )
  }
})
