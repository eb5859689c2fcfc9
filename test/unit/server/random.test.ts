import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createPooledRandomBytes } from '../../../src/server/random.ts'

void describe('server/random: pooled random bytes', () => {
  void it('returns the requested sizes, across pool refills and beyond the pool size', () => {
    const draw = createPooledRandomBytes(64)
    for (const size of [0, 1, 12, 30, 63, 64, 65, 1000]) assert.equal(draw(size).length, size)
  })

  void it('draws are fresh copies: distinct, and changing one changes nothing else', () => {
    const draw = createPooledRandomBytes(64)
    const seen = new Set<string>()
    for (let i = 0; i < 500; i++) seen.add(Buffer.from(draw(16)).toString('hex'))
    assert.equal(seen.size, 500)
    const a = draw(8)
    a.fill(0)
    const b = draw(8)
    assert.notDeepEqual(Buffer.from(b), Buffer.alloc(8))
  })

  void it('bytes look uniform (every byte value appears in 64 KiB)', () => {
    const draw = createPooledRandomBytes()
    const counts = new Array<number>(256).fill(0)
    for (let i = 0; i < 64; i++) for (const byte of draw(1024)) counts[byte]!++
    assert.ok(
      counts.every((c) => c > 100),
      'each value ~256 times',
    )
  })

  void it('refuses negative and fractional sizes', () => {
    const draw = createPooledRandomBytes()
    assert.throws(() => draw(-1), RangeError)
    assert.throws(() => draw(1.5), RangeError)
  })
})
