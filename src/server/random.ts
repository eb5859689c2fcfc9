/**
 * @module server/random
 * The server's default randomness: crypto-strength bytes drawn from a pooled buffer refilled by
 * `randomFillSync`, so the dozen small draws of one STS request (ids, IVs, secrets) cost one call into
 * OpenSSL per pool, not one each. Every draw is a fresh copy: callers never share memory with the pool.
 */
import { randomFillSync } from 'node:crypto'

const POOL_BYTES = 4096

export function createPooledRandomBytes(poolBytes = POOL_BYTES): (size: number) => Uint8Array {
  const pool = Buffer.allocUnsafe(poolBytes)
  let offset = poolBytes
  return (size: number) => {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`)
    if (size > poolBytes) return randomFillSync(new Uint8Array(size))
    if (offset + size > poolBytes) {
      randomFillSync(pool)
      offset = 0
    }
    const out = new Uint8Array(size)
    out.set(pool.subarray(offset, offset + size))
    // Used bytes are wiped so a later heap disclosure of the pool reveals nothing already handed out.
    pool.fill(0, offset, offset + size)
    offset += size
    return out
  }
}
