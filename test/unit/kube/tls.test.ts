/**
 * Serving certificates: a pair from files is checked (unreadable, mismatched, not PEM), reloaded into the
 * running server when the files change (new connections see the new certificate, a broken update keeps
 * the old one), and one from podtrust's CA comes with its caBundle.
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { after, describe, it } from 'node:test'
import { WebhookError } from '../../../src/kube/errors.ts'
import { createAdmissionHandler } from '../../../src/kube/admission-handler.ts'
import { createWebhookMetrics } from '../../../src/kube/metrics.ts'
import { noPodIdentities } from '../../../src/kube/pod-identity.ts'
import { startWebhookServer } from '../../../src/kube/server.ts'
import { issueFromCa, readTlsFiles, watchTlsFiles } from '../../../src/kube/tls.ts'
import { defaultWebhookConfig, mutate } from '../../../src/mutation/index.ts'
import { memoryServiceAccounts, recordingLogger, until } from './helpers.ts'

const dirs: string[] = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'podtrust-kube-tls-'))
  dirs.push(d)
  return d
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

function peerSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? ''
      s.end()
      resolve(serial)
    })
    s.on('error', reject)
  })
}

void describe('serving certificates', () => {
  void it('issues from podtrust CA with a caBundle that is the CA certificate', async () => {
    const dir = temp()
    const issued = await issueFromCa(dir, {
      dnsNames: ['hook.podtrust-system.svc'],
      ipAddresses: ['127.0.0.1'],
    })
    assert.equal(Buffer.from(issued.caBundle, 'base64').toString(), issued.caPem)
    const cert = new X509Certificate(issued.material.certPem)
    assert.ok(cert.verify(new X509Certificate(issued.caPem).publicKey))
    assert.match(cert.subjectAltName ?? '', /DNS:hook\.podtrust-system\.svc/)
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/)
    const again = await issueFromCa(dir, { dnsNames: ['x'], ipAddresses: [] })
    assert.equal(again.caBundle, issued.caBundle, 'the CA persists in the data directory')
  })

  void it('refuses unreadable, mismatched or non-PEM files with TLS_INVALID', async () => {
    const dir = temp()
    const a = await issueFromCa(join(dir, 'a'), { dnsNames: ['localhost'], ipAddresses: [] })
    const b = await issueFromCa(join(dir, 'b'), { dnsNames: ['localhost'], ipAddresses: [] })
    writeFileSync(join(dir, 'a.crt'), a.material.certPem)
    writeFileSync(join(dir, 'b.key'), b.material.keyPem)
    writeFileSync(join(dir, 'junk'), 'not pem')
    const code = (e: unknown) => e instanceof WebhookError && e.code === 'TLS_INVALID'
    assert.throws(() => readTlsFiles(join(dir, 'missing.crt'), join(dir, 'b.key')), code)
    assert.throws(
      () => readTlsFiles(join(dir, 'a.crt'), join(dir, 'b.key')),
      (e: unknown) => code(e) && /not a usable certificate and key/.test((e as Error).message),
    )
    assert.throws(() => readTlsFiles(join(dir, 'junk'), join(dir, 'junk')), code)
  })

  void it('reloads a changed pair into the running server; a broken update keeps the old one', async () => {
    const dir = temp()
    const first = await issueFromCa(join(dir, 'ca1'), {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    const second = await issueFromCa(join(dir, 'ca2'), {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    const certFile = join(dir, 'tls.crt')
    const keyFile = join(dir, 'tls.key')
    writeFileSync(certFile, first.material.certPem)
    writeFileSync(keyFile, first.material.keyPem)
    const metrics = createWebhookMetrics({ defaultMetrics: false })
    const log = recordingLogger()
    const server = await startWebhookServer({
      port: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      tls: readTlsFiles(certFile, keyFile),
      tlsMinVersion: 'TLSv1.2',
      handle: createAdmissionHandler({
        config: defaultWebhookConfig(),
        mutate,
        serviceAccounts: memoryServiceAccounts(),
        podIdentity: noPodIdentities,
        gracePeriodMs: 0,
        metrics,
        log,
        random: () => 0,
      }),
      metrics,
      log,
    })
    let reloads = 0
    const failures: unknown[] = []
    const watch = watchTlsFiles(
      certFile,
      keyFile,
      readTlsFiles(certFile, keyFile),
      (m) => {
        reloads++
        server.setTls(m)
      },
      (e) => failures.push(e),
      { pollMs: 200 },
    )
    try {
      const serial1 = new X509Certificate(first.material.certPem).serialNumber
      const serial2 = new X509Certificate(second.material.certPem).serialNumber
      assert.equal(await peerSerial(server.port, first.caPem), serial1)
      // A half-finished update (new certificate, old key) is refused and the old pair stays.
      writeFileSync(certFile, second.material.certPem)
      await until(() => failures.length === 1, 3000, 'the mismatch')
      assert.equal(await peerSerial(server.port, first.caPem), serial1)
      writeFileSync(keyFile, second.material.keyPem)
      await until(() => reloads === 1, 3000, 'the reload')
      assert.equal(await peerSerial(server.port, second.caPem), serial2)
      await assert.rejects(
        peerSerial(server.port, first.caPem),
        /self-signed|unable to verify|certificate/,
      )
    } finally {
      watch.close()
      await server.close()
    }
  })

  void it('enforces the minimum TLS version', async () => {
    const dir = temp()
    const issued = await issueFromCa(dir, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    const metrics = createWebhookMetrics({ defaultMetrics: false })
    const server = await startWebhookServer({
      port: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      tls: issued.material,
      tlsMinVersion: 'TLSv1.3',
      handle: () => Promise.resolve({ status: 200, headers: {}, body: '' }),
      metrics,
      log: recordingLogger(),
    })
    try {
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = connect(
            {
              host: '127.0.0.1',
              port: server.port,
              ca: issued.caPem,
              servername: 'localhost',
              maxVersion: 'TLSv1.2',
            },
            () => resolve(s.end()),
          )
          s.on('error', reject)
        }),
      )
    } finally {
      await server.close()
    }
  })
})
