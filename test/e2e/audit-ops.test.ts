/**
 * The audit log as a product, on both store engines: one event's size is bounded (a 1 MB anonymous
 * parameter stores a few KB, marked `omitted`), secrets under unknown parameter names are redacted, failing
 * and anonymous requests are throttled per source (AWS `400 Throttling`), `audit query` filters and writes
 * JSON Lines and CSV, the SigV4-signed query API pages and is authorized by the policy engine
 * (`podtrust:QueryAuditEvents`), events are exported to a file a shipper tails, retention prunes, and
 * /metrics counts decisions per action, decision and identity path.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { signRequest } from '../../src/aws/sigv4/sign.ts'
import { getBootstrapAdmin } from '../../src/aws/iam/bootstrap.ts'
import { pruneAudit } from '../../src/audit/maintenance.ts'
import { writeDemoToken } from '../../src/cli/up-env.ts'
import { startServer } from '../../src/server/start.ts'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'
import { dropSchema, podtrustCli, uniquePostgresNames } from './helpers/replica.ts'

// The CLI runs below block this process (and the in-process server) for seconds: a keep-alive socket may
// expire under a request that reuses it (ECONNRESET). Such a request never reached a handler: send it again.
const fetch = (input: string, init?: RequestInit): Promise<Response> =>
  globalThis.fetch(input, init).catch((err: unknown) => {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err
    return globalThis.fetch(input, init)
  })

const form = (params: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
})

for (const engine of ['sqlite', 'postgres'] as const) {
  void describe(`audit operations (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    void it(
      'bounds, redaction, throttling, query (CLI + API), export, retention, metrics',
      skip === undefined ? { timeout: 90_000 } : { skip },
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'podtrust-auditops-'))
        const names = uniquePostgresNames('auditops')
        const store = engine === 'postgres' ? `${postgresUrl}?schema=${names.schema}` : undefined
        const server = await startServer({
          dataDir: dir,
          ...(store === undefined ? {} : { store }),
          port: 0,
          demo: true,
          logLevel: 'silent',
          auditExportDir: join(dir, 'export'),
          rateLimit: { ratePerSecond: 0.5, burst: 20 },
        })
        try {
          const ctx = server.ctx
          const token = readFileSync(await writeDemoToken(ctx, dir), 'utf8')
          const roleArn = `arn:aws:iam::${ctx.settings.accountId}:role/podtrust-demo`
          const arwwi = await fetch(
            server.baseUrl,
            form({
              Action: 'AssumeRoleWithWebIdentity',
              Version: '2011-06-15',
              RoleArn: roleArn,
              RoleSessionName: 'ops',
              WebIdentityToken: token,
            }),
          )
          assert.equal(arwwi.status, 200)

          // A 1 MB anonymous parameter and secrets under names podtrust does not know.
          const huge = await fetch(
            server.baseUrl,
            form({
              Action: 'GetCallerIdentity',
              Version: '2011-06-15',
              Junk: 'x'.repeat(1_000_000),
            }),
          )
          assert.equal(huge.status, 403)
          const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
          await fetch(
            server.baseUrl,
            form({
              Action: 'NoSuchAction',
              Version: '2011-06-15',
              Unknown: secret,
              Other: `PT1${'a'.repeat(12)}${'B'.repeat(80)}`,
            }),
          )
          const rows = await ctx.db.all<{ event: string }>(
            'SELECT event FROM audit_events ORDER BY seq',
          )
          const hugeRow = rows.find((r) => r.event.includes('"junk"'))!
          assert.ok(hugeRow.event.length < 8_000, `stored ${hugeRow.event.length} bytes`)
          assert.equal((JSON.parse(hugeRow.event) as { omitted?: boolean }).omitted, true)
          const all = rows.map((r) => r.event).join('\n')
          assert.ok(!all.includes(secret), 'secret key shape redacted')
          assert.ok(!all.includes('B'.repeat(80)), 'session token shape redacted')

          // The query API: signed for `podtrust`, authorized by the engine, paged.
          const admin = (await getBootstrapAdmin(ctx.db, ctx.settings.accountId))!
          const get = async (
            query: string,
            credentials: { accessKeyId: string; secretAccessKey: string } = admin,
          ): Promise<Response> => {
            const url = `${server.baseUrl}/podtrust/audit/events?${query}`
            const headers = signRequest({
              method: 'GET',
              url,
              body: '',
              service: 'podtrust',
              region: 'us-east-1',
              credentials,
              now: new Date(),
            })
            return fetch(url, { headers })
          }
          const unsigned = await fetch(`${server.baseUrl}/podtrust/audit/events`)
          assert.equal(unsigned.status, 403)
          assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationToken')
          const first = await get('maxResults=2')
          assert.equal(first.status, 200)
          const p1 = (await first.json()) as { Events: { eventName: string }[]; NextToken?: string }
          assert.equal(p1.Events.length, 2)
          assert.ok(p1.NextToken !== undefined)
          const second = (await (await get(`maxResults=2&nextToken=${p1.NextToken}`)).json()) as {
            Events: { eventName: string; eventID: string }[]
          }
          assert.ok(second.Events.length >= 1)
          assert.equal(p1.Events[0]!.eventName, 'AssumeRoleWithWebIdentity')
          assert.equal(second.Events[0]!.eventName, 'NoSuchAction')
          const allowed = (await (
            await get('decision=allow&action=AssumeRoleWithWebIdentity')
          ).json()) as { Events: unknown[] }
          assert.equal(allowed.Events.length, 1)
          const bad = await get('maxResults=5000')
          assert.equal(bad.status, 400)
          assert.equal(bad.headers.get('x-amzn-errortype'), 'ValidationException')

          // A user without podtrust:QueryAuditEvents is denied by the policy engine.
          const iamUrl = server.baseUrl
          const iam = async (params: Record<string, string>): Promise<string> => {
            const body = new URLSearchParams({ Version: '2010-05-08', ...params }).toString()
            const headers = signRequest({
              method: 'POST',
              url: iamUrl,
              body,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              service: 'iam',
              region: 'us-east-1',
              credentials: admin,
              now: new Date(),
            })
            return (await fetch(iamUrl, { method: 'POST', headers, body })).text()
          }
          await iam({ Action: 'CreateUser', UserName: 'reader' })
          const keyXml = await iam({ Action: 'CreateAccessKey', UserName: 'reader' })
          const reader = {
            accessKeyId: /<AccessKeyId>(\w+)<\/AccessKeyId>/.exec(keyXml)![1]!,
            secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(keyXml)![1]!,
          }
          const denied = await get('maxResults=1', reader)
          assert.equal(denied.status, 403)
          assert.equal(denied.headers.get('x-amzn-errortype'), 'AccessDeniedException')
          await iam({
            Action: 'PutUserPolicy',
            UserName: 'reader',
            PolicyName: 'audit',
            PolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'podtrust:QueryAuditEvents', Resource: '*' }],
            }),
          })
          assert.equal((await get('maxResults=1', reader)).status, 200)

          // Throttling: failures from one source drain its bucket; the answer is AWS's Throttling.
          let throttled: Response | undefined
          for (let i = 0; i < 40 && throttled === undefined; i++) {
            const r = await fetch(
              server.baseUrl,
              form({ Action: 'GetCallerIdentity', Version: '2011-06-15' }),
            )
            if (r.status === 400) throttled = r
            else assert.equal(r.status, 403)
          }
          assert.ok(throttled !== undefined, 'throttled')
          assert.match(
            await throttled.text(),
            /<Code>Throttling<\/Code><Message>Rate exceeded<\/Message>/,
          )
          assert.ok(Number(throttled.headers.get('retry-after')) >= 1)
          // Probes are never throttled.
          assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200)

          // The CLI: filters, JSON Lines and CSV.
          const cliStore = ['--data-dir', dir, ...(store === undefined ? [] : ['--store', store])]
          const jsonl = podtrustCli([
            'audit',
            'query',
            '--action',
            'AssumeRoleWithWebIdentity',
            '--decision',
            'allow',
            '--since',
            '1h',
            '--role',
            roleArn,
            ...cliStore,
          ])
          assert.equal(jsonl.code, 0, jsonl.err)
          const lines = jsonl.out.trim().split('\n')
          assert.equal(lines.length, 1)
          assert.equal(
            (JSON.parse(lines[0]!) as { eventName: string }).eventName,
            'AssumeRoleWithWebIdentity',
          )
          const csv = podtrustCli([
            'audit',
            'query',
            '--decision',
            'deny',
            '--source-ip',
            '127.0.0.1',
            '--format',
            'csv',
            ...cliStore,
          ])
          assert.equal(csv.code, 0, csv.err)
          const csvLines = csv.out.trim().split('\n')
          assert.equal(
            csvLines[0],
            'eventTime,eventSource,eventName,decision,errorCode,principal,role,sourceIPAddress,userAgent,requestID,eventID',
          )
          assert.ok(csvLines.length > 10)
          assert.ok(csvLines.slice(1).every((l) => l.includes(',Deny,')))

          // Metrics per action, decision and identity path.
          const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text()
          assert.match(
            metrics,
            /podtrust_decisions_total\{service="sts.amazonaws.com",action="AssumeRoleWithWebIdentity",path="irsa",decision="Allow"\} 1/,
          )
          assert.match(metrics, /podtrust_audit_truncated_events_total [1-9]/)
          assert.match(
            metrics,
            /podtrust_throttled_requests_total\{reason="unauthenticated"\} [1-9]/,
          )
          assert.match(
            metrics,
            /podtrust_decision_duration_seconds_bucket\{le="[^"]+",service="sts.amazonaws.com",action="AssumeRoleWithWebIdentity",path="irsa"\}/,
          )

          // Export: one JSON line per event this replica recorded.
          await ctx.audit.record({
            eventVersion: '1.08',
            eventTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            eventSource: 'test',
            eventName: 'Flush',
            awsRegion: 'us-east-1',
            sourceIPAddress: '127.0.0.1',
            userAgent: '',
            userIdentity: { type: 'Unknown' },
            requestParameters: null,
            responseElements: null,
            requestID: 'r',
            eventID: 'flush-event',
            readOnly: true,
            eventType: 'AwsApiCall',
          })
          const files = readdirSync(join(dir, 'export'))
          assert.equal(files.length, 1)
          assert.match(files[0]!, /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/)
          await new Promise((r) => setTimeout(r, 100))
          const exported = readFileSync(join(dir, 'export', files[0]!), 'utf8')
            .trim()
            .split('\n')
          assert.ok(
            exported.some(
              (l) =>
                (JSON.parse(l) as { eventName: string }).eventName === 'AssumeRoleWithWebIdentity',
            ),
          )

          // Retention: keep the newest 5.
          const before = Number(
            (await ctx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_events'))!.n,
          )
          const pruned = await pruneAudit(ctx.db, { now: new Date(), maxEvents: 5, batchSize: 7 })
          assert.equal(pruned, before - 5)
        } finally {
          await server.close()
          if (engine === 'postgres') await dropSchema(postgresUrl, names.schema)
          rmSync(dir, { recursive: true, force: true })
        }
      },
    )
  })
}
