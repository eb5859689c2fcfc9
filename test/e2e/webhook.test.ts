/**
 * `podtrust webhook serve` as a real process: TLS from podtrust's CA (its caBundle printed), real
 * AdmissionReview payloads (the reference's admission-request.json, v1 and v1beta1, an Azure-labelled
 * pod) over HTTPS trusting that CA, patches decoded and applied; health, metrics, malformed requests that
 * leave the process running; serving-certificate reload from files; and ServiceAccounts from the
 * (recorded) Kubernetes API, including a pod admitted right after its ServiceAccount was created.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { issueFromCa } from '../../src/kube/tls.ts'
import { applyJsonPatch } from '../../src/mutation/index.ts'
import type { Container, Pod, Volume } from '../../src/mutation/types.ts'
import {
  type ReplayApiServer,
  isWatch,
  openWatch,
  sendFixture,
  startReplayApiServer,
} from '../fixtures/kube/replay-server.ts'
import { decodeResponse, pod, review } from '../unit/kube/helpers.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin', 'podtrust.js')
const requestFile = join(
  root,
  '..',
  'shared',
  'conformance',
  'pod-identity-webhook',
  'admission-request.json',
)
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

/**
 * The AdmissionReview the tests post: the reference webhook's admission-request.json when ../shared is beside
 * the checkout, else one of our own of the same shape (kind but no apiVersion, a pod with a scratch volume
 * for the default ServiceAccount), so a stranger's clone runs the same assertions.
 */
const admission: { body: string; uid: string; container: string } = existsSync(requestFile)
  ? {
      body: readFileSync(requestFile, 'utf8'),
      uid: '918ef1dc-928f-4525-99ef-988389f263c3',
      container: 'balajilovesoreos',
    }
  : {
      body: JSON.stringify({
        kind: 'AdmissionReview',
        request: {
          uid: '0d6f3c2e-7a51-4b8e-9c1d-2e3f4a5b6c7d',
          namespace: 'default',
          kind: { group: '', version: 'v1', kind: 'Pod' },
          operation: 'CREATE',
          userInfo: { username: 'kubernetes-admin', groups: ['system:authenticated'] },
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'reports-0', uid: '5a7c9e1b-3d4f-4a6b-8c0d-1e2f3a4b5c6d' },
            spec: {
              containers: [
                {
                  image: 'debian',
                  name: 'reports',
                  volumeMounts: [{ mountPath: '/scratch', name: 'scratch' }],
                },
              ],
              serviceAccountName: 'default',
              volumes: [{ emptyDir: {}, name: 'scratch' }],
            },
          },
        },
      }),
      uid: '0d6f3c2e-7a51-4b8e-9c1d-2e3f4a5b6c7d',
      container: 'reports',
    }

interface Served {
  proc: ChildProcess
  port: number
  metricsPort: number
  caBundle: string | undefined
  stdout: () => string
  stderr: () => string
  stop(): Promise<number | null>
}

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const proc = spawn(
    process.execPath,
    [bin, 'webhook', 'serve', '--port=0', '--metrics-port=0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'], HOME: tmpdir(), ...env },
    },
  )
  let out = ''
  let err = ''
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  const deadline = Date.now() + 30_000
  let m: RegExpExecArray | null
  while ((m = /listening on https port (\d+) .* metrics on http port (\d+)/.exec(out)) === null) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`webhook serve did not start:\n${out}\n${err}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const bundle = /^caBundle: (\S+)$/m.exec(out)?.[1]
  return {
    proc,
    port: Number(m[1]),
    metricsPort: Number(m[2]),
    caBundle: bundle,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM')
      return exited
    },
  }
}

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function post(
  port: number,
  ca: string,
  path: string,
  body: string | Buffer,
  contentType = 'application/json',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        ca,
        servername: 'localhost',
        headers: { 'content-type': contentType },
      },
      (res) => {
        let b = ''
        res.on('data', (c: Buffer) => (b += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function get(url: string, ca?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http
    mod
      .get(url, ca === undefined ? {} : { ca }, (res) => {
        let b = ''
        res.on('data', (c: Buffer) => (b += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }))
      })
      .on('error', reject)
  })
}

const container = (p: Pod, name: string): Container | undefined =>
  p.spec?.containers?.find((c) => c.name === name)
const envMap = (c: Container | undefined) =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]))

void describe('podtrust webhook serve (process, TLS from podtrust CA)', () => {
  let dir: string
  let hook: Served
  let ca: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-e2e-'))
    const saDir = join(dir, 'serviceaccounts')
    mkdirSync(saDir)
    writeFileSync(
      join(saDir, 'accounts.yaml'),
      `apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: default
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader
    eks.amazonaws.com/sts-regional-endpoints: "true"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: billing
  namespace: payments
  annotations:
    azure.workload.identity/client-id: 6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d
