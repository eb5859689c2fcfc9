/**
 * `npm run bench:sts`: AssumeRoleWithWebIdentity requests/s and p50/p99 latency at concurrency 1 and 32 for
 * podtrust (real RS256 verification, trust-policy evaluation, sealed credentials, durable audit), beside
 * (a) the ceiling: a trivial node:http handler in its own process, and (b) moto_server doing the same call
 * (it validates nothing), and (c) the floor: a handler doing only the work no STS can skip (floor.ts),
 * the highest ratio one Node process reaches here before podtrust's own work. One closed-loop load
 * generator drives them all over keep-alive connections and
 * reconnects when a server closes them (moto answers `Connection: close`). Prints the ratios.
 * BENCH_SECONDS sets the measured seconds per run (default 4; 1 s warm-up each); the whole run stays under a minute.
 * BENCH_STORE picks podtrust's store and audit durability (`sqlite` = FULL, `sqlite-normal`, `postgres://…`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4)
const WARMUP_MS = 1000
const CONCURRENCY = [1, 32]
const here = fileURLToPath(new URL('.', import.meta.url))

interface Target {
  name: string
  port: number
  body: string
  child: ChildProcess
  /** podtrust's store and audit durability (BENCH_STORE, see target.ts). */
  store?: string
}

interface RunResult {
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
}

function startTarget(name: string, args: string[]): Promise<Target> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${here}target.ts`, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 30_000)
    lines.once('line', (line) => {
      clearTimeout(timer)
      const { port, body, store } = JSON.parse(line) as {
        port: number | string
        body: string
        store?: string
      }
      resolve({ name, port: Number(port), body, child, ...(store === undefined ? {} : { store }) })
    })
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

async function startMoto(body: string): Promise<Target | undefined> {
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  const failed = new Promise<undefined>((resolve) => child.once('error', () => resolve(undefined)))
  for (let i = 0; i < 100; i++) {
    const ok = await Promise.race([
      fetch(`http://127.0.0.1:${port}/moto-api/`).then(
        () => true,
        () => false,
      ),
      failed.then(() => undefined),
    ])
    if (ok === undefined) return undefined
    if (ok) return { name: 'moto_server', port, body, child }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill()
  return undefined
}

function once(agent: Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        },
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

/** Closed loop: `concurrency` workers, each sending the next request when the previous answer arrived. */
async function load(target: Target, concurrency: number): Promise<RunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  let measuring = false
  const start = Date.now()
  const stopAt = start + WARMUP_MS + SECONDS * 1000
  let measureStart = 0
  setTimeout(() => {
    measuring = true
    measureStart = performance.now()
  }, WARMUP_MS)
  async function worker(): Promise<void> {
    while (Date.now() < stopAt) {
      const t0 = performance.now()
      try {
        const status = await once(agent, target.port, target.body)
        if (measuring) {
          latencies.push(performance.now() - t0)
          if (status < 200 || status >= 300) non2xx++
        }
      } catch {
        if (measuring) errors++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()))
  const elapsed = (performance.now() - measureStart) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  return { rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), errors, non2xx }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

const targets: Target[] = []
try {
  const podtrust = await startTarget('podtrust', ['podtrust'])
  targets.push(podtrust)
  targets.push(await startTarget('node:http ceiling', ['ceiling']))
  targets.push(await startTarget('floor (crypto only)', ['floor']))
  const moto = await startMoto(podtrust.body)
  if (moto === undefined)
    console.log('moto_server not found or did not start: its column is skipped')
  else targets.push(moto)

  const results = new Map<string, RunResult>()
  console.log(
    `AssumeRoleWithWebIdentity, ${SECONDS}s per run after ${WARMUP_MS / 1000}s warm-up, closed loop, podtrust store: ${podtrust.store ?? 'sqlite'}`,
  )
  console.log('target               conc      req/s    p50 ms    p99 ms  errors  non-2xx')
  for (const c of CONCURRENCY) {
    for (const t of targets) {
      const r = await load(t, c)
      results.set(`${t.name}@${c}`, r)
      console.log(
        `${t.name.padEnd(20)} ${String(c).padStart(4)} ${fmt(r.rps).padStart(10)} ${fmt(r.p50, 2).padStart(9)} ${fmt(r.p99, 2).padStart(9)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(8)}`,
      )
    }
  }
  for (const c of CONCURRENCY) {
    const p = results.get(`podtrust@${c}`)
    const ceiling = results.get(`node:http ceiling@${c}`)
    const moto = results.get(`moto_server@${c}`)
    if (p === undefined) continue
    const parts = [`c=${c}: podtrust / ceiling = ${fmt((100 * p.rps) / (ceiling?.rps ?? NaN))}%`]
    if (moto !== undefined) parts.push(`podtrust / moto = ${fmt(p.rps / moto.rps, 2)}x`)
    const floor = results.get(`floor (crypto only)@${c}`)
    if (floor !== undefined)
      parts.push(
        `floor / ceiling = ${fmt((100 * floor.rps) / (ceiling?.rps ?? NaN))}%, podtrust / floor = ${fmt((100 * p.rps) / floor.rps)}%`,
      )
    console.log(parts.join(', '))
  }
  const p32 = results.get('podtrust@32')
  if (p32 !== undefined && p32.non2xx + p32.errors > 0)
    console.log('WARNING: podtrust answered errors under load')
} finally {
  for (const t of targets) t.child.kill('SIGTERM')
}
