/**
 * The benchmark's load generator, run in a worker thread so the client does not share the event loop with
 * the servers it measures. Input (workerData): url, tokens, mode ('duration' cycles tokens for `seconds`,
 * 'once' sends each token once), concurrency. Output (message): count, errors, elapsed seconds, sorted
 * latencies in ms.
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'

/** @type {{ url: string, tokens: string[], mode: 'duration' | 'once', seconds: number, concurrency: number }} */
const input = workerData
const url = new URL(input.url)
const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency })

/** @param {string} token @returns {Promise<number>} */
function get(token) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent,
        headers: { authorization: token },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** @type {number[]} */
const latencies = []
let errors = 0
let next = 0
const end = performance.now() + input.seconds * 1000
const started = performance.now()
await Promise.all(
  Array.from({ length: input.concurrency }, async () => {
    for (;;) {
      let token
      if (input.mode === 'once') token = input.tokens[next++]
      else token = performance.now() < end ? input.tokens[next++ % input.tokens.length] : undefined
      if (token === undefined) return
      const t0 = performance.now()
      const status = await get(token)
      latencies.push(performance.now() - t0)
      if (status !== 200) errors++
    }
  }),
)
const elapsed = (performance.now() - started) / 1000
agent.destroy()
latencies.sort((a, b) => a - b)
parentPort?.postMessage({ count: latencies.length, errors, elapsed, latencies })
