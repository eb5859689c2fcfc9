/**
 * Must-fix: stored identity settings change only by an explicit command. Replicas on one PostgreSQL store:
 * a start with a different --issuer-url refuses (SERVER_SETTINGS_CONFLICT naming the stored URL and
 * `podtrust issuer set-url`); starts without it on other ports keep the stored URL (automatic URLs included);
 * --account-id for an account without the administrator refuses instead of creating a second one. The
 * administrator's secret is printed once, at creation; later starts print how to get it. On the single-node
 * SQLite store an automatic URL follows the TLS port, loudly.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import pg from 'pg'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'
import {
  dropSchema,
  podtrustCli,
  replicaStoreUrl,
  startReplica,
  uniquePostgresNames,
} from './helpers/replica.ts'

const skip = await postgresSkipReason()

async function discoveryIssuer(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/.well-known/openid-configuration`)
  return ((await res.json()) as { issuer: string }).issuer
}

void describe('identity settings across replicas', () => {
  void it(
    'PostgreSQL: issuer URL and account never change on start; the secret shows once',
    skip === undefined ? { timeout: 120_000 } : { skip },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-settings-'))
      const names = uniquePostgresNames('settings')
      const store = replicaStoreUrl(postgresUrl, names)
      const base = ['--port', '0', '--data-dir', dir, '--store', store, '--log-level', 'warn']
      try {
        const first = await startReplica([
          ...base,
          '--https-port',
          '0',
          '--issuer-url',
          'https://issuer-a.example.com',
        ])
        assert.match(first.output(), /^export AWS_SECRET_ACCESS_KEY=\S{40}$/m)
        assert.equal(await discoveryIssuer(first.baseUrl), 'https://issuer-a.example.com')
        await first.stop()

        // Another URL on the flag: refused, with the stored value and the command that changes it.
        const refused = podtrustCli([
          'up',
          ...base,
          '--no-tls',
          '--issuer-url',
          'https://issuer-b.example.com',
        ])
        assert.notEqual(refused.code, 0)
        assert.match(refused.err, /https:\/\/issuer-a\.example\.com/)
        assert.match(refused.err, /podtrust issuer set-url https:\/\/issuer-b\.example\.com/)

        // No flag, other listeners: the stored URL is kept; the secret is not printed again.
        const second = await startReplica([...base, '--no-tls'])
        assert.equal(await discoveryIssuer(second.baseUrl), 'https://issuer-a.example.com')
        assert.doesNotMatch(second.output(), /AWS_SECRET_ACCESS_KEY=/)
        assert.match(second.output(), /podtrust admin-credentials --env/)

        // A second administrator is never created by a start.
        const account = podtrustCli(['up', ...base, '--no-tls', '--account-id', '111122223333'])
        assert.notEqual(account.code, 0)
        assert.match(account.err, /000000000000/)
        assert.match(account.err, /podtrust admin-credentials --account-id 111122223333/)
        await second.stop()
        const client = new pg.Client({ connectionString: postgresUrl })
        await client.connect()
        try {
          const admins = await client.query(
            `SELECT account_id FROM ${names.schema}.iam_users WHERE user_name = 'podtrust-admin'`,
          )
          assert.deepEqual(
            admins.rows.map((r: { account_id: string }) => r.account_id),
            ['000000000000'],
          )
        } finally {
          await client.end()
        }

        // The explicit command changes it for everyone.
        const set = podtrustCli([
          'issuer',
          'set-url',
          'https://issuer-b.example.com',
          '--data-dir',
          dir,
          '--store',
          store,
        ])
        assert.equal(set.code, 0, set.err)
        const third = await startReplica([
          ...base,
          '--no-tls',
          '--issuer-url',
          'https://issuer-b.example.com',
        ])
        assert.equal(await discoveryIssuer(third.baseUrl), 'https://issuer-b.example.com')
        await third.stop()
      } finally {
        await dropSchema(postgresUrl, names.schema)
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  void it(
    'PostgreSQL: an automatic issuer URL is not rewritten by a replica on another port',
    skip === undefined ? { timeout: 60_000 } : { skip },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-settings-'))
      const names = uniquePostgresNames('autourl')
      const store = replicaStoreUrl(postgresUrl, names)
      const base = [
        '--port',
        '0',
        '--https-port',
        '0',
        '--data-dir',
        dir,
        '--store',
        store,
        '--log-level',
        'warn',
      ]
      try {
        const a = await startReplica(base)
        const b = await startReplica(base)
        const issuerA = await discoveryIssuer(a.baseUrl)
        assert.equal(await discoveryIssuer(b.baseUrl), issuerA)
        assert.equal(issuerA, a.httpsBaseUrl)
        await Promise.all([a.stop(), b.stop()])
      } finally {
        await dropSchema(postgresUrl, names.schema)
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  void it(
    'SQLite single node: an automatic URL follows the TLS port and says so',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-settings-'))
      const base = ['--port', '0', '--https-port', '0', '--data-dir', dir, '--log-level', 'warn']
      try {
        const a = await startReplica(base)
        await a.stop()
        const b = await startReplica(base)
        assert.match(
          b.output(),
          /WARNING {4}the stored issuer URL changed from https:\/\/127\.0\.0\.1:\d+ to/,
        )
        assert.equal(await discoveryIssuer(b.baseUrl), b.httpsBaseUrl)
        await b.stop()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})
