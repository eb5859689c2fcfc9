/**
 * Database proxy benchmark: pgbench through `podtrust dbproxy` (TLS from podtrust's CA, IAM token as the
 * password, rds-db:connect authorized and audited per connection) versus pgbench straight to the same
 * PostgreSQL (plain TCP, and over TLS too when the server has `ssl = on`), in the same run, back to back in
 * each round (order alternating) so machine load hits all alike, after an untimed warm-up:
 *   1. select-only (-S), 8 clients, connections kept (goal: proxy ≥ 85 % of direct TPS);
 *   2. select-only with a new connection per transaction (-C), which measures TLS + token verification +
 *      authorization + audit + backend start-up per connection (goal: ≥ 50 %).
 * The fair baseline pays for TLS as the proxy's clients do: by default the bench starts a throw-away
 * PostgreSQL cluster (initdb) with ssl = on and a certificate from podtrust's CA, so direct runs use
 * verify-full with the same root; `--server shared` uses PODTRUST_TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test) and a TLS baseline only if that server has ssl = on.
 * Like with like: every path's client is the same pgbench on the same host, dialling 127.0.0.1 over TCP. The
 * proxy's own link to PostgreSQL is plain TCP on 127.0.0.1 by default, as direct runs connect;
 * `--backend-link unix` puts that link on the server's Unix socket instead, as a proxy running beside its
 * database may (the header line says which link a run used).
 * On a machine whose cores are all busy, throughput follows CPU per transaction: besides throughput, each run
 * reports the CPU µs per transaction of pgbench, PostgreSQL (postmaster and backends) and the proxy, and
 * the machine's busy share (bench/dbproxy/cpu.ts), so a ratio can be read as where the CPU went.
 * Usage: npm run bench:dbproxy [-- --seconds 10 --rounds 3 --warmup 3 --clients 8 --only kept|new
 *        --server own|shared --direct-sslrootcert FILE --backend-link tcp|unix --backend-socket-dir DIR
 *        --json]
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { machineTicks, parentOf, reapedChildrenCpuUs, treeCpuUs } from './cpu.ts'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { newResourceId } from '../../src/dbproxy/instances.ts'
import { createDbInstanceRepo } from '../../src/dbproxy/repo.ts'
import { startDbProxy } from '../../src/dbproxy/server.ts'
import { startServer } from '../../src/server/start.ts'
import { caDir, issueServerCertificate, loadOrCreateCa } from '../../src/certs/ca.ts'
import {
  type PgCluster,
  pgClusterUnavailable,
  startPgCluster,
} from '../../test/e2e/helpers/pg-cluster.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    /** Untimed pgbench seconds per path before the rounds (JIT and caches warm). */
    warmup: { type: 'string', default: '3' },
    clients: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    /** Run one workload only: 'kept' (-S) or 'new' (-C) (default both). */
    only: { type: 'string' },
    /**
     * 'own' (default where initdb is available): a throw-away cluster with ssl = on and a certificate from
     * podtrust's CA, so direct runs can use verify-full exactly as the proxy's clients do; 'shared': the
     * server at PODTRUST_TEST_POSTGRES_URL.
     */
    server: { type: 'string' },
    /**
     * How the proxy reaches PostgreSQL: 'tcp' (default; plain TCP to 127.0.0.1, as direct runs connect) or
     * 'unix' (the server's Unix-domain socket, as a proxy beside its database may; own cluster, or give
     * --backend-socket-dir with --server shared).
     */
    'backend-link': { type: 'string', default: 'tcp' },
    'backend-socket-dir': { type: 'string' },
    /** With --server shared: the root certificate to verify it with (direct TLS runs use verify-full). */
    'direct-sslrootcert': { type: 'string' },
  },
})
const SECONDS = Number(values.seconds)
const ROUNDS = Number(values.rounds)
const WARMUP = Number(values.warmup)
const CLIENTS = Number(values.clients)
const ACCOUNT = '111122223333'
const REGION = 'us-east-1'
const BACKEND_LINK = values['backend-link']
if (BACKEND_LINK !== 'tcp' && BACKEND_LINK !== 'unix')
  throw new Error('--backend-link: tcp or unix')
const OWN_SERVER =
  values.server === 'own' || (values.server === undefined && pgClusterUnavailable() === false)

/** One pgbench run: its throughput and the number of transactions it counted. */
interface Run {
  tps: number
  transactions: number
}

