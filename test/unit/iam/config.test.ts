import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { iamConfigSections } from '../../../src/aws/iam/config.ts'
import { iamMigrations } from '../../../src/aws/iam/migrations.ts'
import { createIamRepo } from '../../../src/aws/iam/repo.ts'
import { applyConfig, exportConfig } from '../../../src/server/config.ts'
import type { ConfigSection } from '../../../src/config/section.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

const sections = iamConfigSections as readonly ConfigSection[]
const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-11-23T02:00:00Z'),
}

const YAML = `
version: 1
accounts:
  - id: '111122223333'
    alias: dev
policies:
  - name: S3ReadOnlyPolicy
    description: read the example bucket
    document:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Action: [s3:ListBucket, s3:GetObject]
          Resource: ['arn:aws:s3:::example-bucket/*']
    tags: { team: a }
oidcProviders:
  - url: https://oidc.example.com/id/ABC
    clientIds: [sts.amazonaws.com]
    tags: { cluster: dev }
users:
  - name: ci
    managedPolicies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    accessKeys:
      - id: AKIAQAAAAAAAGMGN4FVP
        secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
roles:
  - name: app
    path: /irsa/
    maxSessionDuration: 7200
    assumeRolePolicy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: { Federated: 'arn:aws:iam::000000000000:oidc-provider/oidc.example.com/id/ABC' }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals: { 'oidc.example.com/id/ABC:sub': 'system:serviceaccount:default:app' }
    policies:
      inline-sqs: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}'
    managedPolicies: [S3ReadOnlyPolicy, arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    permissionsBoundary: arn:aws:iam::aws:policy/ReadOnlyAccess
    tags: { env: dev }
  - name: chained
    account: '111122223333'
    assumeRolePolicy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: { AWS: 'arn:aws:iam::111122223333:role/other' }
          Action: sts:AssumeRole
  - name: other
    account: '111122223333'
    assumeRolePolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
`

