/**
 * The Entra and Google exchanges on the PostgreSQL store (the portable SQL of both repositories, the key
 * store and the audit log), over raw HTTP. Skips with the reason when PostgreSQL is not reachable.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { applyConfig } from '../../src/server/config.ts'
import { startServer } from '../../src/server/start.ts'
import { getIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'
const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/kube'
const AUD = `//iam.googleapis.com/${POOL}/providers/local`
const SA = 'app-sa@demo-project.iam.gserviceaccount.com'

void test('Entra and Google exchanges on PostgreSQL', async (t) => {
  const reason = await postgresSkipReason()
  if (reason !== undefined) return t.skip(reason)
  const schema = `t_${process.pid}_${randomBytes(6).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-pg-e2e-'))
  const server = await startServer({
    dataDir: dir,
    store: `${postgresUrl}?schema=${schema}`,
    port: 0,
    logLevel: 'silent',
  })
  try {
    const db = server.ctx.db
    assert.equal(db.engine, 'postgres')
    const issuerUrl = (await getIssuer(db, 'default'))!.url
    await applyConfig(
      db,
      `
azure:
  tenants:
    - tenantId: ${TENANT}
      identities:
        - name: app
          clientId: ${CLIENT}
          federatedCredentials:
            - { name: kube-app, issuer: '${issuerUrl}', subject: 'system:serviceaccount:default:app' }
gcp:
  projects:
    - projectId: demo-project
      projectNumber: '123456789012'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
      serviceAccounts:
        - accountId: app-sa
          bindings:
            - role: roles/iam.workloadIdentityUser
              members: ['principalSet://iam.googleapis.com/${POOL}/*']
`,
      { accountId: '000000000000', region: 'us-east-1', now: new Date() },
    )
    const mint = (audience: string) =>
      mintServiceAccountToken(db, {
        namespace: 'default',
        serviceAccount: 'app',
        audiences: [audience],
        now: new Date(),
      })
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    const entra = await fetch(`${server.baseUrl}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        client_id: CLIENT,
        grant_type: 'client_credentials',
        scope: 'https://storage.azure.com/.default',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await mint('api://AzureADTokenExchange'),
      }),
    })
    assert.equal(entra.status, 200, await entra.clone().text())
    const sts = await fetch(`${server.baseUrl}/v1/token`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: AUD,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: await mint(AUD),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    })
    assert.equal(sts.status, 200)
    const federated = ((await sts.json()) as { access_token: string }).access_token
    const sa = await fetch(
      `${server.baseUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${federated}` },
        body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
      },
    )
    assert.equal(sa.status, 200, await sa.clone().text())
  } finally {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
    const client = new pg.Client({ connectionString: postgresUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  }
})
