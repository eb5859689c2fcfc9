/**
 * Must-fix: replicas of one deployment started at the same moment (separate data directories, one
 * PostgreSQL store) share one CA — a client trusting replica A's ca.pem reaches replica B over TLS — and
 * publish exactly one signing key. A CA given as files (--ca-dir, a mounted Secret) is used as is.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'
import {
  dropSchema,
  replicaStoreUrl,
  startReplica,
  uniquePostgresNames,
} from './helpers/replica.ts'

const skip = await postgresSkipReason()

function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

void describe('one CA and one signing key for the deployment', () => {
  void it(
    'replicas started together share the CA and the first key',
    skip === undefined ? { timeout: 90_000 } : { skip },
    async () => {
      const names = uniquePostgresNames('sharedca')
      const store = replicaStoreUrl(postgresUrl, names)
      const dirs = [1, 2, 3].map(() => mkdtempSync(join(tmpdir(), 'podtrust-ca-')))
      try {
        const replicas = await Promise.all(
          dirs.map((dir) =>
            startReplica([
              '--port',
              '0',
              '--https-port',
              '0',
              '--data-dir',
              dir,
              '--store',
              store,
              '--issuer-url',
              'https://issuer.sharedca.test',
              '--log-level',
              'warn',
            ]),
          ),
        )
        const cas = dirs.map((d) => readFileSync(join(d, 'ca', 'ca.pem'), 'utf8'))
        assert.equal(new Set(cas).size, 1, 'one CA')
        for (const r of replicas) {
          const jwks = JSON.parse(await httpsGet(`${r.httpsBaseUrl}/openid/v1/jwks`, cas[0]!)) as {
            keys: unknown[]
          }
          assert.equal(jwks.keys.length, 1, 'one signing key')
        }
        await Promise.all(replicas.map((r) => r.stop()))
        // A CA from files: the replica serves with it and stores nothing of its own.
        const fromFiles = await startReplica([
          '--port',
          '0',
          '--https-port',
          '0',
          '--data-dir',
          mkdtempSync(join(tmpdir(), 'podtrust-ca-')),
          '--store',
          store,
          '--ca-dir',
          join(dirs[0]!, 'ca'),
          '--log-level',
          'warn',
        ])
        assert.ok((await httpsGet(`${fromFiles.httpsBaseUrl}/healthz`, cas[0]!)).includes('ok'))
        await fromFiles.stop()
      } finally {
        await dropSchema(postgresUrl, names.schema)
        for (const d of dirs) rmSync(d, { recursive: true, force: true })
      }
    },
  )
})