for (const engine of engines) {
  void describe(`iam config sections (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    const opts = skip === undefined ? {} : { skip }

    void it('applies idempotently and export round-trips', opts, async () => {
      const t = await openTestDb(engine, { migrations: iamMigrations })
      try {
        assert.deepEqual(await applyConfig(t.db, YAML, env, sections), [
          'accounts',
          'policies',
          'oidcProviders',
          'users',
          'roles',
        ])
        const repo = createIamRepo(t.db)
        const role = await repo.getRole('000000000000', 'app')
        assert.equal(role?.arn, 'arn:aws:iam::000000000000:role/irsa/app')
        assert.equal(role?.maxSessionDuration, 7200)
        const docs = await repo.getRolePolicyDocuments('000000000000', 'app')
        assert.deepEqual(
          docs.map((d) => d.id),
          [
            'role/app/inline/inline-sqs',
            'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
            'arn:aws:iam::000000000000:policy/S3ReadOnlyPolicy',
          ],
        )
        assert.equal((await repo.getAccessKey('AKIAQAAAAAAAGMGN4FVP'))?.userName, 'ci')
        assert.equal(
          (await repo.getOidcProviderByUrl('000000000000', 'oidc.example.com/id/ABC'))
            ?.clientIds[0],
          'sts.amazonaws.com',
        )
        assert.equal((await repo.getRole('111122223333', 'chained'))?.accountId, '111122223333')
        const roleId = role?.roleId
        const first = await exportConfig(t.db, env, sections)
        await applyConfig(t.db, YAML, env, sections)
        await applyConfig(t.db, first, env, sections)
        assert.equal(await exportConfig(t.db, env, sections), first)
        assert.equal((await repo.getRole('000000000000', 'app'))?.roleId, roleId)
        assert.equal(
          (await repo.listPolicyVersions('arn:aws:iam::000000000000:policy/S3ReadOnlyPolicy'))
            .length,
          1,
        )
        const exported = parse(first) as { users: { name: string }[]; roles: { name: string }[] }
        assert.ok(!first.includes('wJalrXUtnFEMI'), 'secrets are never exported')
        assert.deepEqual(
          exported.roles.map((r) => r.name),
          ['app', 'chained', 'other'],
        )
        // a changed document becomes a new default version; removed attachments are detached
        const changed = YAML.replace('s3:ListBucket, s3:GetObject', 's3:GetObject').replace(
          'managedPolicies: [S3ReadOnlyPolicy, arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]',
          'managedPolicies: [S3ReadOnlyPolicy]',
        )
        await applyConfig(t.db, changed, env, sections)
        const versions = await repo.listPolicyVersions(
          'arn:aws:iam::000000000000:policy/S3ReadOnlyPolicy',
        )
        assert.deepEqual(
          versions.map((v) => [v.versionId, v.isDefaultVersion]),
          [
            ['v2', true],
            ['v1', false],
          ],
        )
        assert.equal((await repo.listAttachedPolicies('000000000000', 'role', 'app')).length, 1)
      } finally {
        await t.cleanup()
      }
    })
  })
}

void describe('iam config sections: malformed input', () => {
  const bad: [string, RegExp][] = [
    ['roles: {}', /^roles: expected a list/],
    ['roles:\n  - name: a\n', /^roles\[0\]\.assumeRolePolicy: is required/],
    ['roles:\n  - name: a b\n    assumeRolePolicy: {}\n', /^roles\[0\]\.name: /],
    [
      'roles:\n  - name: a\n    assumeRolePolicy: []\n',
      /^roles\[0\]\.assumeRolePolicy: expected a policy document/,
    ],
    [
      'roles:\n  - name: a\n    assumeRolePolicy: {}\n    maxSessionDuration: 10\n',
      /^roles\[0\]\.maxSessionDuration: must be at least 3600/,
    ],
    [
      'roles:\n  - name: a\n    assumeRolePolicy: {}\n    colour: red\n',
      /^roles\[0\]\.colour: unknown key/,
    ],
    [
      'roles:\n  - name: a\n    assumeRolePolicy: \'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}\'\n',
      /^roles\[0\]\.assumeRolePolicy: MalformedPolicyDocument: /,
    ],
    [
      'roles:\n  - name: a\n    assumeRolePolicy: \'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}\'\n    managedPolicies: [Missing]\n',
      /^roles\[0\]\.managedPolicies\[0\]: policy `Missing` does not exist/,
    ],
    [
      'policies:\n  - name: p\n    document: \'{"Statement":[]}\'\n',
      /^policies\[0\]\.document: MalformedPolicyDocument/,
    ],
    [
      'policies:\n  - name: p\n    document: {}\n    path: nope\n',
      /^policies\[0\]\.path: ValidationError/,
    ],
    [
      'oidcProviders:\n  - url: http://x.example\n',
      /^oidcProviders\[0\]\.url: ValidationError: Invalid Open ID Connect Provider URL/,
    ],
    [
      'oidcProviders:\n  - url: https://x.example\n    thumbprints: [abc]\n',
      /^oidcProviders\[0\]\.thumbprints: ValidationError/,
    ],
    [
      'users:\n  - name: u\n    accessKeys:\n      - id: nope\n        secret: s\n',
      /^users\[0\]\.accessKeys\[0\]\.id: /,
    ],
    ['users:\n  - name: u\n    tags: { a: 1 }\n', /^users\[0\]\.tags\.a: expected a string/],
    ['accounts:\n  - id: "12"\n', /^accounts\[0\]\.id: /],
  ]
  for (const [yaml, message] of bad) {
    void it(`rejects ${JSON.stringify(yaml).slice(0, 70)}`, async () => {
      const t = await openTestDb('sqlite', { migrations: iamMigrations })
      try {
        await assert.rejects(applyConfig(t.db, yaml, env, sections), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.match(err.message, message)
          return true
        })
        assert.equal((await createIamRepo(t.db).listRoles(env.accountId)).length, 0)
      } finally {
        await t.cleanup()
      }
    })
  }
})

void describe('iam config: paths of existing users and roles', () => {
  const trust =
    '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}\''
  const cases: [string, string, string, string][] = [
    [
      'user',
      'users:\n  - name: ci\n    path: /team/\n',
      'users:\n  - name: ci\n    path: /other/\n',
      "users[0].path: user `ci` exists with path /team/; a user's path cannot change",
    ],
    [
      'user (path left out: /)',
      'users:\n  - name: ci\n    path: /team/\n',
      'users:\n  - name: ci\n',
      "users[0].path: user `ci` exists with path /team/; a user's path cannot change",
    ],
    [
      'role',
      `roles:\n  - name: app\n    path: /team/\n    assumeRolePolicy: ${trust}\n`,
      `roles:\n  - name: app\n    path: /other/\n    assumeRolePolicy: ${trust}\n`,
      "roles[0].path: role `app` exists with path /team/; a role's path cannot change",
    ],
  ]
  for (const [what, first, second, message] of cases) {
    void it(`refuses to change the path of an existing ${what}, naming the path`, async () => {
      const t = await openTestDb('sqlite', { migrations: iamMigrations })
      try {
        await applyConfig(t.db, first, env, sections)
        await applyConfig(t.db, first, env, sections)
        await assert.rejects(applyConfig(t.db, second, env, sections), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.equal(err.message, message)
          return true
        })
        const repo = createIamRepo(t.db)
        const kept =
          what === 'role'
            ? await repo.getRole(env.accountId, 'app')
            : await repo.getUser(env.accountId, 'ci')
        assert.equal(kept?.path, '/team/')
      } finally {
        await t.cleanup()
      }
    })
  }
})

void describe('iam config: the documented example', () => {
  void it('docs/iam.md example applies and round-trips', async () => {
    const { readFileSync } = await import('node:fs')
    const doc = readFileSync(new URL('../../../docs/iam.md', import.meta.url), 'utf8')
    const start = doc.indexOf('```yaml', doc.indexOf('## Configuration'))
    assert.ok(start > 0, 'docs/iam.md has a yaml example under Configuration')
    const yaml = doc.slice(start + '```yaml'.length, doc.indexOf('```', start + 7))
    const t = await openTestDb('sqlite', { migrations: iamMigrations })
    try {
      assert.deepEqual(await applyConfig(t.db, yaml, env, sections), [
        'accounts',
        'policies',
        'oidcProviders',
        'users',
        'roles',
      ])
      const repo = createIamRepo(t.db)
      assert.equal((await repo.getRole(env.accountId, 'IRSA-S3-Role'))?.path, '/irsa/')
      const exported = await exportConfig(t.db, env, sections)
      await applyConfig(t.db, exported, env, sections)
      assert.equal(await exportConfig(t.db, env, sections), exported)
    } finally {
      await t.cleanup()
    }
  })
})

