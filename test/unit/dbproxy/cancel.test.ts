/** Cancel keys: the proxy's own (pid, secret) map to the backend session; a wrong secret finds nothing. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCancelRegistry } from '../../../src/dbproxy/cancel.ts'

void describe('cancel key registry', () => {
  void it('routes a key to its backend, refuses a wrong secret, forgets released sessions', () => {
    const r = createCancelRegistry<string>()
    const a = r.register({ backend: 'A', processId: 11, secretKey: 111 })
    const b = r.register({ backend: 'B', processId: 22, secretKey: 222 })
    assert.notEqual(a.processId, b.processId)
    assert.ok(a.processId > 0)
    assert.equal(r.lookup(a.processId, a.secretKey)?.backend, 'A')
    assert.equal(r.lookup(b.processId, b.secretKey)?.processId, 22)
    assert.equal(r.lookup(a.processId, a.secretKey ^ 1), undefined)
    assert.equal(r.lookup(11, 111), undefined)
    a.release()
    assert.equal(r.lookup(a.processId, a.secretKey), undefined)
    assert.equal(r.size, 1)
  })
})
