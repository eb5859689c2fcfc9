import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { deriveUniqueId, gcpConfigSection, parseGcpConfig } from '../../../src/gcp/config.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { gcpMigrations } from '../../../src/gcp/migrations.ts'
import { GcpStoreError } from '../../../src/gcp/errors.ts'
import {
  getBindings,
  getProvider,
  getServiceAccount,
  putServiceAccount,
} from '../../../src/gcp/repo.ts'
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
    [[], /^gcp: expected a mapping, got a list/],
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
      /keys\[0\]\.x5c: unknown key `x5c`/,
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
    // The email's account part follows the accountId rule (6-30 characters).
    [
      project({ serviceAccounts: [{ email: 'ab@demo-project.iam.gserviceaccount.com' }] }),
      /^gcp\.projects\[0\]\.serviceAccounts\[0\]\.email: account 'ab' must be 6-30 characters/,
    ],
    [
      project({
        serviceAccounts: [{ email: `${'a'.repeat(31)}@demo-project.iam.gserviceaccount.com` }],
      }),
      /serviceAccounts\[0\]\.email: account 'a{31}' must be 6-30/,
    ],
    [
      project({ serviceAccounts: [{ email: '1app-sa@demo-project.iam.gserviceaccount.com' }] }),
      /serviceAccounts\[0\]\.email: account '1app-sa' must be/,
    ],
    [
      project({ serviceAccounts: [{ email: '@demo-project.iam.gserviceaccount.com' }] }),
      /serviceAccounts\[0\]\.email: account '' must be/,
    ],
    // accountId and email must agree when both are given.
    [
      project({
        serviceAccounts: [
          { email: 'app-sa@demo-project.iam.gserviceaccount.com', accountId: 'other-sa' },
        ],
      }),
      /^gcp\.projects\[0\]\.serviceAccounts\[0\]\.accountId: 'other-sa' disagrees with email 'app-sa@demo-project\.iam\.gserviceaccount\.com'/,
    ],
    [
      project({
        serviceAccounts: [{ email: 'app-sa@demo-project.iam.gserviceaccount.com', accountId: 7 }],
      }),
      /serviceAccounts\[0\]\.accountId: expected a string, got a number/,
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

void test('gcp section: email and accountId together, when they agree', () => {
  const parsed = parseGcpConfig(
    {
      projects: [
        {
          projectId: 'demo-project',
          projectNumber: '1',
          serviceAccounts: [
            { email: 'App-SA@demo-project.iam.gserviceaccount.com', accountId: 'app-sa' },
          ],
        },
      ],
    },
    'gcp',
  )
  assert.equal(
    parsed.projects[0]?.serviceAccounts[0]?.email,
    'app-sa@demo-project.iam.gserviceaccount.com',
  )
})

for (const engine of engines) {
  void test(`gcp section: a service account's uniqueId never changes (${engine})`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresSkipReason()
      if (reason !== undefined) return t.skip(reason)
    }
    const store = await openTestDb(engine, { migrations: gcpMigrations })
    const EMAIL = 'app-sa@demo-project.iam.gserviceaccount.com'
    const config = (accounts: Record<string, unknown>[]) =>
      parseGcpConfig(
        {
          projects: [{ projectId: 'demo-project', projectNumber: '1', serviceAccounts: accounts }],
        },
        'gcp',
      )
    const apply = (accounts: Record<string, unknown>[]) =>
      store.db.transaction((tx) => gcpConfigSection.apply(tx, config(accounts), env))
    try {
      await apply([{ accountId: 'app-sa', uniqueId: '111' }])
      await apply([{ accountId: 'app-sa', uniqueId: '111', displayName: 'again' }])
      for (const changed of [
        [{ accountId: 'app-sa', uniqueId: '222' }],
        // Left out, the uniqueId defaults to the derived one: a change too.
        [{ accountId: 'app-sa' }],
      ]) {
        await assert.rejects(apply(changed), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.equal(
            err.message,
            `gcp.projects[0].serviceAccounts[0].uniqueId: service account '${EMAIL}' exists with uniqueId 111; a uniqueId cannot change`,
          )
          assert.equal(err.hint, "write uniqueId: '111' (podtrust export writes it)")
          return true
        })
      }
      const kept = await getServiceAccount(store.db, EMAIL)
      assert.equal(kept?.uniqueId, '111')
      assert.equal(kept?.displayName, 'again')
      // Another account cannot take it.
      await assert.rejects(
        apply([
          { accountId: 'app-sa', uniqueId: '111' },
          { accountId: 'other-sa', uniqueId: '111' },
        ]),
        /^ConfigError: gcp\.projects\[0\]\.serviceAccounts\[1\]\.uniqueId: 111 is already the uniqueId of service account 'app-sa@demo-project\.iam\.gserviceaccount\.com'$/,
      )
      // The repository refuses the change itself, whoever calls it.
      await assert.rejects(
        putServiceAccount(
          store.db,
          {
            email: EMAIL,
            projectId: 'demo-project',
            uniqueId: '333',
            displayName: 'x',
            disabled: false,
          },
          env.now,
        ),
        (err: unknown) => err instanceof GcpStoreError && err.code === 'GCP_UNIQUE_ID_CHANGED',
      )
      assert.equal((await getServiceAccount(store.db, EMAIL))?.displayName, 'again')
      await putServiceAccount(
        store.db,
        {
          email: EMAIL,
          projectId: 'demo-project',
          uniqueId: '111',
          displayName: 'y',
          disabled: true,
        },
        env.now,
      )
      assert.equal((await getServiceAccount(store.db, EMAIL))?.disabled, true)
    } finally {
      await store.cleanup()
    }
  })
}
