/**
 * The gateway of `npm run bench:gateway`, in its own process: a podtrust server (temporary SQLite store) with
 * one IAM user allowed s3:* on the bench bucket, and the gateway in front of BACKEND_URL. Prints
 * {"port":N,"accessKeyId":…,"secretAccessKey":…} once ready. Every request is fully checked (SigV4, policy
 * evaluation, audit event): nothing is cached across requests but compiled policies and the caller's policies.
 * Usage: node --import tsx bench/gateway/gateway.ts BACKEND_URL
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ids from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { startGateway } from '../../src/gateway/server.ts'
import { startServer } from '../../src/server/start.ts'
import { seedBenchUser } from './seed.ts'

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
const key = await seedBenchUser(createIamRepo(server.ctx.db), ids, ACCOUNT)
const gateway = await startGateway(server.ctx, { port: 0, backendS3: backend, backendSqs: backend })
console.log(JSON.stringify({ port: gateway.port, ...key }))
process.on('SIGTERM', () => {
  void gateway.close().then(async () => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
})
