/**
 * The acceptance interfaces end to end, through the CLI only: `podtrust up` (ephemeral ports), `podtrust
 * apply` while it runs, `podtrust token --audience`, `podtrust gcp cred-config` and `podtrust azure env`,
 * then gcloud (`auth login --cred-file`, and CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) and @azure/identity.
 */
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin', 'podtrust.js')
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'
const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/kube'
const SA = 'app-sa@demo-project.iam.gserviceaccount.com'

let dir: string
let data: string
let up: ChildProcess | undefined
let baseUrl = ''
let httpsUrl = ''

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: root, env: { PATH: process.env['PATH'], HOME: dir, ...env }, timeout: 90_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : Number((err as { code?: number }).code ?? 1),
          stdout,
          stderr,
        })
      },
    )
  })
}

const podtrust = (...args: string[]) => run(process.execPath, [bin, ...args, '--data-dir', data])

let gcloudMissing: string | undefined

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podtrust-cli-e2e-'))
  data = join(dir, 'data')
  gcloudMissing = (await run('gcloud', ['--version'])).code === 0 ? undefined : 'gcloud not found'
  up = spawn(
    process.execPath,
    [bin, 'up', '--port', '0', '--https-port', '0', '--data-dir', data, '--log-level', 'warn'],
    {
      cwd: root,
      env: { PATH: process.env['PATH'], HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(
      () => reject(new Error(`podtrust up did not get ready: ${out}`)),
      30_000,
    )
    up!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /ready on (http:\/\/\S+) and (https:\/\/\S+)/.exec(out)
      if (m !== null) {
        baseUrl = m[1]!
        httpsUrl = m[2]!
        clearTimeout(timer)
        resolve()
      }
    })
    up!.once('exit', (code) => reject(new Error(`podtrust up exited with ${code}: ${out}`)))
  })
  const config = `
azure:
  tenants:
    - tenantId: ${TENANT}
      identities:
        - name: app
          clientId: ${CLIENT}
          federatedCredentials:
            - name: kube-default-app
              issuer: ${httpsUrl}
              subject: system:serviceaccount:default:app
gcp:
  projects:
    - projectId: demo-project
      projectNumber: '123456789012'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: '${httpsUrl}' }
              attributeMapping:
                google.subject: assertion.sub
                attribute.namespace: assertion['kubernetes.io']['namespace']
              attributeCondition: attribute.namespace == 'default'
      serviceAccounts:
        - accountId: app-sa
          bindings:
            - role: roles/iam.workloadIdentityUser
              members: ['principalSet://iam.googleapis.com/${POOL}/attribute.namespace/default']
`
  writeFileSync(join(dir, 'podtrust.yaml'), config)
  const applied = await podtrust('apply', join(dir, 'podtrust.yaml'))
  assert.equal(applied.code, 0, applied.stderr)
})

