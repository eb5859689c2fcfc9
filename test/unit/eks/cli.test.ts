import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { main } from '../../../src/cli/main.ts'
import { createEksRepo } from '../../../src/aws/eks/repo.ts'
import { openDb } from '../../../src/server/store.ts'
import { getIssuer } from '../../../src/tokens/issuer.ts'

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await main(argv, { stdout, stderr, env, cwd })
  return { code, out, err }
}

void describe('podtrust cluster', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-cluster-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  void it('adds a cluster with its own podtrust issuer, lists and removes it', async () => {
    const add = await run(
      [
        'cluster',
        'add',
        'dev',
        '--data-dir',
        dir,
        '--region',
        'eu-west-1',
        '--account-id',
        '111122223333',
      ],
      dir,
    )
    assert.equal(add.code, 0, add.err)
    assert.match(add.out, /arn:aws:eks:eu-west-1:111122223333:cluster\/dev/)
    assert.match(add.out, /issuer: https:\/\/.*\/issuers\/cluster:dev/)
    const db = await openDb({ dataDir: dir })
    try {
      const row = await createEksRepo(db).getCluster('dev')
      assert.equal(row?.region, 'eu-west-1')
      assert.ok(
        await getIssuer(db, 'cluster:dev'),
        'the cluster issuer exists for podtrust token --cluster',
      )
    } finally {
      await db.close()
    }
    const list = await run(['cluster', 'list', '--data-dir', dir], dir)
    assert.match(list.out, /^dev\thttps:\/\/.*cluster:dev\n$/)
    const rm = await run(['cluster', 'remove', 'dev', '--data-dir', dir], dir)
    assert.equal(rm.code, 0)
    assert.equal((await run(['cluster', 'list', '--data-dir', dir], dir)).out, '')
    assert.equal((await run(['cluster', 'remove', 'dev', '--data-dir', dir], dir)).code, 1)
  })

  void it('registers a real cluster issuer', async () => {
    const add = await run(
      ['cluster', 'add', 'real', '--data-dir', dir, '--issuer', 'https://oidc.example.com/id/X/'],
      dir,
    )
    assert.equal(add.code, 0, add.err)
    assert.match(add.out, /issuer: https:\/\/oidc.example.com\/id\/X\n/)
  })

  void it('uses $PODTRUST_STORE like every store command; --store wins', async () => {
    const other = `sqlite:${join(dir, 'other.db')}`
    const env = { PODTRUST_STORE: other }
    const add = await run(['cluster', 'add', 'envy', '--data-dir', dir], dir, env)
    assert.equal(add.code, 0, add.err)
    assert.match((await run(['cluster', 'list', '--data-dir', dir], dir, env)).out, /^envy\t/m)
    assert.equal((await run(['cluster', 'list', '--data-dir', dir], dir)).out, '')
    const local = `sqlite:${join(dir, 'podtrust.db')}`
    assert.equal(
      (await run(['cluster', 'list', '--data-dir', dir, '--store', local], dir, env)).out,
      '',
    )
    const db = await openDb({ dataDir: dir, url: other })
    try {
      assert.equal((await createEksRepo(db).getCluster('envy'))?.name, 'envy')
    } finally {
      await db.close()
    }
    assert.equal((await run(['cluster', 'remove', 'envy', '--data-dir', dir], dir, env)).code, 0)
  })

  void it('rejects bad arguments with usage errors', async () => {
    const cases = [
      ['cluster'],
      ['cluster', 'frobnicate'],
      ['cluster', 'add'],
      ['cluster', 'add', '-bad-'],
      ['cluster', 'add', 'x', 'y'],
      ['cluster', 'add', 'x', '--issuer', 'not a url'],
      ['cluster', 'add', 'x', '--issuer', 'ftp://x'],
      ['cluster', 'add', 'x', '--issuer', 'http://oidc.example.com/id/X'],
      ['cluster', 'add', 'x', '--issuer', 'http://127.0.0.1:8080'],
      ['cluster', 'add', 'x', '--issuer', 'https://'],
      ['cluster', 'add', 'x', '--issuer', 'https://oidc.example.com/id/X?q'],
      ['cluster', 'add', 'x', '--issuer', 'https://oidc.example.com/id/X#f'],
      ['cluster', 'add', 'x', '--issuer', 'https://u:p@oidc.example.com'],
      ['cluster', 'add', 'x', '--issuer', ''],
      ['cluster', 'add', 'x', '--region', 'mars'],
      ['cluster', 'add', 'x', '--account-id', '123'],
      ['cluster', 'add', 'x', '--bogus'],
      ['cluster', 'list', '--issuer', 'https://x'],
    ]
    for (const argv of cases) {
      const r = await run([...argv, '--data-dir', dir], dir)
      assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code} ${r.err}`)
    }
    const http = await run(
      ['cluster', 'add', 'x', '--issuer', 'http://oidc.example.com/id/X', '--data-dir', dir],
      dir,
    )
    assert.match(
      http.err,
      /^podtrust: --issuer 'http:\/\/oidc\.example\.com\/id\/X' must be an https URL\n {2}hint: IAM accepts only https/,
    )
    const db = await openDb({ dataDir: dir })
    try {
      assert.deepEqual(await createEksRepo(db).listClusters(), [], 'nothing registered')
    } finally {
      await db.close()
    }
  })
})

void describe('podtrust agent arguments', () => {
  void it('rejects bad arguments before listening', async () => {
    const cases = [
      ['agent'],
      ['agent', '--server', 'http://127.0.0.1:1'],
      ['agent', '--server', 'nope', '--cluster', 'c'],
      ['agent', '--server', 'file:///x', '--cluster', 'c'],
      ['agent', '--server', 'http://127.0.0.1:1', '--cluster', '-x'],
      ['agent', '--server', 'http://127.0.0.1:1', '--cluster', 'c', '--port', '70000'],
      ['agent', '--server', 'http://127.0.0.1:1', '--cluster', 'c', '--port', '0'], // no credentials in env
    ]
    for (const argv of cases) {
      // No credentials anywhere: no variables, and a shared credentials file that does not exist.
      const r = await run(argv, tmpdir(), {
        AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'podtrust-none', 'x'),
      })
      assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code} ${r.err}`)
    }
  })
})
