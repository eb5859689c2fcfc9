/**
 * The proxy's backend login against a PostgreSQL that really runs SCRAM-SHA-256 and MD5
 * (https://www.postgresql.org/docs/current/auth-password.html): the machine's shared server trusts
 * 127.0.0.1, so this test initdb's its own throw-away cluster (as the `postgres` OS user when run as root,
 * since initdb refuses root) with `scram-sha-256` and `md5` lines in pg_hba.conf, on an ephemeral port.
 * A wrong backend password must fail the session with the backend's own error, never silently.
 */
import assert from 'node:assert/strict'
import type { TLSSocket } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { connectBackend } from '../../src/dbproxy/pg/backend.ts'
import { type PgCluster, pgClusterUnavailable, startPgCluster } from './helpers/pg-cluster.ts'

const skip = pgClusterUnavailable()

void describe('dbproxy backend login against a real SCRAM-SHA-256 / MD5 server', { skip }, () => {
  let cluster: PgCluster | undefined
  let port = 0
  let serverCa = ''

  before(async () => {
    // A server certificate for the TLS link to the backend (sslmode=require / verify-full).
    cluster = await startPgCluster({
      authMethod: 'scram-sha-256',
      superPassword: 'superpw',
      hba: ['host all md5user 127.0.0.1/32 md5', 'host all all 127.0.0.1/32 scram-sha-256'],
      settings: { fsync: 'off' },
    })
    port = cluster.port
    serverCa = cluster.certPem
    const target = { host: '127.0.0.1', port, sslMode: 'disable' as const }
    const admin = await connectBackend(
      target,
      new Map([
        ['user', 'postgres'],
        ['database', 'postgres'],
      ]),
      'superpw',
    )
    // SET password_encryption = md5 so md5user's verifier is MD5 (pg_hba's md5 line then asks for MD5).
    const sql =
      "SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5pw'; SET password_encryption = 'scram-sha-256'; CREATE ROLE scramuser LOGIN PASSWORD 'scr@m pw';"
    const q = Buffer.from(sql + '\0', 'utf8')
    const head = Buffer.alloc(5)
    head[0] = 0x51
    head.writeUInt32BE(q.length + 4, 1)
    admin.socket.write(Buffer.concat([head, q]))
    await new Promise<void>((resolve) => {
      let seen = Buffer.alloc(0)
      admin.socket.on('data', (d: Buffer) => {
        seen = Buffer.concat([seen, d])
        if (seen.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve()
      })
    })
    admin.socket.destroy()
  })
  after(() => cluster?.stop())

  void it('logs in with SCRAM-SHA-256 (and checks the server signature) and with MD5', async () => {
    const target = { host: '127.0.0.1', port, sslMode: 'disable' as const }
    const scram = await connectBackend(
      target,
      new Map([
        ['user', 'scramuser'],
        ['database', 'postgres'],
      ]),
      'scr@m pw',
    )
    assert.ok(scram.processId > 0)
    assert.ok(scram.startupMessages.length > 0)
    scram.socket.destroy()
    const md5 = await connectBackend(
      target,
      new Map([
        ['user', 'md5user'],
        ['database', 'postgres'],
      ]),
      'md5pw',
    )
    assert.ok(md5.processId > 0)
    md5.socket.destroy()
  })

  void it('logs in over TLS to the backend (sslmode=require, and verify-full against its CA)', async () => {
    const params = new Map([
      ['user', 'scramuser'],
      ['database', 'postgres'],
    ])
    const req = await connectBackend(
      { host: '127.0.0.1', port, sslMode: 'require' },
      params,
      'scr@m pw',
    )
    assert.equal((req.socket as TLSSocket).encrypted, true)
    req.socket.destroy()
    const full = await connectBackend(
      { host: '127.0.0.1', port, sslMode: 'verify-full', ca: serverCa },
      params,
      'scr@m pw',
    )
    assert.equal((full.socket as TLSSocket).encrypted, true)
    full.socket.destroy()
    await assert.rejects(
      connectBackend({ host: '127.0.0.1', port, sslMode: 'verify-full' }, params, 'scr@m pw'),
      /TLS to the backend failed/,
    )
  })

  void it('a wrong or missing backend password fails with the backend error', async () => {
    const target = { host: '127.0.0.1', port, sslMode: 'disable' as const }
    await assert.rejects(
      connectBackend(
        target,
        new Map([
          ['user', 'scramuser'],
          ['database', 'postgres'],
        ]),
        'wrong',
      ),
      (err: Error & { fields?: Map<string, string> }) => err.fields?.get('C') === '28P01',
    )
    await assert.rejects(
      connectBackend(
        target,
        new Map([
          ['user', 'scramuser'],
          ['database', 'postgres'],
        ]),
        undefined,
      ),
      /asks for a password/,
    )
  })
})