void describe('iam config: the bootstrap administrator from the config', () => {
  void it('configured keys replace the generated one; AdministratorAccess stays attached', async () => {
    const { ensureBootstrapAdmin, getBootstrapAdmin } =
      await import('../../../src/aws/iam/bootstrap.ts')
    const t = await openTestDb('sqlite', { migrations: iamMigrations })
    try {
      const generated = await ensureBootstrapAdmin(t.db, { accountId: env.accountId })
      const yaml = `users:\n  - name: podtrust-admin\n    accessKeys:\n      - id: AKIAQAAAAAAAGMGN4FVP\n        secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`
      await applyConfig(t.db, yaml, env, sections)
      const admin = await getBootstrapAdmin(t.db, env.accountId)
      assert.equal(admin?.accessKeyId, 'AKIAQAAAAAAAGMGN4FVP')
      const repo = createIamRepo(t.db)
      assert.equal(await repo.getAccessKey(generated.accessKeyId), undefined)
      assert.deepEqual(
        (await repo.listAttachedPolicies(env.accountId, 'user', 'podtrust-admin')).map(
          (a) => a.policyName,
        ),
        ['AdministratorAccess'],
      )
      // a later start keeps the configured key instead of generating one
      assert.equal(
        (await ensureBootstrapAdmin(t.db, { accountId: env.accountId })).accessKeyId,
        'AKIAQAAAAAAAGMGN4FVP',
      )
      await applyConfig(t.db, yaml, env, sections)
      assert.equal((await repo.listAccessKeys(env.accountId, 'podtrust-admin')).length, 1)
      // a key the file lists for another user is refused
      await assert.rejects(
        applyConfig(t.db, yaml.replace('podtrust-admin', 'other'), env, sections),
        /users\[0\]\.accessKeys\[0\]: access key `AKIAQAAAAAAAGMGN4FVP` belongs to another user/,
      )
    } finally {
      await t.cleanup()
    }
  })
})
