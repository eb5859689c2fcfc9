/**
 * The proxy's backend login against a PostgreSQL that really runs SCRAM-SHA-256 and MD5
 * (https://www.postgresql.org/docs/current/auth-password.html): the machine's shared server trusts
 * 127.0.0.1, so this test initdb's its own throw-away cluster (as the `postgres` OS user when run as root,
 * since initdb refuses root) with `scram-sha-256` and `md5` lines in pg_hba.conf, on an ephemeral port.
 * A wrong backend password must fail the session with the backend's own error, never silently.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import type { TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { connectBackend } from '../../src/dbproxy/pg/backend.ts'
import { removeDir } from './helpers/index.ts'

const pgBin = existsSync('/usr/lib/postgresql')
  ? readdirSync('/usr/lib/postgresql')
      .map((v) => join('/usr/lib/postgresql', v, 'bin'))
      .find((d) => existsSync(join(d, 'initdb')))
  : undefined
const asRoot = process.getuid?.() === 0
const postgresUser = asRoot ? spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }) : undefined
const skip =
  pgBin === undefined
    ? 'no PostgreSQL server binaries (initdb) under /usr/lib/postgresql'
    : asRoot && postgresUser?.status !== 0
      ? 'running as root without a postgres OS user to run initdb as'
      : false

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** Runs a PostgreSQL binary as the postgres OS user when we are root. */
function pgCommand(bin: string, args: string[]): [string, string[]] {
  const full = join(pgBin as string, bin)
  return asRoot ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, args]
}

void describe('dbproxy backend login against a real SCRAM-SHA-256 / MD5 server', { skip }, () => {
  let dir = ''
  let port = 0
  let server: ReturnType<typeof spawn> | undefined
  let serverCa = ''

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-scram-pg-'))
    const data = join(dir, 'data')
    const pwfile = join(dir, 'pw')
    writeFileSync(pwfile, 'superpw\n')
    if (asRoot) {
      const uid = Number(postgresUser?.stdout.trim())
      chownSync(dir, uid, uid)
      chownSync(pwfile, uid, uid)
    }
    chmodSync(dir, 0o700)
    const [cmd, args] = pgCommand('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '-A',
      'scram-sha-256',
      '--no-sync',
    ])
    const init = spawnSync(cmd, args, { encoding: 'utf8' })
    assert.equal(init.status, 0, init.stderr)
    // A server certificate for the TLS link to the backend (sslmode=require / verify-full).
    const tls = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(data, 'server.key'),
        '-out',
        join(data, 'server.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { encoding: 'utf8' },
    )
    assert.equal(tls.status, 0, tls.stderr)
    if (asRoot) {
      const uid = Number(postgresUser?.stdout.trim())
      for (const f of ['server.key', 'server.crt']) chownSync(join(data, f), uid, uid)
    }
    chmodSync(join(data, 'server.key'), 0o600)
    serverCa = readFileSync(join(data, 'server.crt'), 'utf8')
    writeFileSync(
      join(data, 'pg_hba.conf'),
      ['host all md5user 127.0.0.1/32 md5', 'host all all 127.0.0.1/32 scram-sha-256', ''].join(
        '\n',
      ),
    )
    port = await freePort()
    const [scmd, sargs] = pgCommand('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'ssl=on',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
    ])
    server = spawn(scmd, sargs, { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      const [icmd, iargs] = pgCommand('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q'])
      if (spawnSync(icmd, iargs).status === 0) break
      await new Promise((r) => setTimeout(r, 200))
    }
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
  after(() => {
    server?.kill('SIGINT')
    if (dir !== '') removeDir(dir)
  })

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
