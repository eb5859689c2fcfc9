/**
 * Pod Identity agent benchmark: credential requests/s and latency percentiles for
 *   1. a trivial node:http handler answering a fixed JSON body (the baseline, same machine, same run),
 *   2. the agent with cached tokens (what every SDK refresh after the first costs),
 *   3. the agent with first-time tokens: the full EKS Auth path (token verification against the cluster
 *      issuer, association lookup, trust-policy authorization, session creation, durable audit event),
 *      in-process as in `podtrust up --agent-port`,
 *   4. the same over HTTP with SigV4 (`podtrust agent --server URL`, the in-cluster form).
 * Usage: npm run bench:agent [-- --seconds 4 --concurrency 32 --first 1500]   (≈ 45 s with the defaults)
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { Worker } from 'node:worker_threads'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startInProcessAgent } from '../../src/server/in-process-agent.ts'
import { type RunningAgent, startAgent } from '../../src/agent/server.ts'
import { remoteSource } from '../../src/agent/source.ts'
import { putCluster } from '../../src/aws/eks/config.ts'
import { createAssociation } from '../../src/aws/eks/service.ts'
import { eksDepsFromContext } from '../../src/aws/eks/deps.ts'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { startServer } from '../../src/server/start.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    first: { type: 'string', default: '1500' },
    json: { type: 'boolean', default: false },
  },
})
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const FIRST = Number(values.first)
const ACCOUNT = '111122223333'

interface Result {
  name: string
  requests: number
  errors: number
  rps: number
  p50: number
  p99: number
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
}

/** Drives `url` from a worker thread (so the client does not share the servers' event loop). */
function load(
  name: string,
  url: string,
  tokens: string[],
  mode: 'duration' | 'once',
  seconds = SECONDS,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load.mjs', import.meta.url), {
      workerData: { url, tokens, mode, seconds, concurrency: CONCURRENCY },
    })
    worker.once('error', reject)
    worker.once(
      'message',
      (m: { count: number; errors: number; elapsed: number; latencies: number[] }) => {
        void worker.terminate()
        resolve({
          name,
          requests: m.count,
          errors: m.errors,
          rps: m.count / m.elapsed,
          p50: pct(m.latencies, 50),
          p99: pct(m.latencies, 99),
        })
      },
    )
  })
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-agent-'))
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accountId: ACCOUNT,
    logLevel: 'silent',
  })
  const { ctx } = server
  const iam = createIamRepo(ctx.db)
  const now = new Date()
  const rnd = (n: number) => randomBytes(n)
  await iam.ensureAccount(ACCOUNT, now)
  await iam.insertRole({
    accountId: ACCOUNT,
    roleName: 'bench',
    roleId: newUniqueId('AROA', ACCOUNT, rnd),
    arn: `arn:aws:iam::${ACCOUNT}:role/bench`,
    path: '/',
    assumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ],
    }),
    maxSessionDuration: 3600,
    createDate: now,
    tags: [],
  })
  await iam.insertUser({
    accountId: ACCOUNT,
    userName: 'node',
    userId: newUniqueId('AIDA', ACCOUNT, rnd),
    arn: `arn:aws:iam::${ACCOUNT}:user/node`,
    path: '/',
    createDate: now,
    tags: [],
  })
  await iam.putInlinePolicy(
    ACCOUNT,
    'user',
    'node',
    'agent',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'eks-auth:AssumeRoleForPodIdentity', Resource: '*' }],
    }),
    now,
  )
  const nodeKey = {
    accessKeyId: newUniqueId('AKIA', ACCOUNT, rnd, 16),
    secretAccessKey: newSecretAccessKey(rnd),
  }
  await iam.insertAccessKey({
    ...nodeKey,
    status: 'Active',
    accountId: ACCOUNT,
    userName: 'node',
    createDate: now,
  })
  await putCluster(ctx.db, { name: 'bench' }, now)
  await createAssociation(eksDepsFromContext(ctx), 'bench', {
    namespace: 'bench',
    serviceAccount: 'app',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/bench`,
  })

  const mint = (i: number) =>
    mintServiceAccountToken(ctx.db, {
      issuer: 'cluster:bench',
      namespace: 'bench',
      serviceAccount: 'app',
      audiences: ['pods.eks.amazonaws.com'],
      expirationSeconds: 86400,
      pod: { name: `app-${i}`, uid: `uid-${i}` },
      now: new Date(),
    })
  process.stderr.write(`minting ${FIRST * 2 + 64} pod tokens…\n`)
  const tokens: string[] = []
  for (let i = 0; i < FIRST * 2 + 64; i++) tokens.push(await mint(i))
  const cachedTokens = tokens.slice(0, 64)
  const firstInProcess = tokens.slice(64, 64 + FIRST)
  const firstRemote = tokens.slice(64 + FIRST)

  // 1. Baseline: a trivial node:http handler with a body of the same shape.
  const body = JSON.stringify({
    AccessKeyId: 'ASIA' + 'X'.repeat(16),
    SecretAccessKey: 'x'.repeat(40),
    Token: 'x'.repeat(600),
    Expiration: '2026-01-01T00:00:00Z',
    AccountId: ACCOUNT,
  })
  const trivial = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(body)
  })
  await new Promise<void>((r) => trivial.listen(0, '127.0.0.1', () => r()))
  const trivialUrl = `http://127.0.0.1:${(trivial.address() as AddressInfo).port}/v1/credentials`

  const inProcess: RunningAgent = await startInProcessAgent(ctx, { port: 0 })
  const remote: RunningAgent = await startAgent({
    source: remoteSource({
      serverUrl: server.baseUrl,
      clusterName: 'bench',
      region: 'us-east-1',
      credentials: () => nodeKey,
    }),
  })
  const results: Result[] = []
  // Warm-up (JIT, sockets, the agent's cache), not recorded.
  for (const t of cachedTokens)
    await fetch(inProcess.credentialsUrl, { headers: { authorization: t } }).then((r) => r.text())
  await load('warm-up', trivialUrl, cachedTokens, 'duration', 2)
  await load('warm-up', inProcess.credentialsUrl, cachedTokens, 'duration', 3)
  // The baseline is measured before and after the cached run and averaged: the machine may be shared.
  const before = await load('trivial', trivialUrl, cachedTokens, 'duration')
  const cached = await load(
    'agent, cached tokens',
    inProcess.credentialsUrl,
    cachedTokens,
    'duration',
  )
  const afterRun = await load('trivial', trivialUrl, cachedTokens, 'duration')
  results.push({
    name: 'trivial node:http handler (mean of 2 runs)',
    requests: before.requests + afterRun.requests,
    errors: before.errors + afterRun.errors,
    rps: (before.rps + afterRun.rps) / 2,
    p50: (before.p50 + afterRun.p50) / 2,
    p99: Math.max(before.p99, afterRun.p99),
  })
  results.push(cached)
  results.push(
    await load(
      'agent, first-time tokens (EKS Auth in-process)',
      inProcess.credentialsUrl,
      firstInProcess,
      'once',
    ),
  )
  results.push(
    await load(
      'agent, first-time tokens (EKS Auth over HTTP + SigV4)',
      remote.credentialsUrl,
      firstRemote,
      'once',
    ),
  )

  await inProcess.close()
  await remote.close()
  await new Promise((r) => trivial.close(r))
  await server.close()
  rmSync(dir, { recursive: true, force: true })

  const base = results[0]?.rps ?? 1
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ concurrency: CONCURRENCY, results }, null, 2)}\n`)
    return
  }
  process.stdout.write(
    `\nPod Identity agent benchmark — concurrency ${CONCURRENCY}, node ${process.version}\n\n`,
  )
  process.stdout.write(
    '| case | requests | errors | req/s | × trivial | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n',
  )
  for (const r of results) {
    process.stdout.write(
      `| ${r.name} | ${r.requests} | ${r.errors} | ${r.rps.toFixed(0)} | ${(r.rps / base).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |\n`,
    )
  }
}

await main()
