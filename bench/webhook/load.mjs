/**
 * The load generator of `npm run bench:webhook`, in a worker thread so it does not share an event loop
 * with what it measures (the pattern of bench/agent/load.mjs, over HTTPS with a POST body). Closed loop:
 * `concurrency` workers, each sending the next request when its answer arrived, over one keep-alive
 * https.Agent; `warmupSeconds` of traffic first, not recorded. Output (message): count, errors (transport
 * errors and non-200 answers), elapsed seconds of the measured part, sorted latencies in ms.
 */
import { Buffer } from 'node:buffer'
import { Agent, request } from 'node:https'
import { closedLoop } from '../closed-loop.mjs'
import { parentPort, workerData } from 'node:worker_threads'

/** @type {{ port: number, path: string, body: string, ca: string, concurrency: number, seconds: number, warmupSeconds: number }} */
const input = workerData
const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency, ca: input.ca })
const body = Buffer.from(input.body)

/** @returns {Promise<number>} */
function post() {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: input.port,
        method: 'POST',
        path: input.path,
        agent,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
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

const result = await closedLoop(input, async () => (await post()) === 200)
agent.destroy()
parentPort?.postMessage(result)