`,
    )
    hook = await serve(
      [
        '--tls-from-ca',
        `--data-dir=${dir}`,
        '--dns-name=localhost',
        '--dns-name=127.0.0.1',
        `--service-accounts-dir=${saDir}`,
        '--aws-default-region=us-west-2',
      ],
      { AZURE_TENANT_ID: TENANT },
    )
    assert.ok(hook.caBundle, hook.stdout())
    ca = Buffer.from(hook.caBundle, 'base64').toString()
  })
  after(async () => {
    await hook?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  void it('prints the caBundle of podtrust CA (the CA certificate, base64 PEM)', () => {
    assert.equal(ca, readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8'))
    assert.doesNotThrow(() => new X509Certificate(ca))
  })

  void it('mutates the reference admission-request.json (kind echoed, no apiVersion) and the patch applies', async () => {
    const body = admission.body
    const reply = await post(hook.port, ca, '/mutate', body)
    assert.equal(reply.status, 200)
    const got = decodeResponse(reply.body)
    assert.equal(got.kind, 'AdmissionReview')
    assert.equal(got.apiVersion, undefined)
    assert.ok(reply.body.startsWith('{"kind":"AdmissionReview","response":{'))
    assert.equal(got.response.uid, admission.uid)
    assert.equal(got.response.patchType, 'JSONPatch')
    const original = (JSON.parse(body) as { request: { object: Pod } }).request.object
    const mutated = applyJsonPatch(original, got.ops)
    assert.deepEqual(
      mutated.spec?.volumes?.map((v: Volume) => v.name),
      ['aws-iam-token', 'scratch'],
    )
    const c = container(mutated, admission.container)
    assert.deepEqual(envMap(c), {
      AWS_STS_REGIONAL_ENDPOINTS: 'regional',
      AWS_DEFAULT_REGION: 'us-west-2',
      AWS_REGION: 'us-west-2',
      AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/s3-reader',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    })
    assert.deepEqual(
      c?.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly ?? false]),
      [
        ['scratch', '/scratch', false],
        ['aws-iam-token', '/var/run/secrets/eks.amazonaws.com/serviceaccount', true],
      ],
    )
    // Re-admitting the mutated pod changes nothing.
    const again = decodeResponse(
      (
        await post(
          hook.port,
          ca,
          '/mutate',
          JSON.stringify({
            kind: 'AdmissionReview',
            request: { uid: 'again', namespace: 'default', object: mutated },
          }),
        )
      ).body,
    )
    assert.deepEqual(applyJsonPatch(mutated, again.ops), mutated)
  })

  void it('answers v1 and v1beta1 reviews in their own version', async () => {
    const base = JSON.parse(admission.body) as Record<string, unknown>
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
      const got = decodeResponse(
        (await post(hook.port, ca, '/mutate', JSON.stringify({ ...base, apiVersion }))).body,
      )
      assert.equal(got.apiVersion, apiVersion)
      assert.equal(got.kind, 'AdmissionReview')
      assert.equal(got.response.allowed, true)
      assert.ok(got.ops.length >= 2)
    }
  })

  void it('wires an Azure-labelled pod on /mutate-v1-pod and denies one without its ServiceAccount', async () => {
    const labelled = pod('payments', 'billing', {
      metadata: { name: 'billing-0', labels: { 'azure.workload.identity/use': 'true' } },
    })
    const got = decodeResponse(
      (await post(hook.port, ca, '/mutate-v1-pod', review(labelled, { uid: 'az' }))).body,
    )
    assert.equal(got.apiVersion, 'admission.k8s.io/v1')
    assert.equal(got.response.allowed, true)
    const mutated = applyJsonPatch(labelled, got.ops)
    const env = envMap(container(mutated, 'app'))
    assert.equal(env['AZURE_CLIENT_ID'], '6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d')
    assert.equal(env['AZURE_TENANT_ID'], TENANT)
    assert.equal(env['AZURE_AUTHORITY_HOST'], 'https://login.microsoftonline.com/')
    assert.equal(
      env['AZURE_FEDERATED_TOKEN_FILE'],
      '/var/run/secrets/azure/wi/token/azure-identity-token',
    )
    const volume = mutated.spec?.volumes?.find((v) =>
      v.name.startsWith('azure-workload-identity-reserved-'),
    ) as
      | {
          projected: {
            sources: { serviceAccountToken: { audience: string; expirationSeconds: number } }[]
          }
        }
      | undefined
    assert.deepEqual(
      volume?.projected.sources[0]?.serviceAccountToken.audience,
      'api://AzureADTokenExchange',
    )
    assert.equal(volume?.projected.sources[0]?.serviceAccountToken.expirationSeconds, 3600)

    const orphan = pod('payments', 'ghost', {
      metadata: { labels: { 'azure.workload.identity/use': 'true' } },
    })
    const denied = decodeResponse(
      (await post(hook.port, ca, '/mutate-v1-pod', review(orphan, { uid: 'gh' }))).body,
    )
    assert.deepEqual(denied.response, {
      uid: 'gh',
      allowed: false,
      status: { metadata: {}, message: 'serviceaccounts "ghost" not found', code: 400 },
    })
  })

  void it('survives malformed requests, answering each as the reference does, and counts them', async () => {
    const r415 = await post(hook.port, ca, '/mutate', '{}', 'application/xml')
    assert.deepEqual(
      [r415.status, r415.body],
      [415, 'Invalid Content-Type, expected `application/json`\n'],
    )
    const bad = decodeResponse((await post(hook.port, ca, '/mutate', '{"request": {')).body)
    assert.equal(bad.response.allowed, false)
    assert.equal(
      bad.response.status?.message,
      "couldn't get version/kind; json parse error: unexpected end of JSON input",
    )
    const empty = decodeResponse((await post(hook.port, ca, '/mutate', '')).body)
    assert.equal(empty.response.status?.message, 'bad content')
    const huge = await post(hook.port, ca, '/mutate', Buffer.alloc(4 * 1024 * 1024, 0x20)).catch(
      (e: unknown) => e as Error,
    )
    if (!(huge instanceof Error)) assert.equal(huge.status, 413)
    const health = await get(`https://127.0.0.1:${hook.port}/healthz`, ca)
    assert.deepEqual([health.status, health.body], [200, 'ok'])
    const metrics = (await get(`http://127.0.0.1:${hook.metricsPort}/metrics`)).body
    assert.match(
      metrics,
      /podtrust_webhook_malformed_requests_total\{endpoint="aws",reason="content_type"\} 1/,
    )
    assert.match(
      metrics,
      /podtrust_webhook_malformed_requests_total\{endpoint="aws",reason="decode"\} 1/,
    )
    assert.match(
      metrics,
      /podtrust_webhook_malformed_requests_total\{endpoint="aws",reason="empty"\} 1/,
    )
    assert.match(
      metrics,
      /podtrust_webhook_malformed_requests_total\{endpoint="aws",reason="too_large"\} 1/,
    )
    assert.equal(hook.proc.exitCode, null)
  })

  void it('exposes health on TLS and metrics on plain HTTP', async () => {
    assert.equal((await get(`https://127.0.0.1:${hook.port}/readyz`, ca)).body, 'ok')
    const text = (await get(`http://127.0.0.1:${hook.metricsPort}/metrics`)).body
    assert.match(
      text,
      /podtrust_webhook_admissions_total\{endpoint="aws",outcome="mutated"\} [1-9]/,
    )
    assert.match(text, /podtrust_webhook_mutations_total\{mode="irsa"\} [1-9]/)
    assert.match(text, /podtrust_webhook_mutations_total\{mode="azure"\} [1-9]/)
    assert.match(text, /pod_identity_webhook_pod_count\{method="sts_web_identity"\} [1-9]/)
    assert.match(text, /podtrust_webhook_admission_duration_seconds_count\{endpoint="aws"\} [1-9]/)
    assert.match(text, /podtrust_webhook_service_accounts_cached 2/)
    assert.equal((await get(`http://127.0.0.1:${hook.metricsPort}/other`)).status, 404)
  })

  void it('logs one structured line per admission, without env values', () => {
    const lines = hook
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; component?: string })
    assert.ok(lines.some((l) => l.event === 'pod.mutated' && l.component === 'webhook'))
    assert.ok(lines.some((l) => l.event === 'pod.denied'))
    assert.ok(!hook.stderr().includes('arn:aws:iam::111122223333:role/s3-reader'))
  })

  void it('stops cleanly on SIGTERM', async () => {
    const other = await serve([
      '--tls-from-ca',
      `--data-dir=${dir}`,
      '--dns-name=localhost',
      `--service-accounts-dir=${join(dir, 'serviceaccounts')}`,
    ])
    assert.equal(await other.stop(), 0)
  })
})