function pgbench(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', args, { env: { PATH: process.env['PATH'] ?? '', ...env } })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const tps = args.includes('-i') ? '0' : /tps = ([\d.]+)/.exec(out)?.[1]
      const transactions = /actually processed: (\d+)/.exec(out)?.[1] ?? '0'
      if (code !== 0 || tps === undefined)
        reject(new Error(`pgbench failed (${code}): ${out.slice(-800)}`))
      else resolve({ tps: Number(tps), transactions: Number(transactions) })
    })
  })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

type Path = 'direct' | 'directTls' | 'proxy'
type Samples = Record<Path | 'proxyCpu', number[]> & {
  /** Per run: CPU µs per transaction of pgbench and PostgreSQL, and the machine's busy share. */
  cpu: Record<Path, { pgbench: number[]; postgres: number[]; busy: number[] }>
}
interface CpuSummary {
  pgbenchUsPerTx: number
  postgresUsPerTx: number
  proxyUsPerTx?: number
  machineBusy: number
}

function emptySamples(): Samples {
  const cpu = () => ({ pgbench: [], postgres: [], busy: [] })
  return {
    direct: [],
    directTls: [],
    proxy: [],
    proxyCpu: [],
    cpu: { direct: cpu(), directTls: cpu(), proxy: cpu() },
  }
}

/** CPU used so far (µs) by this process (the proxy), pgbench runs, PostgreSQL, and the machine's ticks. */
function snapshot(postmaster: number | undefined) {
  const own = process.cpuUsage()
  return {
    proxy: own.user + own.system,
    pgbench: reapedChildrenCpuUs(),
    postgres: postmaster === undefined ? undefined : treeCpuUs(postmaster),
    machine: machineTicks(),
  }
}
interface Ratio {
  median: number
  min: number
  max: number
}

