/**
 * Azure Workload Identity end to end: the real @azure/identity client (in a child node process, so
 * NODE_EXTRA_CA_CERTS applies) exchanges a podtrust-minted service-account token at podtrust's
 * Entra-compatible endpoints over TLS, with the env vars the azure-workload-identity webhook injects.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import { applyConfig } from '../../src/server/config.ts'
import { startServer, type RunningServer } from '../../src/server/start.ts'
import { getIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'
const root = new URL('../..', import.meta.url).pathname

let server: RunningServer
let dir: string
let issuerUrl: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-e2e-'))
  server = await startServer({
    dataDir: join(dir, 'data'),
    port: 0,
    httpsPort: 0,
    logLevel: 'silent',
  })
  issuerUrl = (await getIssuer(server.ctx.db, 'default'))!.url
  const yaml = `
azure:
  tenants:
    - tenantId: ${TENANT}
      identities:
        - name: app-identity
          clientId: ${CLIENT}
          federatedCredentials:
            - name: kube-default-app
              issuer: ${issuerUrl}
              subject: system:serviceaccount:default:app
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

async function tokenFile(
  name: string,
  serviceAccount: string,
  audience = 'api://AzureADTokenExchange',
): Promise<string> {
  const token = await mintServiceAccountToken(server.ctx.db, {
    namespace: 'default',
    serviceAccount,
    audiences: [audience],
    now: new Date(),
  })
  const file = join(dir, name)
  writeFileSync(file, token)
  return file
}

interface ClientResult {
  ok: boolean
  token?: string
  expiresOnTimestamp?: number
  error?: string
  name?: string
}

/** Runs @azure/identity in a child process with the webhook's env vars. */
function runClient(
  mode: 'workload' | 'default' | 'workload-env',
  file: string,
  scope: string,
  tenant = TENANT,
): Promise<ClientResult> {
  const script = `
    import { WorkloadIdentityCredential, DefaultAzureCredential } from '@azure/identity'
    const credential = ${mode === 'workload' ? 'new WorkloadIdentityCredential({ disableInstanceDiscovery: true })' : mode === 'workload-env' ? 'new WorkloadIdentityCredential()' : 'new DefaultAzureCredential()'}
    try {
      const t = await credential.getToken(${JSON.stringify(scope)})
      console.log(JSON.stringify({ ok: true, token: t.token, expiresOnTimestamp: t.expiresOnTimestamp }))
    } catch (e) {
      console.log(JSON.stringify({ ok: false, name: e.name, error: String(e.message) }))
    }
  `
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_TENANT_ID: tenant,
    AZURE_FEDERATED_TOKEN_FILE: file,
    // The webhook injects the authority host with a trailing slash.
    AZURE_AUTHORITY_HOST: `${server.httpsBaseUrl}/`,
    NODE_EXTRA_CA_CERTS: server.caFile,
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: root, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? ''
        try {
          resolve(JSON.parse(line) as ClientResult)
        } catch {
          reject(new Error(`client produced no result: ${err?.message ?? ''} ${stderr}`))
        }
      },
    )
  })
}

