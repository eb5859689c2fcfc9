import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import {
  certificateSubjects,
  displayHost,
  listen,
  ServerError,
} from '../../../src/server/listeners.ts'

void describe('server listeners', () => {
  void it('covers loopback always, the bound host and extra names, each by its kind', () => {
    const s = certificateSubjects('podtrust.example', ['10.0.0.7', '[fd00::1]', 'sts.internal'])
    assert.deepEqual(s.dnsNames.sort(), ['localhost', 'podtrust.example', 'sts.internal'])
    assert.deepEqual(s.ipAddresses.sort(), ['10.0.0.7', '127.0.0.1', '::1', 'fd00::1'])
  })

  void it('does not put a wildcard bind address in the certificate', () => {
    for (const wildcard of ['0.0.0.0', '::']) {
      const s = certificateSubjects(wildcard, [])
      assert.deepEqual(s.dnsNames, ['localhost'])
      assert.deepEqual(s.ipAddresses.sort(), ['127.0.0.1', '::1'])
    }
  })

  void it('shows wildcard binds as loopback and brackets IPv6 hosts', () => {
    assert.equal(displayHost('0.0.0.0'), '127.0.0.1')
    assert.equal(displayHost('::1'), '[::1]')
    assert.equal(displayHost('podtrust.example'), 'podtrust.example')
  })

  void it('rejects a busy port with SERVER_LISTEN_FAILED and a hint', async () => {
    const first = createServer()
    const port = await listen(first, 0, '127.0.0.1')
    const second = createServer()
    try {
      await assert.rejects(listen(second, port, '127.0.0.1'), (err: unknown) => {
        assert.ok(err instanceof ServerError)
        assert.equal(err.code, 'SERVER_LISTEN_FAILED')
        assert.match(err.message, /EADDRINUSE/)
        return true
      })
    } finally {
      first.close()
    }
  })
})