/** The per-round ratios proxy / baseline: their median and range. */
function ratios(proxy: number[], baseline: number[]): Ratio {
  const each = proxy.map((p, i) => p / (baseline[i] ?? NaN))
  return { median: median(each), min: Math.min(...each), max: Math.max(...each) }
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString('hex')
  const database = `podtrust_bench_${suffix}`
  const role = `bench_${suffix}`
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-db-'))
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accountId: ACCOUNT,
    region: REGION,
    logLevel: 'silent',
  })
  const proxy = await startDbProxy(server.ctx, { port: 0, drainMs: 1000 })
  let cluster: PgCluster | undefined
  let admin: pg.Client | undefined
  try {
    let url = new URL(
      process.env['PODTRUST_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    )
    let directRootCert = values['direct-sslrootcert']
    let socketDir = values['backend-socket-dir']
    if (OWN_SERVER) {
      const ca = await loadOrCreateCa(caDir(dir), new Date())
      cluster = await startPgCluster({
        hba: ['host all all 127.0.0.1/32 trust', 'local all all trust'],
        cert: await issueServerCertificate(ca, {
          dnsNames: ['localhost'],
          ipAddresses: ['127.0.0.1'],
          now: new Date(),
        }),
      })
      url = new URL(`postgres://postgres@127.0.0.1:${cluster.port}/postgres`)
      directRootCert = proxy.caFile
      socketDir = cluster.socketDir
    }
    if (BACKEND_LINK === 'unix' && socketDir === undefined)
      throw new Error('--backend-link unix with --server shared needs --backend-socket-dir')
    const pgHost = url.hostname
    const pgPort = Number(url.port || 5432)
    admin = new pg.Client({ connectionString: url.toString() })
    await admin.connect()
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    await admin.query(`CREATE DATABASE ${database} OWNER ${role}`)
    const { ctx } = server
    const now = new Date()
    const resourceId = newResourceId()
    await createDbInstanceRepo(ctx.db).put(
      {
        name: 'bench',
        resourceId,
        engine: 'postgres',
        endpoint: `127.0.0.1:${proxy.port}`,
        backend:
          BACKEND_LINK === 'unix'
            ? `postgres://${role}@${encodeURIComponent(socketDir as string)}:${pgPort}/${database}`
            : `postgres://${role}@${pgHost}:${pgPort}/${database}`,
        iamUsers: [role],
      },
      now,
    )
    const iam = createIamRepo(ctx.db)
    await iam.ensureAccount(ACCOUNT, now)
    const rnd = (n: number) => randomBytes(n)
    await iam.insertUser({
      accountId: ACCOUNT,
      userName: 'bench',
      userId: newUniqueId('AIDA', ACCOUNT, rnd),
      arn: `arn:aws:iam::${ACCOUNT}:user/bench`,
      path: '/',
      createDate: now,
      tags: [],
    })
    await iam.putInlinePolicy(
      ACCOUNT,
      'user',
      'bench',
      'connect',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'rds-db:connect',
            Resource: `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${resourceId}/${role}`,
          },
        ],
      }),
      now,
    )
    const key = {
      accessKeyId: newUniqueId('AKIA', ACCOUNT, rnd, 16),
      secretAccessKey: newSecretAccessKey(rnd),
    }
    await iam.insertAccessKey({
      ...key,
      status: 'Active',
      accountId: ACCOUNT,
      userName: 'bench',
      createDate: now,
    })
    const token = await new Signer({
      hostname: '127.0.0.1',
      port: proxy.port,
      username: role,
      region: REGION,
      credentials: key,
    }).getAuthToken()

    await pgbench(
      ['-i', '-s', '1', '-q', '-h', pgHost, '-p', String(pgPort), '-U', role, database],
      {},
    )
    const direct = ['-h', pgHost, '-p', String(pgPort), '-U', role, database]
    const viaProxy = ['-h', '127.0.0.1', '-p', String(proxy.port), '-U', role, database]
    const proxyEnv = {
      PGPASSWORD: token,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: proxy.caFile as string,
    }
    // The fair baseline pays for TLS too: when the server speaks TLS (`SHOW ssl`), direct runs go both in
    // plain TCP and over TLS (verify-full with --direct-sslrootcert, else require), and both ratios are given.
    const serverTls = (await admin.query<{ ssl: string }>('SHOW ssl')).rows[0]?.ssl === 'on'
    const directTlsEnv: Record<string, string> =
      directRootCert === undefined
        ? { PGSSLMODE: 'require' }
        : { PGSSLMODE: 'verify-full', PGSSLROOTCERT: directRootCert }
    const paths: Array<{ name: Path; args: string[]; env: Record<string, string> }> = [
      { name: 'direct', args: direct, env: { PGSSLMODE: 'disable' } },
      ...(serverTls ? [{ name: 'directTls' as const, args: direct, env: directTlsEnv }] : []),
      { name: 'proxy', args: viaProxy, env: proxyEnv },
    ]
    const workloads = (
      [
        { name: 'kept', extra: [] },
        { name: 'new', extra: ['-C'] },
      ] as const
    ).filter((w) => values.only === undefined || values.only === w.name)
    const common = ['-n', '-S', '-c', String(CLIENTS), '-j', '2']
    const samples = { kept: emptySamples(), new: emptySamples() }
    // The postmaster: the parent of this session's backend (when the server runs on this machine).
    const backendPid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
      .rows[0]?.pid
    const postmaster = backendPid === undefined ? undefined : parentOf(backendPid)
    // Warm-up, untimed: the proxy's JIT compiles its hot paths and PostgreSQL fills its caches, so the first
    // measured round is not a cold start for one side only.
    if (WARMUP > 0)
      for (const w of workloads)
        for (const p of paths)
          await pgbench([...common, ...w.extra, '-T', String(WARMUP), ...p.args], p.env)
    for (let r = 0; r < ROUNDS; r++) {
      for (const w of workloads) {
        // Alternate the order each round so a load swing does not always favour the same path.
        for (const p of r % 2 === 0 ? paths : [...paths].reverse()) {
          // CPU time per transaction (µs) of each party: load-independent figures on a shared machine.
          const before = snapshot(postmaster)
          const run = await pgbench(
            [...common, ...w.extra, '-T', String(SECONDS), ...p.args],
            p.env,
          )
          // Backends exit when pgbench disconnects; let the postmaster reap them before reading its children.
          await new Promise((r) => setTimeout(r, 200))
          const after = snapshot(postmaster)
          const s = samples[w.name]
          s[p.name].push(run.tps)
          const perTx = (a: number | undefined, b: number | undefined) =>
            a === undefined || b === undefined ? NaN : (b - a) / run.transactions
          s.cpu[p.name].pgbench.push(perTx(before.pgbench, after.pgbench))
          s.cpu[p.name].postgres.push(perTx(before.postgres, after.postgres))
          s.cpu[p.name].busy.push(
            before.machine === undefined || after.machine === undefined
              ? NaN
              : (after.machine.busy - before.machine.busy) /
                  (after.machine.total - before.machine.total),
          )
          if (p.name === 'proxy') s.proxyCpu.push(perTx(before.proxy, after.proxy))
        }
      }
    }
    const summary = (s: Samples, goal: number) => ({
      directTps: median(s.direct),
      ...(serverTls ? { directTlsTps: median(s.directTls) } : {}),
      proxyTps: median(s.proxy),
      /** Median and range of the per-round ratios (each round's runs are back to back). */
      ratio: ratios(s.proxy, s.direct),
      ...(serverTls ? { ratioTls: ratios(s.proxy, s.directTls) } : {}),
      goal,
      proxyCpuUsPerTx: median(s.proxyCpu),
      /** Per path: medians of CPU µs per transaction of pgbench and PostgreSQL, and the machine's busy share. */
      cpu: Object.fromEntries(
        paths.map((p) => [
          p.name,
          {
            pgbenchUsPerTx: median(s.cpu[p.name].pgbench),
            postgresUsPerTx: median(s.cpu[p.name].postgres),
            ...(p.name === 'proxy' ? { proxyUsPerTx: median(s.proxyCpu) } : {}),
            machineBusy: median(s.cpu[p.name].busy),
          },
        ]),
      ) as Partial<Record<Path, CpuSummary>>,
    })
    const result = {
      clients: CLIENTS,
      seconds: SECONDS,
      rounds: ROUNDS,
      server: OWN_SERVER ? 'own cluster (ssl = on, certificate from podtrust CA)' : url.host,
      proxyToBackend: BACKEND_LINK === 'unix' ? 'Unix socket' : 'plain TCP',
      directTls: serverTls ? directTlsEnv['PGSSLMODE'] : 'unsupported (SHOW ssl = off)',
      selectOnly: summary(samples.kept, 0.85),
      newConnectionPerTransaction: summary(samples.new, 0.5),
      samples,
    }
    if (values.json) console.log(JSON.stringify(result, null, 2))
    else {
      const pct = (x: Ratio) =>
        `${(x.median * 100).toFixed(1)} % [${(x.min * 100).toFixed(1)}–${(x.max * 100).toFixed(1)}]`
      const line = (name: string, x: ReturnType<typeof summary>) =>
        `${name.padEnd(36)} direct ${x.directTps.toFixed(0).padStart(6)} tps` +
        (x.directTlsTps === undefined
          ? ''
          : `  direct TLS ${x.directTlsTps.toFixed(0).padStart(6)} tps`) +
        `  proxy ${x.proxyTps.toFixed(0).padStart(6)} tps  vs plain ${pct(x.ratio)}` +
        (x.ratioTls === undefined ? '' : `  vs TLS ${pct(x.ratioTls)}`) +
        `  (goal ≥ ${x.goal * 100} %)  proxy CPU ${x.proxyCpuUsPerTx.toFixed(0)} µs/tx`
      console.log(
        `pgbench select-only, ${CLIENTS} clients, ${SECONDS} s × ${ROUNDS} rounds (medians, [min–max] of per-round ratios); ` +
          `server: ${result.server}; direct over TLS: ${result.directTls}; proxy → PostgreSQL: ${result.proxyToBackend}`,
      )
      const cpuLine = (x: ReturnType<typeof summary>) =>
        '    CPU µs/tx (pgbench + PostgreSQL [+ proxy] = total; machine busy): ' +
        Object.entries(x.cpu)
          .map(([name, c]) => {
            const parts = [c.pgbenchUsPerTx, c.postgresUsPerTx, c.proxyUsPerTx ?? 0]
            const total = parts.reduce((a, b) => a + b, 0)
            return (
              `${name} ${c.pgbenchUsPerTx.toFixed(0)} + ${c.postgresUsPerTx.toFixed(0)}` +
              (c.proxyUsPerTx === undefined ? '' : ` + ${c.proxyUsPerTx.toFixed(0)}`) +
              ` = ${total.toFixed(0)} (${(c.machineBusy * 100).toFixed(0)} %)`
            )
          })
          .join('; ')
      if (samples.kept.proxy.length > 0) {
        console.log(line('connections kept (-S)', result.selectOnly))
        console.log(cpuLine(result.selectOnly))
      }
      if (samples.new.proxy.length > 0) {
        console.log(line('new connection per transaction (-C)', result.newConnectionPerTransaction))
        console.log(cpuLine(result.newConnectionPerTransaction))
      }
    }
  } finally {
    await proxy.close()
    await server.close()
    if (admin !== undefined && cluster === undefined) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    }
    await admin?.end().catch(() => {})
    cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
