/**
 * The database proxy through the CLI, as a user runs it: `podtrust db add` / `db list --json`, then
 * `podtrust up --db-proxy-port Q` (TLS from DIR/ca/ca.pem) and the standalone `podtrust dbproxy --port P
 * --config FILE`, each reached by psql with a boto3 token signed with the bootstrap administrator's key.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import {
  cleanEnv,
  findOnPath,
  freePort,
  pythonHas,
  randomSuffix,
  removeDir,
  run,
  tempDir,
} from './helpers/index.ts'

const root = new URL('../..', import.meta.url).pathname
const POSTGRES_URL = process.env['PODTRUST_TEST_POSTGRES_URL']
const skip =
  POSTGRES_URL === undefined
    ? 'PODTRUST_TEST_POSTGRES_URL is not set (no PostgreSQL to proxy)'
    : findOnPath('psql') === undefined
      ? 'psql not found'
      : false

function podtrust(args: string[], home: string) {
  return run(process.execPath, [join(root, 'bin/podtrust.js'), ...args], {
    env: cleanEnv(home),
    cwd: home,
  })
}

/** Starts a long-running podtrust command; resolves when its stdout matches `ready`. */
function startDaemon(
  args: string[],
  home: string,
  ready: RegExp,
): Promise<{ child: ChildProcess; stdout: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/podtrust.js'), ...args], {
    env: cleanEnv(home, { PODTRUST_TEST_POSTGRES_URL: '' }),
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`not ready: ${err}`)), 30_000)
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve({ child, stdout: out })
      }
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)))
  })
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

void describe('dbproxy through the CLI', { skip }, () => {
  const suffix = randomSuffix()
  const database = `podtrust_dbcli_${suffix}`
  const role = `dbcli_${suffix}`
  let admin: pg.Client
  const dirs: string[] = []
  const children: ChildProcess[] = []
  let hasBoto3 = false

  before(async () => {
    hasBoto3 = await pythonHas('boto3')
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    await admin.query(`CREATE DATABASE ${database} OWNER ${role}`)
  })
  after(async () => {
    for (const c of children) await stop(c)
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    await admin?.end()
    for (const d of dirs) removeDir(d)
  })

  async function connectAsAdmin(dir: string, port: number): Promise<string> {
    const creds = await podtrust(['admin-credentials', '--data-dir', dir, '--env'], dir)
    assert.equal(creds.code, 0, creds.stderr)
    const key = /AWS_ACCESS_KEY_ID=(\S+)/.exec(creds.stdout)?.[1] as string
    const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(creds.stdout)?.[1] as string
    const token = await run(
      'python3',
      [
        '-c',
        `import boto3; print(boto3.client("rds").generate_db_auth_token(DBHostname="127.0.0.1", Port=${port}, DBUsername="${role}", Region="us-east-1"))`,
      ],
      {
        env: cleanEnv(join(dir, 'home'), {
          AWS_ACCESS_KEY_ID: key,
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_DEFAULT_REGION: 'us-east-1',
        }),
      },
    )
    assert.equal(token.code, 0, token.stderr)
    const conn = `host=127.0.0.1 port=${port} dbname=${database} user=${role} sslmode=verify-full sslrootcert=${join(dir, 'ca', 'ca.pem')}`
    const r = await run('psql', ['-X', '-At', conn, '-c', 'SELECT current_user'], {
      env: { PATH: process.env['PATH'] ?? '', PGPASSWORD: token.stdout.trim(), HOME: dir },
    })
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  }

  void it('db add, db list --json, then up --db-proxy-port serves it with TLS from DIR/ca/ca.pem', async (t) => {
    if (!hasBoto3) return t.skip('python3 with boto3 not found')
    const dir = tempDir('podtrust-dbcli-')
    dirs.push(dir)
    const port = await freePort()
    const add = await podtrust(
      [
        'db',
        'add',
        'app',
        '--data-dir',
        dir,
        '--backend',
        `postgres://${role}@127.0.0.1:5432/${database}`,
        '--endpoint',
        `127.0.0.1:${port}`,
        '--iam-users',
        role,
      ],
      dir,
    )
    assert.equal(add.code, 0, add.stderr)
    const list = await podtrust(['db', 'list', '--data-dir', dir, '--json'], dir)
    assert.equal(list.code, 0, list.stderr)
    const [entry] = JSON.parse(list.stdout) as {
      name: string
      resourceId: string
      endpoint: string
    }[]
    assert.equal(entry?.name, 'app')
    assert.match(entry?.resourceId ?? '', /^db-[A-Z0-9]{26}$/)
    assert.equal(entry?.endpoint, `127.0.0.1:${port}`)
    const bad = await podtrust(
      ['db', 'add', 'x', '--data-dir', dir, '--backend', 'redis://h', '--endpoint', 'h:1'],
      dir,
    )
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /not supported/)

    const up = await startDaemon(
      [
        'up',
        '--port',
        '0',
        '--https-port',
        '0',
        '--data-dir',
        dir,
        '--db-proxy-port',
        String(port),
        '--log-level',
        'silent',
      ],
      dir,
      /db proxy/,
    )
    children.push(up.child)
    assert.match(up.stdout, new RegExp(`db proxy +127\\.0\\.0\\.1:${port}`))
    assert.equal(await connectAsAdmin(dir, port), role)
    await stop(up.child)
  })

  void it('podtrust dbproxy --port P --config FILE runs standalone', async (t) => {
    if (!hasBoto3) return t.skip('python3 with boto3 not found')
    const dir = tempDir('podtrust-dbcli-')
    dirs.push(dir)
    const port = await freePort()
    const config = join(dir, 'databases.yaml')
    writeFileSync(
      config,
      `databases:\n  - identifier: standalone\n    endpoint: 127.0.0.1:${port}\n    backend: postgres://${role}@127.0.0.1:5432/${database}\n`,
    )
    const proxy = await startDaemon(
      [
        'dbproxy',
        '--port',
        String(port),
        '--config',
        config,
        '--data-dir',
        dir,
        '--log-level',
        'silent',
      ],
      dir,
      /ready/,
    )
    children.push(proxy.child)
    assert.match(proxy.stdout, new RegExp(`ready on 127\\.0\\.0\\.1:${port}`))
    assert.equal(await connectAsAdmin(dir, port), role)
    await stop(proxy.child)
  })
})
