/**
 * Must-fix: losing PostgreSQL connections under load must not crash a replica. A real `podtrust up` on a
 * fresh schema, its connections tagged with a unique application_name; while web-identity exchanges and
 * signed IAM/STS calls flow, `pg_terminate_backend` kills every one of its backends several times. The
 * replica must stay up, every failed request must be AWS's retryable `503 ServiceUnavailable`, and requests
 * after the outage must succeed again without a restart.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { signRequest } from '../../src/aws/sigv4/sign.ts'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'
import {
  dropSchema,
  exportedEnv,
  podtrustCli,
  replicaStoreUrl,
  startReplica,
  terminateBackends,
  uniquePostgresNames,
} from './helpers/replica.ts'

const skip = await postgresSkipReason()

void describe('store outage (PostgreSQL backends terminated under load)', () => {
  void it(
    'the replica stays up; failures are 503 ServiceUnavailable; service resumes by itself',
    skip === undefined ? { timeout: 120_000 } : { skip },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-outage-'))
      const names = uniquePostgresNames('outage')
      const store = replicaStoreUrl(postgresUrl, names)
      const replica = await startReplica([
        '--port',
        '0',
        '--no-tls',
        '--demo',
        '--data-dir',
        dir,
        '--store',
        store,
        '--issuer-url',
        'https://issuer.outage.test',
        '--log-level',
        'error',
        '--store-connect-timeout',
        '2',
        '--store-statement-timeout',
        '5',
      ])
      try {
        const env = exportedEnv(replica.output())
        const token = readFileSync(env['AWS_WEB_IDENTITY_TOKEN_FILE']!, 'utf8')
        const admin = exportedEnv(
          podtrustCli(['admin-credentials', '--env', '--data-dir', dir, '--store', store]).out,
        )
        const sts = new STSClient({
          endpoint: replica.baseUrl,
          region: 'us-east-1',
          maxAttempts: 1,
          credentials: {
            accessKeyId: admin['AWS_ACCESS_KEY_ID']!,
            secretAccessKey: admin['AWS_SECRET_ACCESS_KEY']!,
          },
        })
        const webIdentity = async (): Promise<{ status: number; body: string }> => {
          const res = await fetch(replica.baseUrl, {
            signal: AbortSignal.timeout(15_000),
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              Action: 'AssumeRoleWithWebIdentity',
              Version: '2011-06-15',
              RoleArn: env['AWS_ROLE_ARN']!,
              RoleSessionName: 'outage',
              WebIdentityToken: token,
            }).toString(),
          })
          return { status: res.status, body: await res.text() }
        }
        const safely = async (
          call: () => Promise<{ status: number; body: string }>,
        ): Promise<{ status: number; body: string }> =>
          call().catch((err: unknown) => ({ status: 0, body: String(err) }))
        const callerIdentity = async (): Promise<{ status: number; body: string }> => {
          try {
            await sts.send(new GetCallerIdentityCommand({}))
            return { status: 200, body: '' }
          } catch (err) {
            const e = err as { name: string; $metadata?: { httpStatusCode?: number } }
            return { status: e.$metadata?.httpStatusCode ?? 0, body: `<Code>${e.name}</Code>` }
          }
        }
        // EKS (restJson1): ListClusters, signed for `eks`; a failure must be its 503 ServiceUnavailableException.
        const listClusters = async (): Promise<{ status: number; body: string }> => {
          const url = `${replica.baseUrl}/clusters`
          const headers = signRequest({
            method: 'GET',
            url,
            body: '',
            service: 'eks',
            region: 'us-east-1',
            now: new Date(),
            credentials: {
              accessKeyId: admin['AWS_ACCESS_KEY_ID']!,
              secretAccessKey: admin['AWS_SECRET_ACCESS_KEY']!,
            },
          })
          delete headers['host']
          const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) })
          const text = await res.text()
          return {
            status: res.status,
            body: res.status === 503 ? `<Code>${res.headers.get('x-amzn-errortype')}</Code>` : text,
          }
        }
        assert.equal((await webIdentity()).status, 200)
        assert.equal((await listClusters()).status, 200)

        const results: { status: number; body: string }[] = []
        let flowing = true
        const worker = async (): Promise<void> => {
          let i = 0
          while (flowing) {
            results.push(await safely([webIdentity, callerIdentity, listClusters][i++ % 3]!))
          }
        }
        const workers = [worker(), worker(), worker(), worker()]
        let terminated = 0
        for (let round = 0; round < 4; round++) {
          await new Promise((r) => setTimeout(r, 400))
          terminated += await terminateBackends(postgresUrl, names.applicationName)
        }
        await new Promise((r) => setTimeout(r, 400))
        flowing = false
        await Promise.all(workers)

        assert.ok(terminated > 0, 'the test terminated at least one podtrust backend')
        assert.equal(replica.proc.exitCode, null, `replica crashed:\n${replica.output()}`)
        assert.equal(replica.proc.signalCode, null)
        const failed = results.filter((r) => r.status !== 200)
        t.diagnostic(
          `${results.length} requests, ${failed.length} answered 503, ${terminated} backends terminated`,
        )
        for (const f of failed) {
          assert.equal(f.status, 503, f.body)
          assert.match(f.body, /<Code>ServiceUnavailable(Exception)?<\/Code>/)
        }
        // Service resumes by itself: the pool reconnects.
        for (let i = 0; i < 5; i++) {
          assert.equal((await webIdentity()).status, 200)
          assert.equal((await callerIdentity()).status, 200)
          assert.equal((await listClusters()).status, 200)
        }
        const ready = await fetch(`${replica.baseUrl}/readyz`)
        assert.equal(ready.status, 200)
        assert.ok(results.length > 20, `load flowed (${results.length} requests)`)
      } finally {
        await replica.stop('SIGKILL')
        await dropSchema(postgresUrl, names.schema)
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})
