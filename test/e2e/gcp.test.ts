/**
 * GCP workload identity federation end to end: google-auth-library (child node process, with
 * GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT) and gcloud (temporary CLOUDSDK_CONFIG,
 * CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) exchange podtrust-minted tokens at podtrust's Google STS, with and
 * without service-account impersonation. Every URL in the credential files points at podtrust.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { applyConfig } from '../../src/server/config.ts'
import { startServer, type RunningServer } from '../../src/server/start.ts'
import { getIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const NUMBER = '123456789012'
const PROJECT = 'demo-project'
const POOL = `projects/${NUMBER}/locations/global/workloadIdentityPools/kube`
const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/local`
const SA = `app-sa@${PROJECT}.iam.gserviceaccount.com`
const root = new URL('../..', import.meta.url).pathname

let server: RunningServer
let dir: string

function hasGcloud(): boolean {
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}
const gcloudAvailable = hasGcloud()

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podtrust-gcp-e2e-'))
  server = await startServer({
    dataDir: join(dir, 'data'),
    port: 0,
    httpsPort: 0,
    logLevel: 'silent',
  })
  const issuerUrl = (await getIssuer(server.ctx.db, 'default'))!.url
  const yaml = `
gcp:
  projects:
    - projectId: ${PROJECT}
      projectNumber: '${NUMBER}'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
              attributeMapping:
                google.subject: assertion.sub
                attribute.namespace: assertion['kubernetes.io']['namespace']
                attribute.service_account_name: assertion['kubernetes.io']['serviceaccount']['name']
              attributeCondition: attribute.namespace in ['default', 'team-a']
      serviceAccounts:
        - accountId: app-sa
          bindings:
            - role: roles/iam.workloadIdentityUser
              members:
                - principal://iam.googleapis.com/${POOL}/subject/system:serviceaccount:default:app
`
  await applyConfig(server.ctx.db, yaml, {
    accountId: '000000000000',
    region: 'us-east-1',
    now: new Date(),
  })
})

after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

let counter = 0
async function credentialFile(
  namespace: string,
  serviceAccount: string,
  impersonate: boolean,
): Promise<string> {
  const token = await mintServiceAccountToken(server.ctx.db, {
    namespace,
    serviceAccount,
    audiences: [AUDIENCE],
    now: new Date(),
  })
  counter += 1
  const tokenPath = join(dir, `token-${counter}`)
  writeFileSync(tokenPath, token)
  const config: Record<string, unknown> = {
    universe_domain: 'googleapis.com',
    type: 'external_account',
    audience: AUDIENCE,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${server.baseUrl}/v1/token`,
    credential_source: { file: tokenPath, format: { type: 'text' } },
  }
  if (impersonate) {
    config['service_account_impersonation_url'] =
      `${server.baseUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`
  } else {
    config['token_info_url'] = `${server.baseUrl}/v1/introspect`
  }
  const file = join(dir, `cred-${counter}.json`)
  writeFileSync(file, JSON.stringify(config))
  return file
}

interface NodeResult {
  ok: boolean
  token?: string
  error?: string
}

function runNodeClient(credentials: string): Promise<NodeResult> {
  const script = `
    import { GoogleAuth } from 'google-auth-library'
    try {
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] })
      const client = await auth.getClient()
      const { token } = await client.getAccessToken()
      console.log(JSON.stringify({ ok: true, token }))
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: String(e.message) }))
    }
  `
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    GOOGLE_APPLICATION_CREDENTIALS: credentials,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    // Never probe a metadata server.
    METADATA_SERVER_DETECTION: 'none',
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: root, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as NodeResult)
        } catch {
          reject(new Error(`client produced no result: ${err?.message ?? ''} ${stderr}`))
        }
      },
    )
  })
}

function runGcloud(credentials: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const config = join(dir, `gcloud-${counter}`)
  mkdirSync(config)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    CLOUDSDK_CONFIG: config,
    CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: credentials,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_CORE_PROJECT: PROJECT,
  }
  return new Promise((resolve) => {
    execFile(
      'gcloud',
      ['auth', 'print-access-token'],
      { env, timeout: 90_000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr })
      },
    )
  })
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}/v1/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  })
  return (await res.json()) as Record<string, unknown>
}

void test('google-auth-library: external account without impersonation gets a federated token', async () => {
  const result = await runNodeClient(await credentialFile('default', 'app', false))
  assert.equal(result.ok, true, result.error)
  const info = await introspect(result.token!)
  assert.equal(info['active'], true)
  assert.equal(
    info['username'],
    `principal://iam.googleapis.com/${POOL}/subject/system:serviceaccount:default:app`,
  )
})

void test('google-auth-library: impersonation via generateAccessToken', async () => {
  const result = await runNodeClient(await credentialFile('default', 'app', true))
  assert.equal(result.ok, true, result.error)
  const info = await introspect(result.token!)
  assert.equal(info['active'], true)
  assert.equal(info['username'], SA)
})

void test('google-auth-library: attribute condition false yields unauthorized_client', async () => {
  const result = await runNodeClient(await credentialFile('prod', 'app', false))
  assert.equal(result.ok, false)
  assert.match(result.error!, /unauthorized_client/)
  assert.match(result.error!, /rejected by the attribute condition/)
})

void test('google-auth-library: a principal without a binding is denied impersonation', async () => {
  const result = await runNodeClient(await credentialFile('team-a', 'app', true))
  assert.equal(result.ok, false)
  assert.match(result.error!, /iam.serviceAccounts.getAccessToken/)
})

void test('gcloud auth print-access-token without impersonation (introspection names the account)', async (t) => {
  if (!gcloudAvailable) return t.skip('gcloud not found') // reason: the message says what is missing
  const run = await runGcloud(await credentialFile('default', 'app', false))
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout.trim(), /^ya29\.d\./)
  const info = await introspect(run.stdout.trim())
  assert.equal(info['active'], true)
})

void test('gcloud auth print-access-token with impersonation', async (t) => {
  if (!gcloudAvailable) return t.skip('gcloud not found') // reason: the message says what is missing
  const run = await runGcloud(await credentialFile('default', 'app', true))
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stdout.trim(), /^ya29\.c\./)
  const info = await introspect(run.stdout.trim())
  assert.equal(info['username'], SA)
})

void test('gcloud surfaces the attribute-condition error', async (t) => {
  if (!gcloudAvailable) return t.skip('gcloud not found') // reason: the message says what is missing
  const run = await runGcloud(await credentialFile('prod', 'app', false))
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /unauthorized_client/)
})
