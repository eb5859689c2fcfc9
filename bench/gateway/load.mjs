/**
 * The load generator of `npm run bench:gateway`, in a worker thread so it does not share an event loop with
 * what it measures. Closed loop: `concurrency` workers over one keep-alive http.Agent, each sending the next
 * request when the previous answer has been read in full; `warmupSeconds` first, not recorded. Requests are
 * signed once by the caller (SigV4 signatures stay valid for the clock-skew window), so signing costs the
 * client nothing per request and both targets get identical work. Output: count, errors (non-2xx and
 * transport errors), elapsed seconds, sorted latencies in ms.
 */
import { Buffer } from 'node:buffer'
import { Agent, request } from 'node:http'
import { closedLoop } from '../closed-loop.mjs'
import { parentPort, workerData } from 'node:worker_threads'

/** @type {{ port: number, method: string, path: string, headers: Record<string,string>, bodySize: number, concurrency: number, seconds: number, warmupSeconds: number }} */
const input = workerData
const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency })
const body = input.bodySize > 0 ? Buffer.alloc(input.bodySize, 'p') : undefined

/** @returns {Promise<number>} */
function once() {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: input.port,
        method: input.method,
        path: input.path,
        agent,
        headers: input.headers,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const result = await closedLoop(input, async () => {
  const status = await once()
  return status >= 200 && status <= 299
})
agent.destroy()
// Throughput over the requested seconds, as before.
parentPort?.postMessage({ ...result, elapsed: input.seconds })
