import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { listFederatedCredentials } from '../../../src/azure/repo.ts'
import { main } from '../../../src/cli/main.ts'
import { applyConfig } from '../../../src/server/config.ts'
import { openDb } from '../../../src/server/store.ts'

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'

function capture() {
  let text = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk)
      cb()
    },
  })
  return { stream, text: () => text }
}

async function run(dir: string, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out = capture()
  const err = capture()
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, env, cwd: dir })
  return { code, stdout: out.text(), stderr: err.text() }
}

void test('azure fic add/list/remove against the data directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-cli-'))
  try {
    const db = await openDb({ dataDir: dir })
    await applyConfig(
      db,
      `azure:\n  tenants:\n    - tenantId: ${TENANT}\n      identities:\n        - name: app\n          clientId: ${CLIENT}\n`,
      { accountId: '000000000000', region: 'us-east-1', now: new Date() },
    )
    await db.close()
    const common = ['--data-dir', dir, '--tenant', TENANT, '--client-id', CLIENT]
    const add = await run(dir, [
      'azure',
      'fic',
      'add',
      ...common,
      '--name',
      'kube-app',
      '--issuer',
      'https://127.0.0.1:7443',
      '--subject',
      'system:serviceaccount:default:app',
    ])
    assert.equal(add.code, 0, add.stderr)
    const dup = await run(dir, [
      'azure',
      'fic',
      'add',
      ...common,
      '--name',
      'kube-app2',
      '--issuer',
      'https://127.0.0.1:7443',
      '--subject',
      'system:serviceaccount:default:app',
    ])
    assert.equal(dup.code, 1)
    assert.match(dup.stderr, /Issuer and subject combination already exists/)
    const list = await run(dir, ['azure', 'list', '--data-dir', dir])
    assert.match(
      list.stdout,
      /kube-app\thttps:\/\/127\.0\.0\.1:7443\tsystem:serviceaccount:default:app\tapi:\/\/AzureADTokenExchange/,
    )
    const remove = await run(dir, ['azure', 'fic', 'remove', ...common, '--name', 'kube-app'])
    assert.equal(remove.code, 0, remove.stderr)
    const db2 = await openDb({ dataDir: dir })
    assert.equal((await listFederatedCredentials(db2, TENANT, CLIENT)).length, 0)
    await db2.close()
    const unknown = await run(dir, [
      'azure',
      'fic',
      'add',
      '--data-dir',
      dir,
      '--tenant',
      TENANT,
      '--client-id',
      '99999999-2222-3333-4444-555555555555',
      '--name',
      'abc',
      '--issuer',
      'https://x',
      '--subject',
      's',
    ])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no identity with client id/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('azure env prints the webhook variables pointing at podtrust', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-cli-'))
  try {
    const r = await run(dir, [
      'azure',
      'env',
      '--tenant',
      TENANT,
      '--client-id',
      CLIENT,
      '--authority-host',
      'https://127.0.0.1:9443',
      '--data-dir',
      dir,
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^AZURE_CLIENT_ID=11111111-/m)
    assert.match(r.stdout, /^AZURE_AUTHORITY_HOST=https:\/\/127\.0\.0\.1:9443\/$/m)
    assert.match(r.stdout, new RegExp(`^NODE_EXTRA_CA_CERTS=${dir}/ca/ca.pem$`, 'm'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('azure CLI usage errors exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-cli-'))
  try {
    const cases: [string[], RegExp][] = [
      [['azure'], /missing subcommand/],
      [['azure', 'bogus'], /unknown subcommand/],
      [['azure', 'env', '--client-id', CLIENT], /missing --tenant/],
      [
        ['azure', 'env', '--tenant', TENANT, '--client-id', CLIENT, '--authority-host', 'http://x'],
        /must be https/,
      ],
      [['azure', 'env', '--tenant', 'common', '--client-id', CLIENT], /not a tenant id/],
      [['azure', 'list', 'extra'], /unexpected argument/],
      [['azure', 'list', '--nope'], /Unknown option/],
      [
        [
          'azure',
          'fic',
          'add',
          '--data-dir',
          dir,
          '--tenant',
          TENANT,
          '--client-id',
          CLIENT,
          '--name',
          'n1x',
          '--issuer',
          'https://i',
        ],
        /exactly one of --subject and --expression/,
      ],
    ]
    for (const [argv, pattern] of cases) {
      const r = await run(dir, argv)
      assert.equal(r.code, 2, argv.join(' '))
      assert.match(r.stderr, pattern, argv.join(' '))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('azure identity add creates the tenant and the identity, then fic add works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-cli-'))
  try {
    const added = await run(dir, [
      'azure',
      'identity',
      'add',
      '--data-dir',
      dir,
      '--tenant',
      TENANT.toUpperCase(),
      '--client-id',
      CLIENT,
      '--name',
      'cli-app',
    ])
    assert.equal(added.code, 0, added.stderr)
    assert.match(added.stdout, /added cli-app/)
    const fic = await run(dir, [
      'azure',
      'fic',
      'add',
      '--data-dir',
      dir,
      '--tenant',
      TENANT,
      '--client-id',
      CLIENT,
      '--name',
      'kube',
      '--issuer',
      'https://i',
      '--subject',
      's',
    ])
    assert.equal(fic.code, 0, fic.stderr)
    const list = await run(dir, ['azure', 'list', '--data-dir', dir])
    assert.match(
      list.stdout,
      new RegExp(`^${TENANT}\tcli-app\t${CLIENT}\tuserAssignedIdentity\t1 federated`, 'm'),
    )
    for (const [argv, pattern] of [
      [['--tenant', TENANT, '--client-id', 'x', '--name', 'n'], /is not a GUID/],
      [
        ['--tenant', TENANT, '--client-id', CLIENT, '--name', 'n', '--type', 'vm'],
        /--type must be/,
      ],
      [['--tenant', TENANT, '--client-id', CLIENT], /missing --name/],
    ] as [string[], RegExp][]) {
      const r = await run(dir, ['azure', 'identity', 'add', '--data-dir', dir, ...argv])
      assert.equal(r.code, 2)
      assert.match(r.stderr, pattern)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('azure identity add and list use $PODTRUST_STORE like every store command; --store wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-azure-cli-'))
  try {
    const other = `sqlite:${join(dir, 'other.db')}`
    const env = { PODTRUST_STORE: other }
    const add = await run(
      dir,
      [
        'azure',
        'identity',
        'add',
        '--tenant',
        TENANT,
        '--client-id',
        CLIENT,
        '--name',
        'app',
        '--data-dir',
        dir,
      ],
      env,
    )
    assert.equal(add.code, 0, add.stderr)
    const viaEnv = await run(dir, ['azure', 'list', '--data-dir', dir], env)
    assert.match(viaEnv.stdout, new RegExp(`^${TENANT}\tapp\t${CLIENT}\t`, 'm'))
    const dataDir = await run(dir, ['azure', 'list', '--data-dir', dir])
    assert.equal(dataDir.code, 0, dataDir.stderr)
    assert.equal(dataDir.stdout, '', 'nothing in the data directory store')
    const flag = await run(
      dir,
      ['azure', 'list', '--data-dir', dir, '--store', `sqlite:${join(dir, 'podtrust.db')}`],
      env,
    )
    assert.equal(flag.stdout, '', '--store wins over $PODTRUST_STORE')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
