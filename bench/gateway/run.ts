/**
 * `npm run bench:gateway`: S3 GetObject of 1 KiB and 1 MiB and PutObject of 1 MiB through the gateway (its own
 * process: SigV4 verified, policy evaluated, audit event, re-signed and streamed) to a trivial node:http
 * backend (its own process, fixed S3 answers), against the same backend called directly by the same client.
 * One closed-loop keep-alive load generator (load.mjs, a worker thread) drives both, at concurrency 1 (latency:
 * the added p50) and 8 (throughput ratio), in rounds that alternate which target goes first; each round gives
 * a ratio of two adjacent runs, and the table shows the median ratio with its min–max over the rounds. The CPU
 * time the gateway and the backend processes spend per request (from /proc) is shown too: on a shared
 * machine it moves far less with other load than throughput does; their quotient within the same run
 * (gwPerBackendCpu: the gateway's CPU per request over the backend's while it serves the gateway) moves
 * less still, since other load slows both processes alike.
 * PutObject runs twice: signed over the body's SHA-256 (the gateway must hash the whole body to check it) and
 * over UNSIGNED-PAYLOAD (what the difference costs).
 * Beside them, in the same rounds, a bare pass-through proxy (bare-proxy.ts: node:http + undici, no auth,
 * policy, audit or re-signing): `bareRatio` is what relaying alone reaches against direct on this machine,
 * `gatewayOfBare` the share of it the gateway keeps after its own work.
 * Then the memory of the gateway process (VmRSS from /proc) while one 1 GiB aws-chunked upload
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32 trailer, what the JS SDK streams) passes through it.
 * Goals (issue 12): ≥ 50 % of direct throughput at 1 KiB, ≥ 80 % at 1 MiB, added p50 ≤ 0.3 ms, 1 GiB upload
 * grows the gateway by ≤ 64 MiB.
 * Usage: npm run bench:gateway [-- --seconds 2 --rounds 3 --json --upload-mib 1024]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { availableParallelism, loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { crc32 } from 'node:zlib'
import { sha256Hex } from '../../src/aws/sigv4/sigv4.ts'
import { signBackendRequest } from '../../src/gateway/backend.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'upload-mib': { type: 'string', default: '1024' },
    json: { type: 'boolean', default: false },
  },
})
const SECONDS = Number(values.seconds)
const WARMUP = Number(values.warmup)
const ROUNDS = Number(values.rounds)
const UPLOAD_MIB = Number(values['upload-mib'])
const CONCURRENCY = [1, 8]
const root = new URL('../..', import.meta.url).pathname
const here = new URL('.', import.meta.url).pathname

interface Creds {
  accessKeyId: string
  secretAccessKey: string
}

interface Scenario {
  name: string
  method: 'GET' | 'PUT'
  key: string
  bodySize: number
  /** x-amz-content-sha256 (default: the body's SHA-256). */
  payload?: string
}

const scenarios: Scenario[] = [
  { name: 'GetObject 1 KiB', method: 'GET', key: 'obj-1k', bodySize: 0 },
  { name: 'GetObject 1 MiB', method: 'GET', key: 'obj-1m', bodySize: 0 },
  { name: 'PutObject 1 MiB', method: 'PUT', key: 'put-1m', bodySize: 1024 * 1024 },
  {
    name: 'PutObject 1 MiB unsigned',
    method: 'PUT',
    key: 'put-1m',
    bodySize: 1024 * 1024,
    payload: 'UNSIGNED-PAYLOAD',
  },
]

function startChild(
  args: string[],
): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: root,
    })
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 60_000)
    lines.once('line', (line) => {
      clearTimeout(timer)
      resolve({ child, info: JSON.parse(line) as Record<string, unknown> })
    })
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
}

