import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { iamConfigSections } from '../../../src/aws/iam/config-sections.ts'
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

// Groups (IAM API reference, CreateGroup / AddUserToGroup / PutGroupPolicy) and login profiles
// (CreateLoginProfile): declared, applied idempotently, exported and re-applied to the same state.
void describe('iam config: groups and login profiles', () => {
  const GROUPS_YAML = `
policies:
  - name: ListRoles
    document: { Version: '2012-10-17', Statement: [{ Effect: Allow, Action: 'iam:ListRoles', Resource: '*' }] }
users:
  - name: dev
    loginProfile: { password: Correct-Horse-1, passwordResetRequired: true }
  - name: ops
groups:
  - name: readers
    path: /teams/
    policies:
      read: { Version: '2012-10-17', Statement: [{ Effect: Allow, Action: 's3:GetObject', Resource: '*' }] }
    managedPolicies: [ListRoles, arn:aws:iam::aws:policy/ReadOnlyAccess]
    members: [dev, OPS]
  - name: empty
`
  const A = env.accountId

  void it('applies groups after users, exports them with members, and round-trips', async () => {
    const t = await openTestDb('sqlite', { migrations: iamMigrations })
    try {
      const applied = await applyConfig(t.db, GROUPS_YAML, env, sections)
      assert.deepEqual(applied, ['policies', 'users', 'groups'])
      const repo = createIamRepo(t.db)
      const group = await repo.getGroup(A, 'readers')
      assert.equal(group?.arn, `arn:aws:iam::${A}:group/teams/readers`)
      assert.match(group?.groupId ?? '', /^AGPA/)
      assert.deepEqual(await repo.listGroupMembers(A, 'readers'), ['dev', 'ops'])
      // The group's policies are its members' (IAM User Guide, "IAM user groups").
      assert.deepEqual((await repo.getUserPolicyDocuments(A, 'dev')).map((d) => d.id).sort(), [
        `arn:aws:iam::${A}:policy/ListRoles`,
        'arn:aws:iam::aws:policy/ReadOnlyAccess',
        'group/readers/inline/read',
      ])
      const profile = await repo.getLoginProfile(A, 'dev')
      assert.equal(profile?.passwordResetRequired, true)
      assert.match(profile?.passwordHash ?? '', /^scrypt\$/)

      const first = await exportConfig(t.db, env, sections)
      assert.ok(!first.includes('Correct-Horse-1'), 'a password is never exported')
      const doc = parse(first) as {
        groups: { name: string; path?: string; members?: string[]; managedPolicies?: string[] }[]
        users: { name: string; loginProfile?: { passwordHash: string } }[]
      }
      assert.deepEqual(
        doc.groups.map((g) => [g.name, g.path, g.members]),
        [
          ['empty', undefined, undefined],
          ['readers', '/teams/', ['dev', 'ops']],
        ],
      )
      assert.equal(
        doc.users.find((u) => u.name === 'dev')?.loginProfile?.passwordHash,
        profile?.passwordHash,
      )
      // The same password again keeps the stored hash; the export applies to an empty store as the same state.
      await applyConfig(t.db, GROUPS_YAML, env, sections)
      assert.equal((await repo.getLoginProfile(A, 'dev'))?.passwordHash, profile?.passwordHash)
      assert.equal(await exportConfig(t.db, env, sections), first)
      const fresh = await openTestDb('sqlite', { migrations: iamMigrations })
      try {
        await applyConfig(fresh.db, first, env, sections)
        assert.equal(await exportConfig(fresh.db, env, sections), first)
      } finally {
        await fresh.cleanup()
      }
      // Members and policies become exactly the listed ones; a new password is hashed anew.
      const changed = GROUPS_YAML.replace('members: [dev, OPS]', 'members: [ops]')
        .replace('managedPolicies: [ListRoles, arn:aws:iam::aws:policy/ReadOnlyAccess]', '')
        .replace('Correct-Horse-1', 'Battery-Staple-2')
      await applyConfig(t.db, changed, env, sections)
      assert.deepEqual(await repo.listGroupMembers(A, 'readers'), ['ops'])
      assert.equal((await repo.listAttachedPolicies(A, 'group', 'readers')).length, 0)
      assert.notEqual((await repo.getLoginProfile(A, 'dev'))?.passwordHash, profile?.passwordHash)
    } finally {
      await t.cleanup()
    }
  })

  const bad: [string, string][] = [
    [
      'groups:\n  - name: g\n    members: [ghost]\n',
      'groups[0].members[0]: user `ghost` does not exist (define it under `users`)',
    ],
    ['groups:\n  - name: g\n    colour: red\n', 'groups[0].colour: unknown key'],
    [
      'users:\n  - name: u\n    loginProfile: { passwordResetRequired: true }\n',
      'users[0].loginProfile: user `u` has no login profile yet: give `password` (or `passwordHash`)',
    ],
    [
      'users:\n  - name: u\n    loginProfile: { password: a, passwordHash: b }\n',
      'users[0].loginProfile.passwordHash: ',
    ],
    [
      "users:\n  - name: u\n    loginProfile: { password: '' }\n",
      'users[0].loginProfile.password: ValidationError',
    ],
  ]
  for (const [yaml, message] of bad) {
    void it(`rejects ${JSON.stringify(yaml).slice(0, 60)}`, async () => {
      const t = await openTestDb('sqlite', { migrations: iamMigrations })
      try {
        await assert.rejects(applyConfig(t.db, yaml, env, sections), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.ok(err.message.startsWith(message), err.message)
          return true
        })
      } finally {
        await t.cleanup()
      }
    })
  }

  void it('refuses to change the path of an existing group', async () => {
    const t = await openTestDb('sqlite', { migrations: iamMigrations })
    try {
      await applyConfig(t.db, 'groups:\n  - name: g\n    path: /a/\n', env, sections)
      await assert.rejects(
        applyConfig(t.db, 'groups:\n  - name: g\n    path: /b/\n', env, sections),
        /groups\[0\]\.path: group `g` exists with path \/a\/; a group's path cannot change/,
      )
    } finally {
      await t.cleanup()
    }
  })
})
