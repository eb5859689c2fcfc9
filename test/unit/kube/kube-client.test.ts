/**
 * The Kubernetes client configuration loader (kubeconfig, API URL override, in-cluster) with its
 * malformed inputs, and the direct-lookup rate limiter.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { WebhookError } from '../../../src/kube/errors.ts'
import { loadKubeConfig } from '../../../src/kube/kube-client.ts'
import { tokenBucket } from '../../../src/kube/rate-limit.ts'

const dir = mkdtempSync(join(tmpdir(), 'podtrust-kube-client-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const invalid = (pattern: RegExp) => (e: unknown) =>
  e instanceof WebhookError && e.code === 'KUBE_CONFIG_INVALID' && pattern.test(e.message)

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://10.0.0.1:6443
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
users:
- name: u
  user: {token: t}
`

void describe('loadKubeConfig', () => {
  void it('loads a kubeconfig, and --kube-api overrides its server', async () => {
    const file = join(dir, 'ok')
    writeFileSync(file, KUBECONFIG)
    assert.equal(
      (await loadKubeConfig({ kubeconfig: file }, {})).getCurrentCluster()?.server,
      'https://10.0.0.1:6443',
    )
    const over = await loadKubeConfig({ kubeconfig: file, apiUrl: 'http://127.0.0.1:8080' }, {})
    assert.equal(over.getCurrentCluster()?.server, 'http://127.0.0.1:8080')
    assert.equal(
      over.getCurrentCluster()?.skipTLSVerify,
      true,
      'plain http needs the client flag, meaning nothing',
    )
  })

  void it('uses --kube-api alone (no credentials) outside a cluster', async () => {
    const kc = await loadKubeConfig({ apiUrl: 'https://api.example:6443' }, {})
    assert.equal(kc.getCurrentCluster()?.server, 'https://api.example:6443')
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false)
  })

  void it('refuses missing, malformed and context-less kubeconfigs, and no configuration at all', async () => {
    await assert.rejects(
      loadKubeConfig({ kubeconfig: join(dir, 'missing') }, {}),
      invalid(/cannot load kubeconfig/),
    )
    writeFileSync(join(dir, 'bad'), 'clusters: [\n')
    await assert.rejects(
      loadKubeConfig({ kubeconfig: join(dir, 'bad') }, {}),
      invalid(/cannot load kubeconfig `.*bad`/),
    )
    writeFileSync(
      join(dir, 'noctx'),
      'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n',
    )
    await assert.rejects(
      loadKubeConfig({ kubeconfig: join(dir, 'noctx') }, {}),
      invalid(/has no current context with a cluster/),
    )
    await assert.rejects(
      loadKubeConfig({}, {}),
      (e: unknown) =>
        invalid(/not running in a cluster/)(e) &&
        /--service-accounts-dir/.test((e as WebhookError).hint ?? ''),
    )
  })
})

void describe('tokenBucket', () => {
  void it('serves the burst at once, then the rate, and refuses a wait longer than allowed', async () => {
    let t = 0
    const bucket = tokenBucket({ ratePerSecond: 10, burst: 2, now: () => t })
    assert.equal(await bucket.take(0), true)
    assert.equal(await bucket.take(0), true)
    assert.equal(await bucket.take(50), false, 'the next token is 100 ms away')
    t = 100
    assert.equal(await bucket.take(0), true)
    const started = performance.now()
    assert.equal(await bucket.take(500), true, 'waits for the next token')
    assert.ok(performance.now() - started >= 90)
  })
})