function signedHeaders(port: number, s: Scenario, creds: Creds): Record<string, string> {
  const path = `/bench/${s.key}`
  const payload =
    s.payload ?? (s.bodySize > 0 ? sha256Hex(Buffer.alloc(s.bodySize, 'p')) : sha256Hex(''))
  const headers: [string, string][] = s.bodySize > 0 ? [['content-length', String(s.bodySize)]] : []
  const signed = signBackendRequest({
    method: s.method,
    path,
    query: '',
    headers,
    host: `127.0.0.1:${port}`,
    payloadHash: payload,
    service: 's3',
    target: { url: new URL(`http://127.0.0.1:${port}`), ...creds, region: 'us-east-1' },
    now: new Date(),
  })
  return Object.fromEntries(signed)
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

function load(port: number, s: Scenario, creds: Creds, concurrency: number) {
  return new Promise<{ rps: number; p50: number; errors: number }>((resolve, reject) => {
    const worker = new Worker(new URL('./load.mjs', import.meta.url), {
      workerData: {
        port,
        method: s.method,
        path: `/bench/${s.key}`,
        headers: signedHeaders(port, s, creds),
        bodySize: s.bodySize,
        concurrency,
        seconds: SECONDS,
        warmupSeconds: WARMUP,
      },
    })
    worker.once('error', reject)
    worker.once(
      'message',
      (m: { count: number; errors: number; elapsed: number; latencies: number[] }) => {
        void worker.terminate()
        resolve({ rps: m.count / m.elapsed, p50: pct(m.latencies, 50), errors: m.errors })
      },
    )
  })
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN)
  return { rss: get('VmRSS'), hwm: get('VmHWM') }
}

/** One streamed aws-chunked upload of `mib` MiB through the gateway; samples the gateway's RSS meanwhile. */
async function bigUpload(port: number, pid: number, creds: Creds, mib: number) {
  const size = mib * 1024 * 1024
  const before = rssKiB(pid)
  const signed = signBackendRequest({
    method: 'PUT',
    path: '/bench/big',
    query: '',
    headers: [
      ['content-encoding', 'aws-chunked'],
      ['x-amz-decoded-content-length', String(size)],
      ['x-amz-trailer', 'x-amz-checksum-crc32'],
      ['x-amz-sdk-checksum-algorithm', 'CRC32'],
    ],
    host: `127.0.0.1:${port}`,
    payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    service: 's3',
    target: { url: new URL(`http://127.0.0.1:${port}`), ...creds, region: 'us-east-1' },
    now: new Date(),
  })
  let peak = before.rss
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid).rss)
  }, 50)
  const t0 = performance.now()
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/bench/big',
        headers: Object.fromEntries(signed),
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    const chunk = Buffer.alloc(64 * 1024, 'u')
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ])
    let sent = 0
    let crc = 0
    const pump = () => {
      while (sent < size) {
        sent += chunk.length
        crc = crc32(chunk, crc)
        if (!req.write(frame)) {
          req.once('drain', pump)
          return
        }
      }
      const b = Buffer.alloc(4)
      b.writeUInt32BE(crc >>> 0)
      req.end(`0\r\nx-amz-checksum-crc32:${b.toString('base64')}\r\n\r\n`)
    }
    pump()
  })
  clearInterval(sampler)
  const seconds = (performance.now() - t0) / 1000
  return {
    status,
    mib,
    seconds,
    mibPerSecond: mib / seconds,
    rssBeforeMiB: before.rss / 1024,
    rssPeakMiB: peak / 1024,
    growthMiB: (peak - before.rss) / 1024,
  }
}

