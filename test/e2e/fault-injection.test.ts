/**
 * Fault injection on PostgreSQL: three `podtrust up` replicas (ephemeral ports, one store) under mixed load
 * — web-identity exchanges, AssumeRole, IAM writes, Pod Identity agent requests, calls signed with session
 * credentials minted on another replica — from a client that, like a load balancer, retries a failed request once on the next healthy
 * replica (and stops sending to a replica whose connections are refused). Meanwhile: kill -9 one replica,
 * terminate every database backend three times, rotate the issuer's signing key and the session keyring.
 * Required: 0 crashes of the surviving replicas, 0 failed requests after the one retry, 0 acknowledged IAM
 * writes missing afterwards. Bounded: about 40 s.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import pg from 'pg'
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
import type { Replica } from './helpers/replica.ts'

const skip = await postgresSkipReason()
const LOAD_MS = 20_000

interface Creds {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

type Outcome = { status: number; text: string }

void describe('fault injection (3 replicas, PostgreSQL)', () => {
  void it(
    'kill -9, database backends terminated ×3, key rotation: 0 crashes, 0 failures, 0 lost writes',
    skip === undefined ? { timeout: 120_000 } : { skip },
    async (t) => {
      const names = uniquePostgresNames('fault')
      const store = replicaStoreUrl(postgresUrl, names)
      const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'podtrust-fault-')))
      const common = [
        '--port',
        '0',
        '--no-tls',
        '--store',
        store,
        '--issuer-url',
        'https://issuer.fault.test',
        '--log-level',
        'error',
        '--rate-limit',
        '0',
        '--store-connect-timeout',
        '3',
      ]
      const replicas: Replica[] = []
      // Pod Identity: a cluster on podtrust's own issuer, an association, the role it grants.
      const config = join(dirs[0]!, 'pod-identity.yaml')
      writeFileSync(
        config,
        [
          'version: 1',
          'roles:',
          '  - name: fault-pod',
          "    assumeRolePolicy: { Version: '2012-10-17', Statement: [{ Effect: Allow, Principal: { Service: pods.eks.amazonaws.com }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }",
          'clusters:',
          '  - name: fault',
          'podIdentityAssociations:',
          "  - { cluster: fault, namespace: shop, serviceAccount: cart, roleArn: 'arn:aws:iam::000000000000:role/fault-pod' }",
          '',
        ].join('\n'),
      )
      try {
        replicas.push(
          await startReplica([
            ...common,
            '--data-dir',
            dirs[0]!,
            '--demo',
            '--config',
            config,
            '--agent-port',
            '0',
          ]),
        )
        replicas.push(
          ...(await Promise.all(
            [1, 2].map((i) =>
              startReplica([...common, '--data-dir', dirs[i]!, '--agent-port', '0']),
            ),
          )),
        )
        const agents = replicas.map((r) => /^\s+agent\s+(http:\S+)/m.exec(r.output())![1]!)
        const podTokens = ['p1', 'p2', 'p3'].map((pod) => {
          const r = podtrustCli([
            'token',
            '--cluster',
            'fault',
            '--namespace',
            'shop',
            '--service-account',
            'cart',
            '--pod',
            pod,
            '--audience',
            'pods.eks.amazonaws.com',
            '--data-dir',
            dirs[0]!,
            '--store',
            store,
          ])
          assert.equal(r.code, 0, r.err)
          return r.out.trim()
        })
        const env = exportedEnv(replicas[0]!.output())
        const token = readFileSync(env['AWS_WEB_IDENTITY_TOKEN_FILE']!, 'utf8')
        const admin: Creds = {
          accessKeyId: env['AWS_ACCESS_KEY_ID']!,
          secretAccessKey: env['AWS_SECRET_ACCESS_KEY']!,
        }
        const account = env['AWS_ROLE_ARN']!.split(':')[4]!

        const send = async (
          r: number,
          service: 'sts' | 'iam' | null,
          params: Record<string, string>,
          creds?: Creds,
        ): Promise<Outcome> => {
          const url = replicas[r]!.baseUrl
          const body = new URLSearchParams(params).toString()
          const base = { 'content-type': 'application/x-www-form-urlencoded' }
          const headers =
            service === null || creds === undefined
              ? base
              : signRequest({
                  method: 'POST',
                  url,
                  body,
                  headers: base,
                  service,
                  region: 'us-east-1',
                  credentials: creds,
                  now: new Date(),
                })
          const res = await fetch(url, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(10_000),
          })
          return { status: res.status, text: await res.text() }
        }
        const up = [true, true, true]
        let next = 0
        const stats = {
          requests: 0,
          retried: 0,
          failed: [] as string[],
          /** Requests whose first attempt was in flight on the replica killed with -9 (the issue excuses them). */
          inFlightOnKilled: 0,
          byStatus: new Map<number, number>(),
        }
        /** One request as a load balancer would carry it: on a refused connection or a 5xx, once more elsewhere. */
        const call = async (
          build: (r: number) => Promise<Outcome>,
          accept: (o: Outcome) => boolean,
        ): Promise<Outcome | undefined> => {
          stats.requests++
          let r = next++ % 3
          let cutMidFlight = false
          for (let attempt = 0; attempt < 2; attempt++) {
            while (!up[r]) r = (r + 1) % 3
            try {
              const o = await build(r)
              stats.byStatus.set(o.status, (stats.byStatus.get(o.status) ?? 0) + 1)
              if (o.status < 500 && accept(o)) return o
              if (o.status < 500) {
                stats.failed.push(`${o.status} ${o.text.slice(0, 200)}`)
                return undefined
              }
            } catch (err) {
              const code = (err as { cause?: { code?: string } }).cause?.code
              if (code === 'ECONNREFUSED') up[r] = false
              // A reset (not a refusal) is a request in flight on the replica killed with -9.
              else if (attempt === 0) cutMidFlight = true
            }
            stats.retried += attempt === 0 ? 1 : 0
            r = (r + 1) % 3
          }
          if (cutMidFlight) stats.inFlightOnKilled++
          else stats.failed.push('failed after retry')
          return undefined
        }

        // A role the administrator may assume.
        const trust = JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${account}:root` },
              Action: 'sts:AssumeRole',
            },
          ],
        })
        const created = await send(
          0,
          'iam',
          {
            Action: 'CreateRole',
            Version: '2010-05-08',
            RoleName: 'fault-target',
            AssumeRolePolicyDocument: trust,
          },
          admin,
        )
        assert.equal(created.status, 200, created.text)

        const sessions: Creds[] = []
        const acked = new Set<string>()
        let userSeq = 0
        const credsOf = (xml: string): Creds => ({
          accessKeyId: /<AccessKeyId>([^<]+)</.exec(xml)![1]!,
          secretAccessKey: /<SecretAccessKey>([^<]+)</.exec(xml)![1]!,
          sessionToken: /<SessionToken>([^<]+)</.exec(xml)![1]!,
        })
        const ok = (o: Outcome): boolean => o.status === 200
        const ops = [
          async () => {
            const o = await call(
              (r) =>
                send(r, null, {
                  Action: 'AssumeRoleWithWebIdentity',
                  Version: '2011-06-15',
                  RoleArn: env['AWS_ROLE_ARN']!,
                  RoleSessionName: 'fault',
                  WebIdentityToken: token,
                }),
              ok,
            )
            if (o !== undefined) sessions.push(credsOf(o.text))
          },
          async () => {
            await call(
              (r) =>
                send(
                  r,
                  'sts',
                  {
                    Action: 'AssumeRole',
                    Version: '2011-06-15',
                    RoleArn: `arn:aws:iam::${account}:role/fault-target`,
                    RoleSessionName: 'fault',
                  },
                  admin,
                ),
              ok,
            )
          },
          async () => {
            const name = `fault-user-${userSeq++}`
            // A retried create that already committed answers EntityAlreadyExists: acknowledged all the same.
            const o = await call(
              (r) =>
                send(
                  r,
                  'iam',
                  { Action: 'CreateUser', Version: '2010-05-08', UserName: name },
                  admin,
                ),
              (x) => x.status === 200 || x.text.includes('<Code>EntityAlreadyExists</Code>'),
            )
            if (o !== undefined) acked.add(name)
          },
          async () => {
            const token = podTokens[Math.floor(Math.random() * podTokens.length)]!
            await call(
              async (r) => {
                const res = await fetch(agents[r]!, {
                  headers: { authorization: token },
                  signal: AbortSignal.timeout(10_000),
                })
                return { status: res.status, text: await res.text() }
              },
              (o) => o.status === 200 && o.text.includes('"AccessKeyId"'),
            )
          },
          async () => {
            const s = sessions[Math.floor(Math.random() * sessions.length)]
            if (s === undefined) return
            await call(
              (r) => send(r, 'sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' }, s),
              ok,
            )
          },
        ]
        let running = true
        const worker = async (w: number): Promise<void> => {
          for (let i = w; running; i++) await ops[i % ops.length]!()
        }
        const started = Date.now()
        const workers = [0, 1, 2, 3, 4, 5].map(worker)
        const at = (ms: number) =>
          new Promise((r) => setTimeout(r, Math.max(0, started + ms - Date.now())))
        const faults: string[] = []
        await at(3000)
        replicas[2]!.proc.kill('SIGKILL')
        faults.push('kill -9 replica 3')
        for (const ms of [6000, 9000, 12_000]) {
          await at(ms)
          faults.push(
            `terminated ${await terminateBackends(postgresUrl, names.applicationName)} backends`,
          )
        }
        await at(14_000)
        const storeArgs = ['--data-dir', dirs[0]!, '--store', store]
        assert.equal(podtrustCli(['keys', 'rotate', '--activate-in', '0', ...storeArgs]).code, 0)
        assert.equal(podtrustCli(['keys', 'rotate-sessions', ...storeArgs]).code, 0)
        faults.push('rotated signing key and session keyring')
        await at(LOAD_MS)
        running = false
        await Promise.all(workers)

        t.diagnostic(
          `requests ${stats.requests}, retried ${stats.retried}, statuses ${JSON.stringify([...stats.byStatus])}, acked writes ${acked.size}, in flight on the killed replica and failed again ${stats.inFlightOnKilled}; ${faults.join('; ')}`,
        )
        assert.equal(replicas[0]!.proc.exitCode, null, 'replica 1 alive')
        assert.equal(replicas[1]!.proc.exitCode, null, 'replica 2 alive')
        assert.deepEqual(stats.failed, [])
        assert.ok(stats.requests > 200, `load flowed: ${stats.requests}`)
        const client = new pg.Client({ connectionString: postgresUrl })
        await client.connect()
        try {
          const rows = await client.query(`SELECT user_name FROM ${names.schema}.iam_users`)
          const stored = new Set(rows.rows.map((r: { user_name: string }) => r.user_name))
          const missing = [...acked].filter((u) => !stored.has(u))
          assert.deepEqual(missing, [], 'acknowledged writes present')
        } finally {
          await client.end()
        }
        // Tokens signed before the rotation still work on the survivors.
        for (const r of [0, 1]) {
          const o = await send(r, null, {
            Action: 'AssumeRoleWithWebIdentity',
            Version: '2011-06-15',
            RoleArn: env['AWS_ROLE_ARN']!,
            RoleSessionName: 'after',
            WebIdentityToken: token,
          })
          assert.equal(o.status, 200, o.text)
        }
      } finally {
        await Promise.all(replicas.map((r) => r.stop('SIGKILL')))
        await dropSchema(postgresUrl, names.schema)
        for (const d of dirs) rmSync(d, { recursive: true, force: true })
      }
    },
  )
})