after(async () => {
  if (up !== undefined && up.exitCode === null) {
    const exited = new Promise((resolve) => up!.once('exit', resolve))
    up.kill('SIGTERM')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

async function gcloudEnv(name: string, extra: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const config = join(dir, name)
  mkdirSync(config, { recursive: true })
  return {
    CLOUDSDK_CONFIG: config,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    ...extra,
  }
}

async function gcpCredentials(namespace: string, impersonate: boolean): Promise<string> {
  const token = join(dir, `gcp-${namespace}-${impersonate}.jwt`)
  const minted = await podtrust(
    'token',
    '--namespace',
    namespace,
    '--service-account',
    'app',
    '--audience',
    `//iam.googleapis.com/${POOL}/providers/local`,
    '--out',
    token,
  )
  assert.equal(minted.code, 0, minted.stderr)
  const file = join(dir, `cred-${namespace}-${impersonate}.json`)
  const args = [
    'gcp',
    'cred-config',
    '--project',
    'demo-project',
    '--pool',
    'kube',
    '--provider',
    'local',
    '--token-file',
    token,
    '--url',
    baseUrl,
    '--output',
    file,
  ]
  if (impersonate) args.push('--service-account', SA)
  const written = await podtrust(...args)
  assert.equal(written.code, 0, written.stderr)
  return file
}

void test('gcloud auth login --cred-file, then print-access-token (no impersonation)', async (t) => {
  if (gcloudMissing !== undefined) return t.skip(gcloudMissing) // reason: the message says what is missing
  const file = await gcpCredentials('default', false)
  const env = await gcloudEnv('gc-login', {})
  const login = await run('gcloud', ['auth', 'login', `--cred-file=${file}`], env)
  assert.equal(login.code, 0, login.stderr)
  assert.match(
    login.stderr,
    /principal:\/\/iam\.googleapis\.com\/projects\/123456789012\/locations\/global\/workloadIdentityPools\/kube\/subject\/system:serviceaccount:default:app/,
  )
  const printed = await run('gcloud', ['auth', 'print-access-token'], env)
  assert.equal(printed.code, 0, printed.stderr)
  assert.match(printed.stdout.trim(), /^ya29\.d\./)
})

void test('gcloud with CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE and impersonation', async (t) => {
  if (gcloudMissing !== undefined) return t.skip(gcloudMissing) // reason: the message says what is missing
  const file = await gcpCredentials('default', true)
  const printed = await run(
    'gcloud',
    ['auth', 'print-access-token'],
    await gcloudEnv('gc-override', { CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file }),
  )
  assert.equal(printed.code, 0, printed.stderr)
  const res = await fetch(`${baseUrl}/v1/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token: printed.stdout.trim() }),
  })
  assert.equal(((await res.json()) as { username: string }).username, SA)
})

void test('gcloud reports the attribute condition rejecting another namespace', async (t) => {
  if (gcloudMissing !== undefined) return t.skip(gcloudMissing) // reason: the message says what is missing
  const file = await gcpCredentials('prod', true)
  const printed = await run(
    'gcloud',
    ['auth', 'print-access-token'],
    await gcloudEnv('gc-denied', { CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file }),
  )
  assert.notEqual(printed.code, 0)
  assert.match(printed.stderr, /unauthorized_client/)
  assert.match(printed.stderr, /rejected by the attribute condition/)
})

void test('@azure/identity WorkloadIdentityCredential with the env from podtrust azure env', async () => {
  const token = join(dir, 'azure.jwt')
  const minted = await podtrust(
    'token',
    '--namespace',
    'default',
    '--service-account',
    'app',
    '--audience',
    'api://AzureADTokenExchange',
    '--out',
    token,
  )
  assert.equal(minted.code, 0, minted.stderr)
  const envOut = await podtrust(
    'azure',
    'env',
    '--tenant',
    TENANT,
    '--client-id',
    CLIENT,
    '--token-file',
    token,
    '--authority-host',
    httpsUrl,
  )
  assert.equal(envOut.code, 0, envOut.stderr)
  const env: NodeJS.ProcessEnv = {}
  for (const line of envOut.stdout.trim().split('\n')) {
    const i = line.indexOf('=')
    env[line.slice(0, i)] = line.slice(i + 1)
  }
  const script = `
    import { WorkloadIdentityCredential } from '@azure/identity'
    const t = await new WorkloadIdentityCredential({ disableInstanceDiscovery: true }).getToken('https://vault.azure.net/.default')
    console.log(t.token)
  `
  const result = await run(process.execPath, ['--input-type=module', '-e', script], env)
  assert.equal(result.code, 0, result.stderr)
  const payload = JSON.parse(
    Buffer.from(result.stdout.trim().split('.')[1]!, 'base64url').toString(),
  ) as Record<string, unknown>
  assert.equal(payload['aud'], 'https://vault.azure.net')
  assert.equal(payload['appid'], CLIENT)
})
