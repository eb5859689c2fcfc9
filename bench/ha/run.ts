/**
 * `npm run bench:ha`: what one replica does on PostgreSQL against the embedded SQLite store (the baseline,
 * measured in the same run), and what two PostgreSQL replicas on one database do together, for the two
 * hot paths: AssumeRoleWithWebIdentity (RS256 verification, trust policy, sealed credentials, one durable
 * audit commit) and a SigV4-signed GetCallerIdentity (key lookup, signature, audit). Closed loop,
 * concurrency 16, BENCH_SECONDS measured per run (default 4) after 1 s of warm-up. Prints requests/s, p50,
 * p99 and the ratios. Needs PostgreSQL at $PODTRUST_TEST_POSTGRES_URL (a fresh schema, dropped after).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { signRequest } from '../../src/aws/sigv4/sign.ts'

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4)
const CONCURRENCY = 16
const PG = process.env['PODTRUST_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test'
const bin = fileURLToPath(new URL('../../bin/podtrust.js', import.meta.url))

interface Replica {
  child: ChildProcess
  url: string
  out: string
}

async function start(args: string[]): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [bin, 'up', '--port', '0', '--no-tls', '--log-level', 'error', '--rate-limit', '0', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  while (!/ready on (\S+)[\s\S]*\n\n/.test(out)) {
    if (child.exitCode !== null) throw new Error(`up failed:\n${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, url: /ready on (\S+)/.exec(out)![1]!, out }
}

function env(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^export ([A-Z_]+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]),
  )
}

async function load(
  urls: string[],
  make: (url: string) => RequestInit,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const lat: number[] = []
  let errors = 0
  let measuring = false
  let stop = false
  let i = 0
  const worker = async () => {
    while (!stop) {
      const url = urls[i++ % urls.length]!
      const t0 = performance.now()
      const res = await fetch(url, make(url))
      await res.arrayBuffer()
      if (res.status !== 200) errors++
      if (measuring) lat.push(performance.now() - t0)
    }
  }
  const workers = Array.from({ length: CONCURRENCY }, worker)
  await new Promise((r) => setTimeout(r, 1000))
  measuring = true
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  measuring = false
  stop = true
  await Promise.all(workers)
  lat.sort((a, b) => a - b)
  return {
    rps: lat.length / SECONDS,
    p50: lat[Math.floor(lat.length * 0.5)] ?? 0,
    p99: lat[Math.floor(lat.length * 0.99)] ?? 0,
    errors,
  }
}

const schema = `bench_${randomBytes(4).toString('hex')}`
const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'podtrust-bench-ha-')))
const replicas: Replica[] = []
try {
  const sqlite = await start(['--demo', '--data-dir', dirs[0]!])
  replicas.push(sqlite)
  const store = `${PG}?schema=${schema}`
  const p1 = await start([
    '--demo',
    '--data-dir',
    dirs[1]!,
    '--store',
    store,
    '--issuer-url',
    'https://issuer.bench.test',
  ])
  const p2 = await start([
    '--data-dir',
    dirs[2]!,
    '--store',
    store,
    '--issuer-url',
    'https://issuer.bench.test',
  ])
  replicas.push(p1, p2)
  const scenario = (r: Replica) => {
    const e = env(r.out)
    const token = readFileSync(e['AWS_WEB_IDENTITY_TOKEN_FILE']!, 'utf8')
    const arwwi = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: e['AWS_ROLE_ARN']!,
      RoleSessionName: 'bench',
      WebIdentityToken: token,
    }).toString()
    const creds = {
      accessKeyId: e['AWS_ACCESS_KEY_ID']!,
      secretAccessKey: e['AWS_SECRET_ACCESS_KEY']!,
    }
    const gci = 'Action=GetCallerIdentity&Version=2011-06-15'
    return {
      arwwi: (): RequestInit => ({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: arwwi,
      }),
      gci: (url: string): RequestInit => ({
        method: 'POST',
        body: gci,
        headers: signRequest({
          method: 'POST',
          url,
          body: gci,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          service: 'sts',
          region: 'us-east-1',
          credentials: creds,
          now: new Date(),
        }),
      }),
    }
  }
  const s = scenario(sqlite)
  const p = scenario(p1)
  const rows: [string, Awaited<ReturnType<typeof load>>][] = []
  rows.push(['ARWWI  sqlite, 1 replica (baseline)', await load([sqlite.url], s.arwwi)])
  rows.push(['ARWWI  postgres, 1 replica', await load([p1.url], p.arwwi)])
  rows.push(['ARWWI  postgres, 2 replicas', await load([p1.url, p2.url], p.arwwi)])
  rows.push(['GetCallerIdentity sqlite, 1 replica (baseline)', await load([sqlite.url], s.gci)])
  rows.push(['GetCallerIdentity postgres, 1 replica', await load([p1.url], p.gci)])
  rows.push(['GetCallerIdentity postgres, 2 replicas', await load([p1.url, p2.url], p.gci)])
  for (const [name, r] of rows)
    console.log(
      `${name.padEnd(48)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}`,
    )
  const ratio = (a: number, b: number) => (rows[a]![1].rps / rows[b]![1].rps).toFixed(2)
  console.log(
    `ratios: ARWWI postgres/sqlite ${ratio(1, 0)}, 2 replicas/1 ${ratio(2, 1)}; GetCallerIdentity postgres/sqlite ${ratio(4, 3)}, 2 replicas/1 ${ratio(5, 4)}`,
  )
} finally {
  for (const r of replicas) r.child.kill('SIGKILL')
  const c = new pg.Client({ connectionString: PG })
  await c.connect()
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await c.end()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
