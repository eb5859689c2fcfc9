/**
 * A benchmark target in its own process. `node --import tsx bench/sts/target.ts podtrust|floor|ceiling` listens on an
 * ephemeral loopback port and prints one JSON line `{"port":N,"body":"<form body>"}` when ready.
 * - podtrust: the real server (startServer, SQLite WAL, durable group-committed audit) with an OIDC provider, an
 *   IRSA role and a minted RS256 service-account token; the body is a real AssumeRoleWithWebIdentity.
 * - floor: only the work no STS can skip (floor.ts): RS256 verification, new keys, AES-GCM sealing, XML.
 * - ceiling: a trivial node:http handler answering a fixed XML document (what a do-nothing Node server costs).
 * BENCH_STORE picks podtrust's store and audit durability: `sqlite` (default: SQLite, `synchronous = FULL`),
 * `sqlite-normal` (`synchronous = NORMAL`), or a `postgres://…` URL (a fresh schema per run).
 */
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startServer } from '../../src/server/start.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { ensureIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const ACCOUNT = '123456789012'
const kind = process.argv[2]

function body(roleArn: string, token: string): string {
  return new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: 'perf',
    WebIdentityToken: token,
  }).toString()
}

if (kind === 'floor') {
  await import('./floor.ts')
} else if (kind === 'ceiling') {
  const xml =
    '<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult/></AssumeRoleWithWebIdentityResponse>'
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) })
      res.end(xml)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    console.log(
      JSON.stringify({ port, body: body(`arn:aws:iam::${ACCOUNT}:role/perf-role`, 'x.y.z') }),
    )
  })
} else if (kind === 'podtrust') {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-'))
  const storeMode = process.env['BENCH_STORE'] ?? 'sqlite'
  const store = storeMode.startsWith('postgres')
    ? { store: `${storeMode}${storeMode.includes('?') ? '&' : '?'}schema=bench_sts_${process.pid}` }
    : storeMode === 'sqlite-normal'
      ? { sqliteSynchronous: 'NORMAL' as const }
      : storeMode === 'sqlite'
        ? {}
        : undefined
  if (store === undefined) {
    console.error(
      `BENCH_STORE must be sqlite, sqlite-normal or a postgres:// URL, got ${storeMode}`,
    )
    process.exit(2)
  }
  const server = await startServer({
    ...store,
    dataDir: dir,
    port: 0,
    accountId: ACCOUNT,
    issuerUrl: 'https://oidc.bench.test',
    logLevel: 'silent',
  } as Parameters<typeof startServer>[0])
  const db = server.ctx.db
  const now = new Date()
  const repo = createIamRepo(db)
  await repo.ensureAccount(ACCOUNT, now)
  const issuer = await ensureIssuer(db, 'default')
  const url = issuer.url.replace(/^https:\/\//, '')
  const providerArn = `arn:aws:iam::${ACCOUNT}:oidc-provider/${url}`
  await repo.insertOidcProvider({
    accountId: ACCOUNT,
    arn: providerArn,
    url,
    clientIds: ['sts.amazonaws.com'],
    thumbprints: [],
    createDate: now,
    tags: [],
  })
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/perf-role`
  await repo.insertRole({
    accountId: ACCOUNT,
    roleName: 'perf-role',
    roleId: `AROA${randomBytes(12)
      .toString('hex')
      .toUpperCase()
      .replace(/[^A-Z2-7]/g, 'Q')
      .slice(0, 17)}`,
    arn: roleArn,
    path: '/',
    assumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${url}:sub`]: 'system:serviceaccount:default:demo',
              [`${url}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    }),
    maxSessionDuration: 3600,
    createDate: now,
    tags: [],
  })
  const token = await mintServiceAccountToken(db, {
    namespace: 'default',
    serviceAccount: 'demo',
    audiences: ['sts.amazonaws.com'],
    expirationSeconds: 3600,
    now,
  })
  const storeName = storeMode.startsWith('postgres') ? 'postgresql' : storeMode
  console.log(
    JSON.stringify({
      port: new URL(server.baseUrl).port,
      body: body(roleArn, token),
      store: storeName,
    }),
  )
  process.on('SIGTERM', () => {
    void server
      .close()
      .then(async () => {
        // A PostgreSQL run leaves nothing behind: its schema goes with it.
        if (!storeMode.startsWith('postgres')) return
        const client = new pg.Client({ connectionString: storeMode })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS bench_sts_${process.pid} CASCADE`)
        await client.end()
      })
      .finally(() => process.exit(0))
  })
} else {
  console.error('usage: target.ts podtrust|ceiling')
  process.exit(2)
}
