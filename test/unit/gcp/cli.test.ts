import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { main } from '../../../src/cli/main.ts'
import { applyConfig } from '../../../src/server/config.ts'
import { getBindings } from '../../../src/gcp/repo.ts'
import {
  applyJsonPatch,
  defaultWebhookConfig,
  mutate,
  type Pod,
} from '../../../src/mutation/index.ts'
import { openDb } from '../../../src/server/store.ts'

const BASE = 'iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kube'
const SA = 'app-sa@demo-project.iam.gserviceaccount.com'

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

async function seeded(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-gcp-cli-'))
  const db = await openDb({ dataDir: dir })
  await applyConfig(
    db,
    `gcp:
  projects:
    - projectId: demo-project
      projectNumber: '123456789012'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: 'https://127.0.0.1:7443' }
      serviceAccounts:
        - accountId: app-sa
`,
    { accountId: '000000000000', region: 'us-east-1', now: new Date() },
  )
  await db.close()
  return dir
}

void test('gcp cred-config writes an external_account file pointing at podtrust', async () => {
  const dir = await seeded()
  try {
    const plain = await run(dir, [
      'gcp',
      'cred-config',
      '--data-dir',
      dir,
      '--project',
      'demo-project',
      '--pool',
      'kube',
      '--provider',
      'local',
      '--url',
      'http://127.0.0.1:9999/',
      '--token-file',
      '/t',
    ])
    assert.equal(plain.code, 0, plain.stderr)
    const config = JSON.parse(plain.stdout) as Record<string, unknown>
    assert.equal(config['type'], 'external_account')
    assert.equal(config['audience'], `//${BASE}/providers/local`)
    assert.equal(config['token_url'], 'http://127.0.0.1:9999/v1/token')
    assert.equal(config['token_info_url'], 'http://127.0.0.1:9999/v1/introspect')
    assert.deepEqual(config['credential_source'], { file: '/t', format: { type: 'text' } })
    const out = join(dir, 'cred.json')
    const imp = await run(dir, [
      'gcp',
      'cred-config',
      '--data-dir',
      dir,
      '--project',
      '123456789012',
      '--pool',
      'kube',
      '--provider',
      'local',
      '--service-account',
      SA,
      '--lifetime',
      '1800',
      '--output',
      out,
    ])
    assert.equal(imp.code, 0, imp.stderr)
    const impConfig = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>
    assert.equal(
      impConfig['service_account_impersonation_url'],
      `http://127.0.0.1:7070/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    )
    assert.deepEqual(impConfig['service_account_impersonation'], { token_lifetime_seconds: 1800 })
    assert.equal(impConfig['token_info_url'], undefined)
    const missing = await run(dir, [
      'gcp',
      'cred-config',
      '--data-dir',
      dir,
      '--project',
      'demo-project',
      '--pool',
      'kube',
      '--provider',
      'nope',
    ])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /provider 'nope' is not declared/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('gcp add-binding / remove-binding / list', async () => {
  const dir = await seeded()
  try {
    const member = `principalSet://${BASE}/attribute.namespace/default`
    const add = await run(dir, ['gcp', 'add-binding', SA, '--member', member, '--data-dir', dir])
    assert.equal(add.code, 0, add.stderr)
    const again = await run(dir, ['gcp', 'add-binding', SA, '--member', member, '--data-dir', dir])
    assert.equal(again.code, 0)
    const db = await openDb({ dataDir: dir })
    assert.deepEqual(await getBindings(db, SA), [
      { role: 'roles/iam.workloadIdentityUser', members: [member] },
    ])
    await db.close()
    const list = await run(dir, ['gcp', 'list', '--data-dir', dir])
    assert.match(list.stdout, /provider local\thttps:\/\/127\.0\.0\.1:7443/)
    assert.ok(list.stdout.includes(`roles/iam.workloadIdentityUser\t${member}`))
    const remove = await run(dir, [
      'gcp',
      'remove-binding',
      SA,
      '--member',
      member,
      '--data-dir',
      dir,
    ])
    assert.equal(remove.code, 0, remove.stderr)
    const removeAgain = await run(dir, [
      'gcp',
      'remove-binding',
      SA,
      '--member',
      member,
      '--data-dir',
      dir,
    ])
    assert.equal(removeAgain.code, 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('gcp CLI usage errors exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-gcp-cli-'))
  try {
    const cases: [string[], RegExp][] = [
      [['gcp'], /missing subcommand/],
      [['gcp', 'nope'], /unknown subcommand/],
      [['gcp', 'add-binding'], /missing service account EMAIL/],
      [['gcp', 'add-binding', SA, '--member', 'everyone'], /not a valid IAM member/],
      [['gcp', 'add-binding', SA], /missing --member/],
      [['gcp', 'cred-config', '--url', 'ftp://x'], /is not a base URL/],
      [['gcp', 'cred-config', '--lifetime', '5'], /--lifetime must be/],
      [['gcp', 'list', 'x'], /unexpected argument/],
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

void test('gcp cred-config --configmap prints a ConfigMap manifest the webhook mounts', async () => {
  const dir = await seeded()
  try {
    const base = [
      'gcp',
      'cred-config',
      '--data-dir',
      dir,
      '--project',
      'demo-project',
      '--pool',
      'kube',
    ]
    const r = await run(dir, [
      ...base,
      '--provider',
      'local',
      '--service-account',
      SA,
      '--url',
      'https://podtrust.podtrust-system.svc:8443',
      '--configmap',
      'podtrust-gcp-app',
      '--namespace',
      'team-a',
    ])
    assert.equal(r.code, 0, r.stderr)
    const manifest = parseYaml(r.stdout) as {
      apiVersion: string
      kind: string
      metadata: { name: string; namespace: string; labels: Record<string, string> }
      data: Record<string, string>
    }
    assert.equal(manifest.apiVersion, 'v1')
    assert.equal(manifest.kind, 'ConfigMap')
    assert.deepEqual(manifest.metadata, {
      name: 'podtrust-gcp-app',
      namespace: 'team-a',
      labels: { 'app.kubernetes.io/managed-by': 'podtrust' },
    })
    assert.deepEqual(Object.keys(manifest.data), ['credential-configuration.json'])
    const config = JSON.parse(manifest.data['credential-configuration.json'] ?? '') as Record<
      string,
      unknown
    >
    assert.equal(config['audience'], `//${BASE}/providers/local`)
    assert.equal(config['token_url'], 'https://podtrust.podtrust-system.svc:8443/v1/token')
    assert.equal(
      config['service_account_impersonation_url'],
      `https://podtrust.podtrust-system.svc:8443/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    )
    // The file the credential config reads is the token the webhook projects, and the webhook mounts this
    // ConfigMap where GOOGLE_APPLICATION_CREDENTIALS points.
    const source = config['credential_source'] as { file: string }
    const sa = {
      metadata: {
        name: 'app',
        namespace: 'team-a',
        annotations: {
          'iam.gke.io/gcp-service-account': SA,
          'podtrust.io/gcp-workload-identity-provider': String(config['audience']).slice(
            '//iam.googleapis.com/'.length,
          ),
        },
      },
    }
    const pod: Pod = {
      metadata: { name: 'p' },
      spec: { serviceAccountName: 'app', containers: [{ name: 'c' }] },
    }
    const result = mutate({
      endpoint: 'aws',
      pod,
      namespace: 'team-a',
      serviceAccount: sa,
      podIdentity: false,
      config: defaultWebhookConfig(),
      random: () => 0,
    })
    assert.equal(result.kind, 'patch')
    const mutated = applyJsonPatch(pod, result.kind === 'patch' ? result.patch : [])
    const volumes = mutated.spec?.volumes ?? []
    const cm = volumes.find((v) => v['configMap'] !== undefined)?.['configMap'] as { name: string }
    assert.equal(cm.name, manifest.metadata.name)
    const token = volumes.find((v) => v['name'] === 'podtrust-gcp-token')
    assert.match(JSON.stringify(token), new RegExp(`"audience":"${String(config['audience'])}"`))
    const c = mutated.spec?.containers?.[0] as unknown as {
      env: { name: string; value: string }[]
      volumeMounts: { name: string; mountPath: string }[]
    }
    const tokenMount = c.volumeMounts.find((m) => m.name === 'podtrust-gcp-token')
    assert.equal(source.file, `${tokenMount?.mountPath}/token`)
    const credMount = c.volumeMounts.find((m) => m.name === 'podtrust-gcp-credentials')
    assert.equal(
      c.env.find((e) => e.name === 'GOOGLE_APPLICATION_CREDENTIALS')?.value,
      `${credMount?.mountPath}/credential-configuration.json`,
    )

    const out = join(dir, 'cm.yaml')
    const written = await run(dir, [
      ...base,
      '--provider',
      'local',
      '--configmap',
      'shared',
      '--token-file',
      '/t/token',
      '--output',
      out,
    ])
    assert.equal(written.code, 0, written.stderr)
    const file = parseYaml(readFileSync(out, 'utf8')) as {
      metadata: Record<string, unknown>
      data: Record<string, string>
    }
    assert.equal(file.metadata['namespace'], undefined)
    const fileConfig = JSON.parse(file.data['credential-configuration.json'] ?? '') as {
      credential_source: { file: string }
    }
    assert.equal(fileConfig.credential_source.file, '/t/token')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

void test('gcp cred-config --configmap usage errors exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-gcp-cli-'))
  try {
    const cases: [string[], RegExp][] = [
      [['gcp', 'cred-config', '--namespace', 'a'], /--namespace needs --configmap/],
      [['gcp', 'cred-config', '--configmap', 'Bad_Name'], /is not a valid ConfigMap name/],
      [
        ['gcp', 'cred-config', '--configmap', `a${'b'.repeat(253)}`],
        /is not a valid ConfigMap name/,
      ],
      [
        ['gcp', 'cred-config', '--configmap', 'ok', '--namespace', 'No'],
        /is not a valid namespace/,
      ],
      [['gcp', 'list', '--configmap', 'ok'], /only applies to gcp cred-config/],
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

void test('gcp list and bindings use $PODTRUST_STORE like every store command; --store wins', async () => {
  const dir = await seeded()
  try {
    // Another store, named by the variable only: the project lives there, not in the data directory.
    const other = `sqlite:${join(dir, 'other.db')}`
    const env = { PODTRUST_STORE: other }
    writeFileSync(
      join(dir, 'p.yaml'),
      "gcp:\n  projects:\n    - projectId: other-project\n      projectNumber: '42'\n      serviceAccounts:\n        - accountId: other-sa\n",
    )
    assert.equal((await run(dir, ['apply', 'p.yaml', '--data-dir', dir], env)).code, 0)
    const viaEnv = await run(dir, ['gcp', 'list', '--data-dir', dir], env)
    assert.equal(viaEnv.code, 0, viaEnv.stderr)
    assert.match(viaEnv.stdout, /^project other-project \(42\)$/m)
    assert.doesNotMatch(viaEnv.stdout, /demo-project/)
    const member = `principalSet://${BASE}/attribute.namespace/default`
    const email = 'other-sa@other-project.iam.gserviceaccount.com'
    const add = await run(
      dir,
      ['gcp', 'add-binding', email, '--member', member, '--data-dir', dir],
      env,
    )
    assert.equal(add.code, 0, add.stderr)
    const db = await openDb({ dataDir: dir, url: other })
    try {
      assert.deepEqual(await getBindings(db, email), [
        { role: 'roles/iam.workloadIdentityUser', members: [member] },
      ])
    } finally {
      await db.close()
    }
    const cred = await run(
      dir,
      [
        'gcp',
        'cred-config',
        '--project',
        'demo-project',
        '--pool',
        'kube',
        '--provider',
        'local',
        '--data-dir',
        dir,
      ],
      env,
    )
    assert.equal(cred.code, 1, 'demo-project is not in the store the variable names')
    // --store names the data directory's file again, over the variable.
    const flag = await run(
      dir,
      ['gcp', 'list', '--data-dir', dir, '--store', `sqlite:${join(dir, 'podtrust.db')}`],
      env,
    )
    assert.match(flag.stdout, /^project demo-project/m)
    assert.doesNotMatch(flag.stdout, /other-project/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
