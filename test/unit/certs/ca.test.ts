import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CertError, caDir, issueServerCertificate, loadOrCreateCa } from '../../../src/certs/ca.ts'

void describe('CA', () => {
  void it('creates the CA once, reloads it, and issues certificates it verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-ca-'))
    try {
      const ca = await loadOrCreateCa(caDir(dir))
      assert.equal(ca.certFile, join(dir, 'ca', 'ca.pem'))
      assert.equal(statSync(join(dir, 'ca', 'ca-key.pem')).mode & 0o777, 0o600)
      const again = await loadOrCreateCa(caDir(dir))
      assert.equal(again.certPem, ca.certPem)
      const caCert = new X509Certificate(ca.certPem)
      assert.ok(caCert.ca)
      const leaf = await issueServerCertificate(ca, {
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1', '::1'],
      })
      const cert = new X509Certificate(leaf.certPem)
      assert.ok(!cert.ca)
      assert.ok(cert.checkIssued(caCert))
      assert.ok(cert.verify(caCert.publicKey))
      assert.equal(cert.checkHost('localhost'), 'localhost')
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1')
      assert.equal(cert.checkHost('example.com'), undefined)
      // A second CA does not verify the first one's certificates.
      const other = await loadOrCreateCa(join(dir, 'other'))
      assert.ok(!cert.verify(new X509Certificate(other.certPem).publicKey))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('rejects malformed certificate requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-ca-'))
    try {
      const ca = await loadOrCreateCa(dir)
      const bad = [
        { dnsNames: [], ipAddresses: [] },
        { dnsNames: ['bad name'], ipAddresses: [] },
        { dnsNames: [], ipAddresses: ['999.1.1.1'] },
        { dnsNames: ['ok'], ipAddresses: [], validityDays: 0 },
      ]
      for (const req of bad)
        await assert.rejects(issueServerCertificate(ca, req), CertError, JSON.stringify(req))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
