import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAsyncScope } from '../../../src/store/async-scope.ts'

void describe('createAsyncScope', () => {
  void it('gives each scope its own store across awaits, and none outside', async () => {
    const scope = createAsyncScope<{ n: number }>()
    assert.equal(scope.getStore(), undefined)
    const seen: number[] = []
    const one = scope.run({ n: 1 }, async () => {
      await new Promise((r) => setTimeout(r, 5))
      seen.push(scope.getStore()!.n)
    })
    const two = scope.run({ n: 2 }, async () => {
      await null
      seen.push(scope.getStore()!.n)
      await new Promise((r) => setTimeout(r, 10))
      seen.push(scope.getStore()!.n)
    })
    assert.equal(scope.active, 2)
    await Promise.all([one, two])
    assert.deepEqual(seen, [2, 1, 2])
    assert.equal(scope.active, 0)
    assert.equal(scope.getStore(), undefined)
  })

  void it('works again after its last scope ended (disabled, then enabled by run)', async () => {
    const scope = createAsyncScope<string>()
    await scope.run('a', async () => assert.equal(scope.getStore(), 'a'))
    const inner = await scope.run('b', async () => {
      await new Promise((r) => setImmediate(r))
      return scope.getStore()
    })
    assert.equal(inner, 'b')
    assert.equal(scope.getStore(), undefined)
  })

  void it('ends a scope whose function rejects, and passes the rejection on', async () => {
    const scope = createAsyncScope<string>()
    await assert.rejects(
      scope.run('x', async () => {
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.equal(scope.active, 0)
    assert.equal(await scope.run('y', async () => scope.getStore()), 'y')
  })
})
