/**
 * IAM database authentication in front of a real PostgreSQL, end to end with real clients: tokens from
 * boto3 `generate_db_auth_token`, `aws rds generate-db-auth-token` (CLI v1) and `@aws-sdk/rds-signer` under
 * IRSA, Pod Identity and access-key credentials; connections from psql (sslmode=verify-full against
 * podtrust's CA), node `pg`, psycopg2 and pgbench. The refusals follow RDS: TLS required, a token is the
 * signed `connect` request for the dialled host:port and user, valid 15 minutes, and `rds-db:connect` must
 * be allowed on the dbuser ARN (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { startupMessage } from '../../src/dbproxy/pg/protocol.ts'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { Signer } from '@aws-sdk/rds-signer'
import { fromContainerMetadata, fromTokenFile } from '@aws-sdk/credential-providers'
import pg from 'pg'
import type { AuditLog } from '../../src/audit/log.ts'
import { newResourceId } from '../../src/dbproxy/instances.ts'
import { createDbInstanceRepo } from '../../src/dbproxy/repo.ts'
import { run } from './helpers/index.ts'
import {
  connectArn,
  type DbFixture,
  hasAws,
  hasBoto3,
  hasPgbench,
  hasPsql,
  POSTGRES_URL,
  psql,
  psycopgPython,
  startDbFixture,
} from './dbproxy/fixture.ts'

const skip =
  POSTGRES_URL === undefined
    ? 'PODTRUST_TEST_POSTGRES_URL is not set (no PostgreSQL to proxy)'
    : false

function pgClient(f: DbFixture, token: string, user = f.role): pg.Client {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: f.port,
    user,
    database: f.database,
    password: token,
    ssl: { ca: readFileSync(f.caFile, 'utf8') },
  })
  client.on('error', () => {})
  return client
}

async function pgRefusal(
  f: DbFixture,
  token: string,
  user = f.role,
): Promise<{ code?: string; message: string }> {
  const client = pgClient(f, token, user)
  try {
    await client.connect()
    await client.end()
    return { message: 'connected' }
  } catch (err) {
    const e = err as { code?: string; message: string }
    return { ...(e.code === undefined ? {} : { code: e.code }), message: e.message }
  }
}

/** Waits (up to 5 s) until `SELECT pg_sleep(30)` is active on the backend, `where` narrowing the session. */
async function untilSleepRuns(f: DbFixture, where = ''): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await f.admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active' ${where}`,
    )
    if (r.rows[0].n > 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function lastEvents(f: DbFixture, n: number) {
  const log = f.sts.server.ctx.audit as AuditLog
  return (await log.tail({ limit: n, eventName: 'connect' })).map((e) => e.event).reverse()
}

void describe('dbproxy: IAM database authentication for PostgreSQL', { skip }, () => {
  let f: DbFixture
  before(async () => {
    f = await startDbFixture()
  })
  after(async () => {
    await f?.close()
  })

  void it('psql with a boto3 token under IRSA: create, insert, select, COPY both ways', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    if (!hasBoto3) return t.skip('python3 with boto3 not found')
    const token = await f.boto3Token(f.irsaEnv(), f.role)
    assert.match(
      token,
      new RegExp(`^127\\.0\\.0\\.1:${f.port}/\\?Action=connect&DBUser=${f.role}&`),
    )
    const r = await psql(
      f,
      token,
      [
        '-c',
        'CREATE TABLE items (id int PRIMARY KEY, name text)',
        '-c',
        "INSERT INTO items VALUES (1, 'one'), (2, 'two')",
        '-c',
        '\\copy items FROM STDIN WITH (FORMAT csv)',
        '-c',
        'SELECT current_user, count(*), sum(id) FROM items',
        '-c',
        '\\copy (SELECT name FROM items ORDER BY id) TO STDOUT',
      ],
      { input: '3,three\n4,four\n' },
    )
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.ok(lines.includes(`${f.role}|4|10`), r.stdout)
    assert.deepEqual(lines.slice(-4), ['one', 'two', 'three', 'four'])
    const [event] = await lastEvents(f, 1)
    assert.equal(event?.eventSource, 'rds-db.amazonaws.com')
    assert.equal(event?.errorCode, undefined)
    assert.equal(event?.userIdentity.type, 'AssumedRole')
    assert.match(String(event?.userIdentity.arn), /assumed-role\/irsa-db\/db-session$/)
    assert.equal(event?.requestParameters?.['dbUser'], f.role)
    assert.equal(event?.requestParameters?.['dbiResourceId'], f.resourceId)
    assert.equal(event?.sourceIPAddress, '127.0.0.1')
  })

  void it('node pg with an @aws-sdk/rds-signer token under IRSA: prepared statements, LISTEN/NOTIFY', async () => {
    const env = f.irsaEnv()
    const signer = new Signer({
      hostname: '127.0.0.1',
      port: f.port,
      username: f.role,
      region: 'us-east-1',
      credentials: fromTokenFile({
        roleArn: env['AWS_ROLE_ARN'] as string,
        webIdentityTokenFile: env['AWS_WEB_IDENTITY_TOKEN_FILE'] as string,
        roleSessionName: 'js-db',
        clientConfig: { endpoint: f.sts.server.baseUrl, region: 'us-east-1' },
      }),
    })
    const token = await signer.getAuthToken()
    const client = pgClient(f, token)
    await client.connect()
    const listener = pgClient(f, await signer.getAuthToken())
    await listener.connect()
    try {
      await client.query('CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v int)')
      for (let i = 0; i < 5; i++)
        await client.query({
          name: 'put',
          text: 'INSERT INTO kv VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2',
          values: [`k${i}`, i * i],
        })
      const res = await client.query({
        name: 'get',
        text: 'SELECT v FROM kv WHERE k = $1',
        values: ['k3'],
      })
      assert.equal(res.rows[0].v, 9)
      const got = new Promise<string>((resolve) =>
        listener.on('notification', (n) => resolve(String(n.payload))),
      )
      await listener.query('LISTEN podtrust_events')
      await client.query("NOTIFY podtrust_events, 'hello through the proxy'")
      assert.equal(await got, 'hello through the proxy')
    } finally {
      await client.end()
      await listener.end()
    }
  })

  void it('psycopg2 with an AWS CLI token under Pod Identity credentials', async (t) => {
    if (psycopgPython === undefined) return t.skip('python3-psycopg2 not installed')
    if (!hasAws) return t.skip('aws CLI not found')
    const token = await f.cliToken(await f.podIdentityEnv(), f.role)
    const script = [
      'import psycopg2,sys',
      'c = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), dbname=sys.argv[2], user=sys.argv[3], password=sys.argv[4], sslmode="verify-full", sslrootcert=sys.argv[5])',
      'cur = c.cursor(); cur.execute("SELECT current_user, %s::int + 1", (41,)); print(cur.fetchone()); c.close()',
    ].join('\n')
    const r = await run(
      psycopgPython,
      ['-c', script, String(f.port), f.database, f.role, token, f.caFile],
      {
        env: { PATH: process.env['PATH'] ?? '' },
      },
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), `('${f.role}', 42)`)
    const [event] = await lastEvents(f, 1)
    assert.match(String(event?.userIdentity.arn), /assumed-role\/pi-db\//)
  })

  void it('a boto3 token under Pod Identity and a JS token from container credentials both connect', async (t) => {
    if (!hasBoto3) return t.skip('python3 with boto3 not found')
    const env = await f.podIdentityEnv()
    const boto = await f.boto3Token(env, f.role)
    const previous = { ...process.env }
    process.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = env['AWS_CONTAINER_CREDENTIALS_FULL_URI']
    process.env['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'] =
      env['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']
    let js: string
    try {
      const { fromHttp } = await import('@aws-sdk/credential-providers')
      js = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.role,
        region: 'us-east-1',
        credentials: fromHttp({}),
      }).getAuthToken()
    } finally {
      process.env = previous
    }
    void fromContainerMetadata
    for (const token of [boto, js]) {
      const client = pgClient(f, token)
      await client.connect()
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1)
      await client.end()
    }
  })

  void it('a cancelled long query: psql sends CancelRequest on SIGINT and the backend query stops', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    const token = await f.boto3Token(f.keysEnv(f.allowed), f.role).catch(() => '')
    if (token === '') return t.skip('python3 with boto3 not found')
    const conn = `host=127.0.0.1 port=${f.port} dbname=${f.database} user=${f.role} sslmode=verify-full sslrootcert=${f.caFile}`
    const started = Date.now()
    const child = spawn('psql', ['-X', '-At', conn, '-c', 'SELECT pg_sleep(30)'], {
      env: { PATH: process.env['PATH'] ?? '', PGPASSWORD: token, HOME: f.sts.dir },
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // Wait until the query runs on the backend, then interrupt psql (it sends a CancelRequest).
    await untilSleepRuns(f)
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.notEqual(code, 0)
    assert.match(stderr, /canceling statement due to user request/)
    assert.ok(Date.now() - started < 20_000, 'the query stopped long before pg_sleep(30) ended')
  })

  void it('pgbench initializes (COPY) and runs select-only with a new connection per transaction', async (t) => {
    if (!hasPgbench) return t.skip('pgbench not found')
    const token = await f.boto3Token(f.keysEnv(f.allowed), f.role).catch(() => '')
    if (token === '') return t.skip('python3 with boto3 not found')
    const env = {
      PATH: process.env['PATH'] ?? '',
      PGPASSWORD: token,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: f.caFile,
      HOME: f.sts.dir,
    }
    const common = ['-h', '127.0.0.1', '-p', String(f.port), '-U', f.role]
    const init = await run('pgbench', ['-i', '-s', '1', '-q', ...common, f.database], { env })
    assert.equal(init.code, 0, init.stderr)
    const bench = await run(
      'pgbench',
      ['-n', '-S', '-C', '-c', '2', '-t', '20', ...common, f.database],
      { env },
    )
    assert.equal(bench.code, 0, bench.stderr)
    assert.match(bench.stdout, /number of transactions actually processed: 40\/40/)
  })

  void it('an instance declared after start under a new host name gets a certificate for it (SNI, verify-full)', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    const host = `orders-${Date.now()}.db.example`
    const db = f.sts.server.ctx.db
    const [existing] = await createDbInstanceRepo(db).list()
    await createDbInstanceRepo(db).put(
      {
        ...existing!,
        name: `sni-${Date.now()}`,
        resourceId: newResourceId(),
        endpoint: `${host}:${f.port}`,
      },
      new Date(),
    )
    await new Promise((r) => setTimeout(r, 1100)) // instances are re-read once a second
    const token = await new Signer({
      hostname: host,
      port: f.port,
      username: f.role,
      region: 'us-east-1',
      credentials: f.allowed,
    }).getAuthToken()
    const conn = `host=${host} hostaddr=127.0.0.1 port=${f.port} dbname=${f.database} user=${f.role} sslmode=verify-full sslrootcert=${f.caFile}`
    const r = await run('psql', ['-X', '-At', conn, '-c', 'SELECT 5'], {
      env: { PATH: process.env['PATH'] ?? '', PGPASSWORD: token, HOME: f.sts.dir },
    })
    // The allowed user's policy names the first instance's resource id only: TLS and routing work, the
    // authorizer then refuses this instance, as RDS would for another DbiResourceId.
    assert.match(r.stderr, new RegExp(`PAM authentication failed for user "${f.role}"`))
    const [event] = await lastEvents(f, 1)
    assert.equal(event?.errorCode, 'AccessDenied')
    assert.equal(event?.additionalEventData?.['serverName'], host)
  })

  void it('a backend on a Unix socket (libpq-style socket directory): the session and a cancel go over it', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    const socketDir = process.env['PODTRUST_TEST_POSTGRES_SOCKET_DIR'] ?? '/var/run/postgresql'
    const pgPort = Number(new URL(POSTGRES_URL as string).port || 5432)
    if (!existsSync(`${socketDir}/.s.PGSQL.${pgPort}`))
      return t.skip(`no PostgreSQL socket in ${socketDir}`)
    const host = `socket-${Date.now()}.db.example`
    const resourceId = newResourceId()
    await createDbInstanceRepo(f.sts.server.ctx.db).put(
      {
        name: `socket-${Date.now()}`,
        resourceId,
        engine: 'postgres',
        endpoint: `${host}:${f.port}`,
        backend: `postgres://${f.role}@${encodeURIComponent(socketDir)}:${pgPort}/${f.database}`,
        iamUsers: [f.role],
      },
      new Date(),
    )
    const keys = await f.addUserWithPolicy(`socket-${Date.now()}`, [
      { Effect: 'Allow', Action: 'rds-db:connect', Resource: connectArn(resourceId, f.role) },
    ])
    await new Promise((r) => setTimeout(r, 1100)) // instances are re-read once a second
    const token = await new Signer({
      hostname: host,
      port: f.port,
      username: f.role,
      region: 'us-east-1',
      credentials: keys,
    }).getAuthToken()
    const conn = `host=${host} hostaddr=127.0.0.1 port=${f.port} dbname=${f.database} user=${f.role} sslmode=verify-full sslrootcert=${f.caFile}`
    const env = { PATH: process.env['PATH'] ?? '', PGPASSWORD: token, HOME: f.sts.dir }
    // A session over a Unix socket has no server address (inet_server_addr() is NULL).
    const r = await run(
      'psql',
      ['-X', '-At', conn, '-c', "SELECT coalesce(host(inet_server_addr()), 'unix'), 6 * 7"],
      { env },
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'unix|42')
    // CancelRequest is routed to the backend session over the same socket path.
    const child = spawn('psql', ['-X', '-At', conn, '-c', 'SELECT pg_sleep(30)'], { env })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    await untilSleepRuns(f, 'AND client_addr IS NULL')
    const started = Date.now()
    child.kill('SIGINT')
    await new Promise((resolve) => child.on('close', resolve))
    assert.match(stderr, /canceling statement due to user request/)
    assert.ok(Date.now() - started < 20_000, 'the query stopped long before pg_sleep(30) ended')
  })

  void it('an IAM-allowed user the backend does not know gets the same PAM failure (no such role stays hidden)', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    const host = `ghosts-${Date.now()}.db.example`
    const db = f.sts.server.ctx.db
    const [existing] = await createDbInstanceRepo(db).list()
    const resourceId = newResourceId()
    await createDbInstanceRepo(db).put(
      {
        name: `ghosts-${Date.now()}`,
        resourceId,
        engine: 'postgres',
        endpoint: `${host}:${f.port}`,
        backend: existing!.backend,
      },
      new Date(),
    )
    const keys = await f.addUserWithPolicy(`ghosts-${Date.now()}`, [
      { Effect: 'Allow', Action: 'rds-db:connect', Resource: connectArn(resourceId, '*') },
    ])
    await new Promise((r) => setTimeout(r, 1100))
    const token = await new Signer({
      hostname: host,
      port: f.port,
      username: 'no_such_role',
      region: 'us-east-1',
      credentials: keys,
    }).getAuthToken()
    const conn = `host=${host} hostaddr=127.0.0.1 port=${f.port} dbname=${f.database} user=no_such_role sslmode=verify-full sslrootcert=${f.caFile}`
    const r = await run('psql', ['-X', '-At', conn, '-c', 'SELECT 1'], {
      env: { PATH: process.env['PATH'] ?? '', PGPASSWORD: token, HOME: f.sts.dir },
    })
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /PAM authentication failed for user "no_such_role"/)
    assert.doesNotMatch(r.stderr, /does not exist/)
  })

  void it('PostgreSQL 17 direct SSL (ALPN postgresql, no SSLRequest) reaches the password prompt', async () => {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = tlsConnect(
        {
          host: '127.0.0.1',
          port: f.port,
          ca: readFileSync(f.caFile, 'utf8'),
          ALPNProtocols: ['postgresql'],
        },
        () => {
          assert.equal(s.alpnProtocol, 'postgresql')
          s.write(
            startupMessage(
              new Map([
                ['user', f.role],
                ['database', f.database],
              ]),
            ),
          )
        },
      )
      s.once('data', (d: Buffer) => {
        s.destroy()
        resolve(d)
      })
      s.on('error', reject)
    })
    assert.equal(answer[0], 0x52) // 'R' AuthenticationRequest
    assert.equal(answer.readInt32BE(5), 3) // cleartext password: the IAM token
  })

  void it('faults: a killed backend ends the client session; garbage, oversized and vanishing clients are cut; the proxy keeps serving', async () => {
    const token = await new Signer({
      hostname: '127.0.0.1',
      port: f.port,
      username: f.role,
      region: 'us-east-1',
      credentials: f.allowed,
    }).getAuthToken()
    const client = pgClient(f, token)
    await client.connect()
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
    await f.admin.query('SELECT pg_terminate_backend($1)', [pid])
    await ended
    const raw = async (bytes: Buffer, closeEarly = false): Promise<Buffer> =>
      new Promise((resolve) => {
        const s = connect(f.port, '127.0.0.1', () => {
          s.write(bytes)
          if (closeEarly) s.destroy()
        })
        let got = Buffer.alloc(0)
        s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])))
        s.on('error', () => {})
        s.on('close', () => resolve(got))
      })
    const huge = Buffer.alloc(8)
    huge.writeUInt32BE(1_000_000, 0)
    huge.writeUInt32BE(196608, 4)
    assert.match((await raw(huge)).toString('latin1'), /invalid length of startup packet/)
    assert.match(
      (await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toString('latin1'),
      /08P01|invalid length|unsupported/,
    )
    await raw(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]), true)
    const again = pgClient(f, token)
    await again.connect()
    assert.equal((await again.query('SELECT 1 AS one')).rows[0].one, 1)
    await again.end()
  })

  void describe('refusals (all as PAM authentication failure, 28000, nothing about the user)', () => {
    const pam = (user: string) => new RegExp(`PAM authentication failed for user "${user}"`)

    void it('an expired token (older than 15 minutes)', async () => {
      const token = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.role,
        region: 'us-east-1',
        credentials: f.allowed,
      }).getAuthToken()
      assert.equal((await pgRefusal(f, token)).message, 'connected')
      f.setClockOffset(16 * 60 * 1000)
      try {
        const r = await pgRefusal(f, token)
        assert.equal(r.code, '28000')
        assert.match(r.message, pam(f.role))
      } finally {
        f.setClockOffset(0)
      }
      const [event] = await lastEvents(f, 1)
      assert.equal(event?.errorCode, 'ExpiredToken')
    })

    void it('a token for another database user', async () => {
      const token = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.otherRole,
        region: 'us-east-1',
        credentials: f.allowed,
      }).getAuthToken()
      const r = await pgRefusal(f, token, f.role)
      assert.equal(r.code, '28000')
      assert.match(r.message, pam(f.role))
      assert.equal((await lastEvents(f, 1))[0]?.errorCode, 'WrongUser')
    })

    void it('a token signed for another host or port', async () => {
      for (const [hostname, port] of [
        ['127.0.0.1', f.port + 1],
        ['db.example.com', f.port],
      ] as const) {
        const token = await new Signer({
          hostname,
          port,
          username: f.role,
          region: 'us-east-1',
          credentials: f.allowed,
        }).getAuthToken()
        const r = await pgRefusal(f, token)
        assert.equal(r.code, '28000')
        assert.match(r.message, pam(f.role))
      }
    })

    void it('a tampered token (signature, user or expiry changed)', async () => {
      const token = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.role,
        region: 'us-east-1',
        credentials: f.allowed,
      }).getAuthToken()
      const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0')
      const longer = token.replace('X-Amz-Expires=900', 'X-Amz-Expires=901')
      for (const bad of [flipped, longer, `${token}&extra=1`]) {
        const r = await pgRefusal(f, bad)
        assert.equal(r.code, '28000')
        assert.match(r.message, pam(f.role))
      }
      const [event] = await lastEvents(f, 1)
      assert.equal(event?.errorCode, 'SignatureDoesNotMatch')
    })

    void it('a caller whose policies do not allow rds-db:connect, and an unknown user: the same answer', async () => {
      const keys = await f.addUserWithPolicy('no-connect', [
        { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      ])
      const token = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.role,
        region: 'us-east-1',
        credentials: keys,
      }).getAuthToken()
      const denied = await pgRefusal(f, token)
      const ghostToken = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: 'nobody_here',
        region: 'us-east-1',
        credentials: f.allowed,
      }).getAuthToken()
      const ghost = await pgRefusal(f, ghostToken, 'nobody_here')
      assert.equal(denied.code, '28000')
      assert.equal(ghost.code, '28000')
      assert.equal(denied.message.replace(f.role, 'U'), ghost.message.replace('nobody_here', 'U'))
      const events = await lastEvents(f, 2)
      assert.equal(events[0]?.errorCode, 'UserNotEnabled')
      assert.equal(events[1]?.errorCode, 'AccessDenied')
    })

    void it('a Deny on aws:SourceIp', async () => {
      const keys = await f.addUserWithPolicy('ip-denied', [
        { Effect: 'Allow', Action: 'rds-db:connect', Resource: connectArn(f.resourceId, f.role) },
        {
          Effect: 'Deny',
          Action: 'rds-db:connect',
          Resource: '*',
          Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
        },
      ])
      const token = await new Signer({
        hostname: '127.0.0.1',
        port: f.port,
        username: f.role,
        region: 'us-east-1',
        credentials: keys,
      }).getAuthToken()
      const r = await pgRefusal(f, token)
      assert.equal(r.code, '28000')
      const [event] = await lastEvents(f, 1)
      assert.equal(event?.errorCode, 'AccessDenied')
      assert.match(String(event?.errorMessage), /explicit deny/)
    })

    void it('a plaintext connection (no TLS) is refused before any password is asked', async (t) => {
      if (!hasPsql) return t.skip('psql not found')
      const r = await psql(f, 'irrelevant', ['-c', 'SELECT 1'], { sslmode: 'disable' })
      assert.notEqual(r.code, 0)
      assert.match(
        r.stderr,
        new RegExp(
          `no pg_hba.conf entry for host "127.0.0.1", user "${f.role}", database "${f.database}", no encryption`,
        ),
      )
      assert.equal((await lastEvents(f, 1))[0]?.errorCode, 'NoEncryption')
    })
  })
})
