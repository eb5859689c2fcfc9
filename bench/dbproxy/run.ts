/**
 * Database proxy benchmark: pgbench through `podtrust dbproxy` (TLS from podtrust's CA, IAM token as the
 * password, rds-db:connect authorized and audited per connection) versus pgbench straight to the same
 * PostgreSQL (plain TCP, trust), in the same run, alternating rounds so machine load hits both alike:
 *   1. select-only (-S), 8 clients, connections kept (goal: proxy ≥ 85 % of direct TPS);
 *   2. select-only with a new connection per transaction (-C), which measures TLS + token verification +
 *      authorization + audit + backend start-up per connection (goal: ≥ 50 %).
 * Needs pgbench and PODTRUST_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
 * Usage: npm run bench:dbproxy [-- --seconds 10 --rounds 3 --clients 8 --json]
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Signer } from '@aws-sdk/rds-signer'
import pg from 'pg'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { newResourceId } from '../../src/dbproxy/instances.ts'
import { createDbInstanceRepo } from '../../src/dbproxy/repo.ts'
import { startDbProxy } from '../../src/dbproxy/server.ts'
import { startServer } from '../../src/server/start.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    /** Profile one workload: 'kept', 'new', or 'proxy-new' (only the proxy's -C run) (default both). */
    only: { type: 'string' },
  },
})
const SECONDS = Number(values.seconds)
const ROUNDS = Number(values.rounds)
const CLIENTS = Number(values.clients)
const ACCOUNT = '111122223333'
const REGION = 'us-east-1'
const url = new URL(
  process.env['PODTRUST_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
)
const pgHost = url.hostname
const pgPort = Number(url.port || 5432)

function pgbench(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', args, { env: { PATH: process.env['PATH'] ?? '', ...env } })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const tps = args.includes('-i') ? '0' : /tps = ([\d.]+)/.exec(out)?.[1]
      if (code !== 0 || tps === undefined)
        reject(new Error(`pgbench failed (${code}): ${out.slice(-800)}`))
      else resolve(Number(tps))
    })
  })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString('hex')
  const database = `podtrust_bench_${suffix}`
  const role = `bench_${suffix}`
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  await admin.query(`CREATE ROLE ${role} LOGIN`)
  await admin.query(`CREATE DATABASE ${database} OWNER ${role}`)
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-db-'))
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accountId: ACCOUNT,
    region: REGION,
    logLevel: 'silent',
  })
  const proxy = await startDbProxy(server.ctx, { port: 0, drainMs: 1000 })
  try {
    const { ctx } = server
    const now = new Date()
    const resourceId = newResourceId()
    await createDbInstanceRepo(ctx.db).put(
      {
        name: 'bench',
        resourceId,
        engine: 'postgres',
        endpoint: `127.0.0.1:${proxy.port}`,
        backend: `postgres://${role}@${pgHost}:${pgPort}/${database}`,
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
    const common = ['-n', '-S', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)]
    const runs = {
      direct: [] as number[],
      proxy: [] as number[],
      directC: [] as number[],
      proxyC: [] as number[],
    }
    const cpu = { proxy: [] as number[], proxyC: [] as number[] }
    /** The proxy's CPU time per transaction (µs): a load-independent figure on a shared machine. */
    const measured = async (args: string[], into: number[], samples: number[]) => {
      const before = process.cpuUsage()
      const tps = await pgbench(args, proxyEnv)
      const used = process.cpuUsage(before)
      into.push((used.user + used.system) / (tps * SECONDS))
      samples.push(tps)
    }
    for (let r = 0; r < ROUNDS; r++) {
      if (values.only !== 'new') {
        runs.direct.push(await pgbench([...common, ...direct], {}))
        await measured([...common, ...viaProxy], cpu.proxy, runs.proxy)
      }
      if (values.only !== 'kept') {
        if (values.only !== 'proxy-new')
          runs.directC.push(await pgbench([...common, '-C', ...direct], {}))
        await measured([...common, '-C', ...viaProxy], cpu.proxyC, runs.proxyC)
      }
    }
    const result = {
      clients: CLIENTS,
      seconds: SECONDS,
      rounds: ROUNDS,
      selectOnly: {
        directTps: median(runs.direct),
        proxyTps: median(runs.proxy),
        ratio: median(runs.proxy) / median(runs.direct),
        goal: 0.85,
        proxyCpuUsPerTx: median(cpu.proxy),
      },
      newConnectionPerTransaction: {
        directTps: median(runs.directC),
        proxyTps: median(runs.proxyC),
        ratio: median(runs.proxyC) / median(runs.directC),
        goal: 0.5,
        proxyCpuUsPerTx: median(cpu.proxyC),
      },
      samples: runs,
    }
    if (values.json) console.log(JSON.stringify(result, null, 2))
    else {
      const line = (
        name: string,
        x: {
          directTps: number
          proxyTps: number
          ratio: number
          goal: number
          proxyCpuUsPerTx: number
        },
      ) =>
        `${name.padEnd(36)} direct ${x.directTps.toFixed(0).padStart(7)} tps   proxy ${x.proxyTps.toFixed(0).padStart(7)} tps   ${(x.ratio * 100).toFixed(1)} % (goal ≥ ${x.goal * 100} %)   proxy CPU ${x.proxyCpuUsPerTx.toFixed(0)} µs/tx`
      console.log(
        `pgbench select-only, ${CLIENTS} clients, ${SECONDS} s × ${ROUNDS} rounds (medians)`,
      )
      console.log(line('connections kept (-S)', result.selectOnly))
      console.log(line('new connection per transaction (-C)', result.newConnectionPerTransaction))
    }
  } finally {
    await proxy.close()
    await server.close()
    rmSync(dir, { recursive: true, force: true })
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    await admin.end()
  }
}

await main()
