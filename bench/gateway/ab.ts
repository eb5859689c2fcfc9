/**
 * Paired CPU comparison of two checkouts' gateways (`npm run bench:gateway` measures one gateway against the
 * backend; this measures a change). Both gateways run in this one process — the baseline's modules loaded
 * from `--baseline DIR` (a checkout with node_modules), the other from this checkout — in front of the same
 * trivial backend (bench/gateway/backend.ts, its own process), driven by one keep-alive client in a worker
 * thread. Batches of `--requests` requests alternate baseline / this / direct (the client alone, to the
 * backend), in alternating order, `--rounds` times; each batch's CPU time of this process is read with
 * process.cpuUsage. A gateway's CPU per request is its batch minus the next direct batch (the client's part),
 * and the table gives medians and the median of the per-round quotients this/baseline.
 * Why in one process: on a machine shared with other load the CPU time per request of separate runs moved
 * 2–3× between identical runs (load average 8–14); batches a second apart, paired, move far less. What it
 * does not see: the two gateways share one heap, so garbage collection is split between them by timing.
 * Usage: node --import tsx bench/gateway/ab.ts --baseline DIR [--scenario get1k|get1m|put1m|put1mu]
 *        [--requests 300] [--rounds 10] [--concurrency 1]
 *   e.g. git archive main | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import type * as IdsModule from '../../src/aws/iam/ids.ts'
import type * as RepoModule from '../../src/aws/iam/repo.ts'
import type * as GatewayServerModule from '../../src/gateway/server.ts'
import type * as ServerStartModule from '../../src/server/start.ts'
import type * as GatewayBackendModule from '../../src/gateway/backend.ts'
import type * as Sigv4Module from '../../src/aws/sigv4/sigv4.ts'
import { seedBenchUser } from './seed.ts'

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    scenario: { type: 'string', default: 'get1k' },
    requests: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1' },
  },
})
if (values.baseline === undefined) throw new Error('--baseline DIR (a checkout with node_modules)')
const BASE = resolve(values.baseline)
const HERE = new URL('../..', import.meta.url).pathname
const N = Number(values.requests)
const scenarios: Record<
  string,
  { method: 'GET' | 'PUT'; key: string; bodySize: number; payload?: string }
> = {
  get1k: { method: 'GET', key: 'obj-1k', bodySize: 0 },
  get1m: { method: 'GET', key: 'obj-1m', bodySize: 0 },
  put1m: { method: 'PUT', key: 'put-1m', bodySize: 1024 * 1024 },
  put1mu: { method: 'PUT', key: 'put-1m', bodySize: 1024 * 1024, payload: 'UNSIGNED-PAYLOAD' },
}
const s = scenarios[values.scenario]
if (s === undefined) throw new Error(`--scenario: one of ${Object.keys(scenarios).join(', ')}`)

const backend = spawn(process.execPath, ['--import', 'tsx', `${HERE}bench/gateway/backend.ts`], {
  stdio: ['ignore', 'pipe', 'inherit'],
  cwd: HERE,
})
const backendPort = await new Promise<number>((r) =>
  backend.stdout.once('data', (d) => r((JSON.parse(String(d)) as { port: number }).port)),
)
const dirs: string[] = []

/** One gateway from the checkout at `root`, set up as bench/gateway/gateway.ts does; signed headers for it. */
async function gatewayFrom(root: string) {
  const ids = (await import(`${root}/src/aws/iam/ids.ts`)) as typeof IdsModule
  const { createIamRepo } = (await import(`${root}/src/aws/iam/repo.ts`)) as typeof RepoModule
  const { startGateway } = (await import(
    `${root}/src/gateway/server.ts`
  )) as typeof GatewayServerModule
  const { startServer } = (await import(`${root}/src/server/start.ts`)) as typeof ServerStartModule
  const { signBackendRequest } = (await import(
    `${root}/src/gateway/backend.ts`
  )) as typeof GatewayBackendModule
  const { sha256Hex } = (await import(`${root}/src/aws/sigv4/sigv4.ts`)) as typeof Sigv4Module
  const ACCOUNT = '111122223333'
  const dataDir = mkdtempSync(join(tmpdir(), 'podtrust-bench-ab-'))
  dirs.push(dataDir)
  const server = await startServer({
    dataDir,
    port: 0,
    accountId: ACCOUNT,
    region: 'us-east-1',
    logLevel: 'silent',
  })
  const key = await seedBenchUser(createIamRepo(server.ctx.db), ids, ACCOUNT)
  const gateway = await startGateway(server.ctx, {
    port: 0,
    backendS3: `http://127.0.0.1:${backendPort}`,
    backendSqs: `http://127.0.0.1:${backendPort}`,
  })
  const payload =
    s?.payload ?? (s!.bodySize > 0 ? sha256Hex(Buffer.alloc(s!.bodySize, 'p')) : sha256Hex(''))
  const headers = signBackendRequest({
    method: s!.method,
    path: `/bench/${s!.key}`,
    query: '',
    headers: s!.bodySize > 0 ? [['content-length', String(s!.bodySize)]] : [],
    host: `127.0.0.1:${gateway.port}`,
    payloadHash: payload,
    service: 's3',
    target: { url: new URL(`http://127.0.0.1:${gateway.port}`), ...key, region: 'us-east-1' },
    now: new Date(),
  })
  return {
    port: gateway.port,
    headers: Object.fromEntries(headers),
    close: async () => {
      await gateway.close()
      await server.close()
    },
  }
}