const children: ChildProcess[] = []
try {
  const backend = await startChild([`${here}backend.ts`])
  children.push(backend.child)
  const backendPort = backend.info['port'] as number
  const gw = await startChild([`${here}gateway.ts`, `http://127.0.0.1:${backendPort}`])
  children.push(gw.child)
  const gatewayPort = gw.info['port'] as number
  const bare = await startChild([`${here}bare-proxy.ts`, `http://127.0.0.1:${backendPort}`])
  children.push(bare.child)
  const barePort = bare.info['port'] as number
  const creds = {
    accessKeyId: gw.info['accessKeyId'] as string,
    secretAccessKey: gw.info['secretAccessKey'] as string,
  }

  const rows: Record<string, unknown>[] = []
  const gatewayPid = gw.child.pid as number
  const backendPid = backend.child.pid as number
  for (const s of scenarios) {
    for (const concurrency of CONCURRENCY) {
      type Run = {
        rps: number
        p50: number
        errors: number
        gatewayCpu: number
        backendCpu: number
      }
      const measure = async (port: number): Promise<Run> => {
        const g0 = cpuSeconds(gatewayPid)
        const b0 = cpuSeconds(backendPid)
        const r = await load(port, s, creds, concurrency)
        const seconds = SECONDS + WARMUP
        const requests = Math.max(1, r.rps * seconds)
        return {
          ...r,
          gatewayCpu: (cpuSeconds(gatewayPid) - g0) / requests,
          backendCpu: (cpuSeconds(backendPid) - b0) / requests,
        }
      }
      const direct: Run[] = []
      const through: Run[] = []
      const relayed: Run[] = []
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which target goes first, so a drift in the machine's load favours neither.
        if (r % 2 === 0) {
          direct.push(await measure(backendPort))
          through.push(await measure(gatewayPort))
          relayed.push(await measure(barePort))
        } else {
          relayed.push(await measure(barePort))
          through.push(await measure(gatewayPort))
          direct.push(await measure(backendPort))
        }
      }
      const ratios = direct.map((d, i) => (through[i] as Run).rps / d.rps)
      const bareRatios = direct.map((d, i) => (relayed[i] as Run).rps / d.rps)
      const ofBare = relayed.map((b, i) => (through[i] as Run).rps / b.rps)
      const added = direct.map((d, i) => (through[i] as Run).p50 - d.p50)
      const errors = [...direct, ...through].reduce((n, x) => n + x.errors, 0)
      const us = (x: number) => Math.round(x * 1e6)
      rows.push({
        scenario: s.name,
        concurrency,
        directRps: Math.round(median(direct.map((x) => x.rps))),
        gatewayRps: Math.round(median(through.map((x) => x.rps))),
        ratio: Number(median(ratios).toFixed(3)),
        ratioMinMax: `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
        // A relay that does none of the gateway's work (bare-proxy.ts), over direct: what proxying alone costs.
        bareRatio: Number(median(bareRatios).toFixed(3)),
        // The gateway over that relay: what its own work (auth, policy, audit, re-signing) costs.
        gatewayOfBare: Number(median(ofBare).toFixed(3)),
        bareAddedP50ms: Number(
          median(direct.map((d, i) => (relayed[i] as Run).p50 - d.p50)).toFixed(3),
        ),
        directP50ms: Number(median(direct.map((x) => x.p50)).toFixed(3)),
        addedP50ms: Number(median(added).toFixed(3)),
        addedMinMax: `${Math.min(...added).toFixed(2)}–${Math.max(...added).toFixed(2)}`,
        gatewayCpuUs: us(median(through.map((x) => x.gatewayCpu))),
        backendCpuUs: us(median(direct.map((x) => x.backendCpu))),
        // Gateway CPU over the backend's, both per request of the same run: the steadiest figure here.
        gwPerBackendCpu: Number(median(through.map((x) => x.gatewayCpu / x.backendCpu)).toFixed(2)),
        errors,
      })
    }
  }
  const upload = await bigUpload(gatewayPort, gw.child.pid as number, creds, UPLOAD_MIB)
  const env = {
    cpus: availableParallelism(),
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
  }
  if (values.json) console.log(JSON.stringify({ env, rows, upload }, null, 2))
  else {
    console.log(
      `bench:gateway  (${env.cpus} CPUs, load ${env.loadavg.join(' ')}, node ${env.node}; ${ROUNDS} rounds × ${SECONDS}s, medians; CPU µs per request: gateway process, backend process called directly)`,
    )
    console.table(rows)
    console.log(
      `1 GiB-class upload: ${upload.mib} MiB aws-chunked in ${upload.seconds.toFixed(1)} s (${upload.mibPerSecond.toFixed(0)} MiB/s), HTTP ${upload.status}; ` +
        `gateway RSS ${upload.rssBeforeMiB.toFixed(0)} MiB before, ${upload.rssPeakMiB.toFixed(0)} MiB peak (+${upload.growthMiB.toFixed(1)} MiB)`,
    )
  }
} finally {
  for (const c of children) c.kill('SIGTERM')
}
