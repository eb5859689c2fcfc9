/**
 * IAM database authentication for MariaDB/MySQL, as RDS for MySQL does it: TLS required, the token sent
 * with `mysql_clear_password` (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.AWSCLI.html),
 * in front of the local MariaDB, with the `mariadb` client and `mysql2` (the RDS docs' authPlugins form).
 * The proxy port also serves PostgreSQL (the start-up decides which protocol): psql still connects.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { readFileSync } from 'node:fs'
import { Signer } from '@aws-sdk/rds-signer'
import mysql from 'mysql2/promise'
import { newResourceId } from '../../src/dbproxy/instances.ts'
import { createDbInstanceRepo } from '../../src/dbproxy/repo.ts'
import type { AuditLog } from '../../src/audit/log.ts'
import { findOnPath, randomSuffix, run } from './helpers/index.ts'
import {
  connectArn,
  type DbFixture,
  hasPsql,
  POSTGRES_URL,
  psql,
  startDbFixture,
} from './dbproxy/fixture.ts'

const MYSQL_URL = process.env['PODTRUST_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306'

async function mysqlReachable(): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 })
    await c.end()
    return true
  } catch {
    return false
  }
}

const skip =
  POSTGRES_URL === undefined
    ? 'PODTRUST_TEST_POSTGRES_URL is not set (the shared fixture needs PostgreSQL)'
    : !(await mysqlReachable())
      ? `no MariaDB/MySQL at ${MYSQL_URL}`
      : false

void describe('dbproxy: IAM database authentication for MariaDB/MySQL', { skip }, () => {
  let f: DbFixture
  let admin: mysql.Connection
  const suffix = randomSuffix()
  const user = `dbpm_${suffix}`
  const database = `podtrust_dbproxy_${suffix}`
  let resourceId = ''
  const password = `pw-${randomSuffix()}`

  before(async () => {
    f = await startDbFixture()
    admin = await mysql.createConnection({ uri: MYSQL_URL })
    await admin.query(`CREATE DATABASE ${database}`)
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`)
    await admin.query(`GRANT ALL ON ${database}.* TO '${user}'@'%'`)
    const backend = new URL(MYSQL_URL)
    resourceId = newResourceId()
    const file = f.sts.writeFile('mysql-password', password)
    await createDbInstanceRepo(f.sts.server.ctx.db).put(
      {
        name: `maria-${suffix}`,
        resourceId,
        engine: 'mysql',
        endpoint: `127.0.0.1:${f.port}`,
        backend: `mysql://${user}@${backend.hostname}:${backend.port || 3306}/${database}`,
        iamUsers: [user],
        backendPasswords: { [user]: { file } },
      },
      new Date(),
    )
    mariaKeys = await f.addUserWithPolicy(`maria-${suffix}`, [
      { Effect: 'Allow', Action: 'rds-db:connect', Resource: connectArn(resourceId, user) },
    ])
    await new Promise((r) => setTimeout(r, 1100)) // the proxy re-reads instances once a second
  })
  after(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => {})
    await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => {})
    await admin?.end()
    await f?.close()
  })

  let mariaKeys: { accessKeyId: string; secretAccessKey: string }
  const token = async (keys = mariaKeys, username = user) =>
    new Signer({
      hostname: '127.0.0.1',
      port: f.port,
      username,
      region: 'us-east-1',
      credentials: keys,
    }).getAuthToken()

  void it('mysql2 with authPlugins.mysql_clear_password (the RDS docs form): create, insert, select', async () => {
    const t = await token()
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: f.port,
      user,
      database,
      ssl: { ca: readFileSync(f.caFile, 'utf8') },
      authPlugins: { mysql_clear_password: () => () => Buffer.from(`${t}\0`) },
    })
    try {
      await c.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))')
      await c.execute('INSERT INTO items VALUES (?, ?), (?, ?)', [1, 'one', 2, 'two'])
      const [rows] = await c.query('SELECT CURRENT_USER() AS u, COUNT(*) AS n FROM items')
      const row = (rows as { u: string; n: number }[])[0]
      assert.equal(row?.n, 2)
      assert.match(String(row?.u), new RegExp(`^${user}@`))
    } finally {
      await c.end()
    }
    const [event] = (
      await (f.sts.server.ctx.audit as AuditLog).tail({ limit: 1, eventName: 'connect' })
    ).map((e) => e.event)
    assert.equal(event?.requestParameters?.['engine'], 'mysql')
    assert.equal(event?.errorCode, undefined)
  })

  void it('the mariadb client over verified TLS; a bad token gets 1045, no TLS gets 3159', async (t) => {
    if (findOnPath('mariadb') === undefined) return t.skip('mariadb client not found')
    const args = (pw: string, ssl: boolean) => [
      '-h',
      '127.0.0.1',
      '-P',
      String(f.port),
      '-u',
      user,
      `--password=${pw}`,
      ...(ssl ? ['--ssl', `--ssl-ca=${f.caFile}`, '--ssl-verify-server-cert'] : ['--skip-ssl']),
      database,
      '-N',
      '-e',
      'SELECT 40 + 2',
    ]
    const env = { PATH: process.env['PATH'] ?? '', HOME: f.sts.dir }
    const ok = await run('mariadb', args(await token(), true), { env })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout.trim(), '42')
    const bad = (await token()).replace(/X-Amz-Signature=./, 'X-Amz-Signature=0')
    const denied = await run('mariadb', args(bad, true), { env })
    assert.notEqual(denied.code, 0)
    assert.match(
      denied.stderr,
      new RegExp(
        `ERROR 1045 \\(28000\\).*Access denied for user '${user}'@'127.0.0.1' \\(using password: YES\\)`,
      ),
    )
    const plain = await run('mariadb', args(await token(), false), { env })
    assert.notEqual(plain.code, 0)
    assert.match(plain.stderr, /3159|insecure transport/)
  })

  void it('psql still reaches PostgreSQL on the same port', async (t) => {
    if (!hasPsql) return t.skip('psql not found')
    const pgToken = await new Signer({
      hostname: '127.0.0.1',
      port: f.port,
      username: f.role,
      region: 'us-east-1',
      credentials: f.allowed,
    }).getAuthToken()
    const r = await psql(f, pgToken, ['-c', 'SELECT 7'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), '7')
  })
})