void describe('podtrust webhook serve: certificate files reloaded on change', () => {
  void it('serves the new certificate to new connections after the files are replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-reload-'))
    const certs = join(dir, 'certs')
    mkdirSync(certs)
    mkdirSync(join(dir, 'sa'))
    const one = await issueFromCa(join(dir, 'one'), {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    const two = await issueFromCa(join(dir, 'two'), {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    writeFileSync(join(certs, 'tls.crt'), one.material.certPem)
    writeFileSync(join(certs, 'tls.key'), one.material.keyPem)
    const hook = await serve([
      `--webhook-cert-dir=${certs}`,
      `--service-accounts-dir=${join(dir, 'sa')}`,
    ])
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect(
          {
            host: '127.0.0.1',
            port: hook.port,
            ca: [one.caPem, two.caPem],
            servername: 'localhost',
          },
          () => {
            resolve(s.getPeerX509Certificate()?.serialNumber ?? '')
            s.end()
          },
        )
        s.on('error', reject)
      })
    try {
      assert.equal(await serial(), new X509Certificate(one.material.certPem).serialNumber)
      // cert-manager style: write new files next to the old ones, then rename over them.
      writeFileSync(join(certs, 'tls.key.new'), two.material.keyPem)
      writeFileSync(join(certs, 'tls.crt.new'), two.material.certPem)
      renameSync(join(certs, 'tls.key.new'), join(certs, 'tls.key'))
      renameSync(join(certs, 'tls.crt.new'), join(certs, 'tls.crt'))
      const want = new X509Certificate(two.material.certPem).serialNumber
      const deadline = Date.now() + 15_000
      while ((await serial()) !== want) {
        assert.ok(Date.now() < deadline, `not reloaded:\n${hook.stderr()}`)
        await new Promise((r) => setTimeout(r, 100))
      }
      assert.match(hook.stderr(), /"event":"tls.reloaded"/)
      const metrics = (await get(`http://127.0.0.1:${hook.metricsPort}/metrics`)).body
      assert.match(metrics, /podtrust_webhook_tls_reloads_total\{result="ok"\} 1/)
    } finally {
      await hook.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('refuses to start without a usable certificate, with a hint', async () => {
    const proc = spawn(
      process.execPath,
      [
        bin,
        'webhook',
        'serve',
        '--port=0',
        '--tls-cert=/nonexistent/tls.crt',
        '--tls-key=/nonexistent/tls.key',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let err = ''
    proc.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const code = await new Promise<number | null>((r) => proc.on('exit', r))
    assert.equal(code, 1)
    assert.match(err, /cannot read the serving certificate or key \(ENOENT\) \[TLS_INVALID\]/)
    assert.match(err, /hint: give --tls-cert and --tls-key, or --tls-from-ca --dns-name NAME/)
  })
})

void describe('podtrust webhook serve: ServiceAccounts from the Kubernetes API (recorded payloads)', () => {
  let api: ReplayApiServer
  let dir: string
  before(async () => {
    api = await startReplayApiServer()
    dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-api-'))
  })
  after(async () => {
    await api?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  void it('lists and watches, then mutates a pod created right after its ServiceAccount (GET on miss)', async () => {
    api.route('GET', '/api/v1/serviceaccounts', (req, res) =>
      isWatch(req)
        ? void openWatch(api, req, res)
        : sendFixture(res, 200, 'serviceaccounts-list.json'),
    )
    api.route('GET', '/api/v1/namespaces/apps/serviceaccounts/fresh', (_req, res) =>
      sendFixture(res, 200, 'serviceaccount-get-fresh.json'),
    )
    const hook = await serve([
      '--tls-from-ca',
      `--data-dir=${dir}`,
      '--dns-name=localhost',
      `--kubeconfig=${api.kubeconfig}`,
    ])
    try {
      const caPem = Buffer.from(hook.caBundle ?? '', 'base64').toString()
      await api.waitFor((r) => isWatch(r))
      const known = decodeResponse(
        (await post(hook.port, caPem, '/mutate', review(pod('apps', 's3-reader')))).body,
      )
      assert.equal(known.ops.length, 2)
      const fresh = decodeResponse(
        (await post(hook.port, caPem, '/mutate', review(pod('apps', 'fresh')))).body,
      )
      const env = envMap(container(applyJsonPatch(pod('apps', 'fresh'), fresh.ops), 'app'))
      assert.equal(env['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/fresh')
      assert.equal(api.requests.filter((r) => r.path.endsWith('/serviceaccounts/fresh')).length, 1)
      const metrics = (await get(`http://127.0.0.1:${hook.metricsPort}/metrics`)).body
      assert.match(metrics, /podtrust_webhook_service_account_cache_misses_total\{found="true"\} 1/)
      assert.match(metrics, /podtrust_webhook_service_accounts_cached 5/)
      assert.ok(!hook.stderr().includes(api.token), 'the bearer token never reaches the logs')
    } finally {
      await hook.stop()
    }
  })
})

void describe('npx podtrust webhook mutate --patch (the acceptance form)', () => {
  void it('prints only the JSON Patch, one JSON array', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-npx-'))
    try {
      writeFileSync(
        join(dir, 'pod.yaml'),
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  serviceAccountName: app\n  containers:\n  - name: app\n    image: busybox\n',
      )
      writeFileSync(
        join(dir, 'sa.yaml'),
        'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n',
      )
      const proc = spawn(
        'npx',
        [
          'podtrust',
          'webhook',
          'mutate',
          '--pod',
          join(dir, 'pod.yaml'),
          '--service-account',
          join(dir, 'sa.yaml'),
          '--patch',
          '--sts-regional-endpoint=true',
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      let err = ''
      proc.stdout.on('data', (c: Buffer) => (out += c.toString()))
      proc.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const code = await new Promise<number | null>((r) => proc.on('exit', r))
      assert.equal(code, 0, err)
      const ops = JSON.parse(out) as { op: string; path: string; value: unknown }[]
      assert.ok(Array.isArray(ops))
      assert.deepEqual(
        ops.map((o) => `${o.op} ${o.path}`),
        ['add /spec/volumes', 'add /spec/containers'],
      )
      const env = envMap((ops[1]?.value as Container[])[0])
      assert.equal(env['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/app')
      assert.equal(env['AWS_STS_REGIONAL_ENDPOINTS'], 'regional')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
