/**
 * The gateway of `npm run bench:gateway`, in its own process: a podtrust server (temporary SQLite store) with
 * one IAM user allowed s3:* on the bench bucket, and the gateway in front of BACKEND_URL. Prints
 * {"port":N,"accessKeyId":…,"secretAccessKey":…} once ready. Every request is fully checked (SigV4, policy
 * evaluation, audit event): nothing is cached across requests but compiled policies and the caller's policies.
 * Usage: node --import tsx bench/gateway/gateway.ts BACKEND_URL
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { startGateway } from '../../src/gateway/server.ts'
import { startServer } from '../../src/server/start.ts'

const backend = process.argv[2]
if (backend === undefined) throw new Error('usage: gateway.ts BACKEND_URL')
const ACCOUNT = '111122223333'
const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-gateway-'))
const server = await startServer({
  dataDir: dir,
  port: 0,
  accountId: ACCOUNT,
  region: 'us-east-1',
  logLevel: 'silent',
})
const repo = createIamRepo(server.ctx.db)
const now = new Date()
await repo.ensureAccount(ACCOUNT, now)
const rnd = (n: number) => randomBytes(n)
await repo.insertUser({
  accountId: ACCOUNT,
  userName: 'bench',
  userId: newUniqueId('AIDA', ACCOUNT, rnd),
  arn: `arn:aws:iam::${ACCOUNT}:user/bench`,
  path: '/',
  createDate: now,
  tags: [],
})
await repo.putInlinePolicy(
  ACCOUNT,
  'user',
  'bench',
  'bench',
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:*', Resource: ['arn:aws:s3:::bench', 'arn:aws:s3:::bench/*'] },
    ],
  }),
  now,
)
const key = {
  accessKeyId: newUniqueId('AKIA', ACCOUNT, rnd, 16),
  secretAccessKey: newSecretAccessKey(rnd),
}
await repo.insertAccessKey({
  ...key,
  status: 'Active',
  accountId: ACCOUNT,
  userName: 'bench',
  createDate: now,
})
const gateway = await startGateway(server.ctx, { port: 0, backendS3: backend, backendSqs: backend })
console.log(JSON.stringify({ port: gateway.port, ...key }))
process.on('SIGTERM', () => {
  void gateway.close().then(async () => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
})