async function verifyAccessToken(token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}/${TENANT}/discovery/v2.0/keys`)
  const jwks = (await res.json()) as { keys: never[] }
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks))
  return payload as Record<string, unknown>
}

void test('WorkloadIdentityCredential (disableInstanceDiscovery) gets an Entra-shaped token over TLS', async () => {
  const file = await tokenFile('app.jwt', 'app')
  const result = await runClient('workload', file, 'https://storage.azure.com/.default')
  assert.equal(result.ok, true, result.error)
  const claims = await verifyAccessToken(result.token!)
  assert.equal(claims['aud'], 'https://storage.azure.com')
  assert.equal(claims['tid'], TENANT)
  assert.equal(claims['appid'], CLIENT)
  assert.equal(claims['azp'], CLIENT)
  assert.equal(claims['iss'], `${server.httpsBaseUrl}/${TENANT}/v2.0`)
  assert.equal(claims['sub'], claims['oid'])
  // expires_in was honoured: MSAL caches for about an hour.
  assert.ok(result.expiresOnTimestamp! > Date.now() + 3000 * 1000)
})

void test('DefaultAzureCredential works with only the webhook env vars', async () => {
  const file = await tokenFile('app2.jwt', 'app')
  const result = await runClient('default', file, 'https://management.azure.com/.default')
  assert.equal(result.ok, true, result.error)
  const claims = decodeJwt(result.token!)
  assert.equal(claims['aud'], 'https://management.azure.com')
  assert.equal(claims['appid'], CLIENT)
})

void test('a subject mismatch surfaces through the client as AADSTS700213', async () => {
  const file = await tokenFile('other.jwt', 'other')
  const result = await runClient('workload', file, 'https://storage.azure.com/.default')
  assert.equal(result.ok, false)
  assert.match(result.error!, /700213/)
  assert.match(result.error!, /system:serviceaccount:default:other/)
  const events = await (
    server.ctx.audit as unknown as {
      tail(o: object): Promise<{ event: { errorCode?: string; eventSource: string } }[]>
    }
  ).tail({ limit: 50 })
  assert.ok(
    events.some(
      (e) =>
        e.event.eventSource === 'login.microsoftonline.com' && e.event.errorCode === 'AADSTS700213',
    ),
  )
})

void test('token endpoint errors over raw HTTP follow Entra shapes', async () => {
  const url = `${server.httpsBaseUrl}/${TENANT}/oauth2/v2.0/token?client-request-id=abc`
  const post = (body: Record<string, string>) =>
    fetch(url.replace(server.httpsBaseUrl!, server.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    })
  const good = await tokenFile('raw.jwt', 'app')
  const assertion = (await import('node:fs')).readFileSync(good, 'utf8')
  const base = {
    client_id: CLIENT,
    grant_type: 'client_credentials',
    scope: 'https://vault.azure.net/.default',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    'x-client-SKU': 'ignored',
  }
  const ok = await post(base)
  assert.equal(ok.status, 200)
  const body = (await ok.json()) as Record<string, unknown>
  assert.equal(body['token_type'], 'Bearer')
  assert.equal(body['expires_in'], 3599)
  assert.equal(body['ext_expires_in'], 3599)
  const cases: [Record<string, string>, number, number][] = [
    [{ ...base, client_id: '99999999-2222-3333-4444-555555555555' }, 400, 700016],
    [{ ...base, scope: 'https://vault.azure.net/user.read' }, 400, 1002012],
    [{ ...base, client_assertion: 'not-a-jwt' }, 400, 50027],
    [{ ...base, grant_type: 'password' }, 400, 70003],
    [{ ...base, client_assertion: assertion.slice(0, -4) + 'AAAA' }, 401, 700027],
  ]
  for (const [form, status, code] of cases) {
    const res = await post(form)
    assert.equal(res.status, status, String(code))
    const err = (await res.json()) as {
      error_codes: number[]
      error_description: string
      correlation_id: string
    }
    assert.deepEqual(err.error_codes, [code])
    assert.match(err.error_description, new RegExp(`^AADSTS${code}: `))
    assert.equal(err.correlation_id, 'abc')
  }
  const unknownTenant = await fetch(
    `${server.baseUrl}/contoso.example/v2.0/.well-known/openid-configuration`,
  )
  assert.equal(unknownTenant.status, 400)
  assert.deepEqual(((await unknownTenant.json()) as { error_codes: number[] }).error_codes, [90002])
  const discovery = (await (
    await fetch(`${server.baseUrl}/${TENANT}/v2.0/.well-known/openid-configuration`)
  ).json()) as Record<string, string>
  for (const key of ['authorization_endpoint', 'token_endpoint', 'issuer', 'jwks_uri'])
    assert.ok(discovery[key], key)
})

void test('tenant and client ids are case-insensitive, as in Entra', async () => {
  const res = await fetch(
    `${server.baseUrl}/${TENANT.toUpperCase()}/v2.0/.well-known/openid-configuration`,
  )
  assert.equal(res.status, 200)
  const doc = (await res.json()) as Record<string, string>
  assert.equal(doc['issuer'], `${server.baseUrl}/${TENANT}/v2.0`)
  const file = await tokenFile('upper.jwt', 'app')
  const token = await fetch(`${server.baseUrl}/${TENANT.toUpperCase()}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: CLIENT.toUpperCase(),
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: (await import('node:fs')).readFileSync(file, 'utf8'),
    }),
  })
  assert.equal(token.status, 200)
})

void test('env-only WorkloadIdentityCredential works with the adfs authority (no instance discovery)', async () => {
  const file = await tokenFile('adfs.jwt', 'app')
  const result = await runClient('workload-env', file, 'https://storage.azure.com/.default', 'adfs')
  assert.equal(result.ok, true, result.error)
  const claims = decodeJwt(result.token!)
  assert.equal(claims['tid'], TENANT)
  assert.equal(claims['appid'], CLIENT)
  const keys = (await (await fetch(`${server.baseUrl}/adfs/discovery/keys`)).json()) as {
    keys: unknown[]
  }
  assert.ok(keys.keys.length >= 1)
})

void test('oversized token requests are refused in Entra shape', async () => {
  const res = await fetch(`${server.baseUrl}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_assertion: 'x'.repeat(100 * 1024) }),
  })
  assert.equal(res.status, 400)
  assert.deepEqual(((await res.json()) as { error_codes: number[] }).error_codes, [900144])
})
