/**
 * The closed loop the worker-thread load generators share (bench:gateway, bench:webhook): `concurrency`
 * workers, each sending the next request when its answer has been read; `warmupSeconds` of traffic first, not
 * recorded. `send` resolves true for a good answer; a rejection counts as an error.
 * Returns count, errors, the measured seconds after warm-up and the sorted latencies in ms.
 */
import { performance } from 'node:perf_hooks'

/**
 * @param {{ concurrency: number, seconds: number, warmupSeconds: number }} load
 * @param {() => Promise<boolean>} send
 * @returns {Promise<{ count: number, errors: number, elapsed: number, latencies: number[] }>}
 */
export async function closedLoop(load, send) {
  /** @type {number[]} */
  const latencies = []
  let errors = 0
  const warmEnd = performance.now() + load.warmupSeconds * 1000
  const end = warmEnd + load.seconds * 1000
  await Promise.all(
    Array.from({ length: load.concurrency }, async () => {
      for (;;) {
        const t0 = performance.now()
        if (t0 >= end) return
        const ok = await send().catch(() => false)
        const t1 = performance.now()
        if (t0 < warmEnd) continue
        latencies.push(t1 - t0)
        if (!ok) errors++
      }
    }),
  )
  const elapsed = (performance.now() - warmEnd) / 1000
  latencies.sort((a, b) => a - b)
  return { count: latencies.length, errors, elapsed, latencies }
}