const client = new Worker(
  `const { parentPort } = require('node:worker_threads')
const http = require('node:http')
const agents = new Map()
parentPort.on('message', async ({ port, method, path, headers, bodySize, n, concurrency }) => {
  let agent = agents.get(port)
  if (!agent) agents.set(port, (agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })))
  const body = bodySize > 0 ? Buffer.alloc(bodySize, 'p') : undefined
  let errors = 0
  let left = n
  const once = () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      if (res.statusCode < 200 || res.statusCode > 299) errors++
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(body)
  })
  await Promise.all(Array.from({ length: concurrency }, async () => { while (left-- > 0) await once() }))
  parentPort.postMessage(errors)
})`,
  { eval: true },
)
const batch = (port: number, headers: Record<string, string>) =>
  new Promise<{ cpuUs: number; errors: number }>((done) => {
    const c0 = process.cpuUsage()
    client.once('message', (errors: number) => {
      const c = process.cpuUsage(c0)
      done({ cpuUs: (c.user + c.system) / N, errors })
    })
    client.postMessage({
      port,
      method: s.method,
      path: `/bench/${s.key}`,
      headers,
      bodySize: s.bodySize,
      n: N,
      concurrency: Number(values.concurrency),
    })
  })

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
try {
  const baseline = await gatewayFrom(BASE)
  const current = await gatewayFrom(HERE.replace(/\/$/, ''))
  await batch(baseline.port, baseline.headers)
  await batch(current.port, current.headers)
  const runs = { baseline: [] as number[], current: [] as number[], direct: [] as number[] }
  let errors = 0
  for (let r = 0; r < Number(values.rounds); r++) {
    const pair: ['baseline' | 'current', typeof baseline][] = [
      ['baseline', baseline],
      ['current', current],
    ]
    if (r % 2 === 1) pair.reverse()
    for (const [name, g] of pair) {
      const b = await batch(g.port, g.headers)
      runs[name].push(b.cpuUs)
      errors += b.errors
    }
    const d = await batch(backendPort, current.headers)
    runs.direct.push(d.cpuUs)
  }
  const net = (xs: number[]) => xs.map((x, i) => x - (runs.direct[i] as number))
  const b = net(runs.baseline)
  const c = net(runs.current)
  const quotients = c.map((x, i) => x / (b[i] as number))
  console.table([
    {
      scenario: values.scenario,
      concurrency: Number(values.concurrency),
      requestsPerBatch: N,
      clientCpuUs: Math.round(median(runs.direct)),
      baselineGatewayCpuUs: Math.round(median(b)),
      currentGatewayCpuUs: Math.round(median(c)),
      currentOverBaseline: Number(median(quotients).toFixed(3)),
      minMax: `${Math.min(...quotients).toFixed(2)}–${Math.max(...quotients).toFixed(2)}`,
      errors,
    },
  ])
  await baseline.close()
  await current.close()
} finally {
  void client.terminate()
  backend.kill('SIGTERM')
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
