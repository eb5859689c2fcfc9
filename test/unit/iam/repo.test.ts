import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { iamMigrations } from '../../../src/aws/iam/migrations.ts'
import { createIamRepo, type RoleRecord } from '../../../src/aws/iam/repo.ts'
import { accountFromId, ID_PREFIX, newUniqueId, roleArn } from '../../../src/aws/iam/ids.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

const ACCT = '111122223333'
const NOW = new Date('2026-11-23T02:00:00Z')
const rnd = (n: number) => new Uint8Array(randomBytes(n))

function role(name: string, path = '/'): RoleRecord {
  return {
    accountId: ACCT,
    roleName: name,
    roleId: newUniqueId(ID_PREFIX.role, ACCT, rnd),
    arn: roleArn(ACCT, path, name),
    path,
    assumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
    maxSessionDuration: 3600,
    createDate: NOW,
    tags: [{ key: 'team', value: 'a' }],
  }
}

for (const engine of engines) {
  void describe(`iam repo (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    const opts = skip === undefined ? {} : { skip }

    void it(
      'stores roles with case-insensitive names and finds them by arn and id',
      opts,
      async () => {
        const t = await openTestDb(engine, { migrations: iamMigrations })
        try {
          const iam = createIamRepo(t.db)
          const r = role('App', '/team/')
          await iam.insertRole(r)
          await assert.rejects(iam.insertRole({ ...role('app'), roleId: 'AROAXXXXXXXXXXXXXXXXX' }))
          const got = await iam.getRole(ACCT, 'APP')
          assert.equal(got?.roleName, 'App')
          assert.equal(got?.arn, `arn:aws:iam::${ACCT}:role/team/App`)
          assert.deepEqual(got?.tags, [{ key: 'team', value: 'a' }])
          assert.equal(got?.createDate.getTime(), NOW.getTime())
          assert.equal((await iam.getRoleByArn(r.arn))?.roleId, r.roleId)
          assert.equal(
            (await iam.getRoleByArn(`arn:aws:iam::${ACCT}:role/team/app`))?.roleId,
            r.roleId,
          )
          assert.equal(await iam.getRoleByArn(`arn:aws:iam::${ACCT}:role/other/App`), undefined)
          assert.equal((await iam.getRoleById(r.roleId))?.roleName, 'App')
          await iam.updateRole({
            ...r,
            maxSessionDuration: 7200,
            description: 'd',
            permissionsBoundaryArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
          })
          const upd = await iam.getRole(ACCT, 'app')
          assert.equal(upd?.maxSessionDuration, 7200)
          assert.equal(upd?.description, 'd')
          assert.equal(
            (await iam.getManagedPolicy('arn:aws:iam::aws:policy/ReadOnlyAccess'))
              ?.permissionsBoundaryUsageCount,
            1,
          )
          await iam.insertRole(role('beta'))
          assert.deepEqual(
            (await iam.listRoles(ACCT)).map((x) => x.roleName),
            ['App', 'beta'],
          )
          assert.deepEqual(
            (await iam.listRoles(ACCT, '/team/')).map((x) => x.roleName),
            ['App'],
          )
          assert.equal(await iam.countRoles(ACCT), 2)
          await iam.recordRoleUse(r.arn, NOW, 'us-east-1')
          assert.equal((await iam.getRole(ACCT, 'App'))?.roleLastUsed?.region, 'us-east-1')
          assert.equal(await iam.deleteRole(ACCT, 'APP'), true)
          assert.equal(await iam.deleteRole(ACCT, 'APP'), false)
          assert.equal(await iam.getRole(ACCT, 'App'), undefined)
        } finally {
          await t.cleanup()
        }
      },
    )

    void it(
      'returns inline and attached managed documents (default versions) for roles',
      opts,
      async () => {
        const t = await openTestDb(engine, { migrations: iamMigrations })
        try {
          const iam = createIamRepo(t.db)
          await iam.insertRole(role('app'))
          await iam.putInlinePolicy(ACCT, 'role', 'APP', 'inline1', '{"a":1}', NOW)
          await iam.putInlinePolicy(ACCT, 'role', 'app', 'inline1', '{"a":2}', NOW)
          const arn = `arn:aws:iam::${ACCT}:policy/p1`
          await iam.insertManagedPolicy(
            {
              arn,
              accountId: ACCT,
              policyName: 'p1',
              policyId: newUniqueId('ANPA', ACCT, rnd),
              path: '/',
              createDate: NOW,
              updateDate: NOW,
              tags: [],
            },
            '{"v":1}',
          )
          assert.equal(await iam.createPolicyVersion(arn, '{"v":2}', false, NOW), 'v2')
          assert.equal(await iam.createPolicyVersion(arn, '{"v":3}', true, NOW), 'v3')
          assert.deepEqual(
            (await iam.listPolicyVersions(arn)).map((v) => [v.versionId, v.isDefaultVersion]),
            [
              ['v3', true],
              ['v2', false],
              ['v1', false],
            ],
          )
          await iam.attachPolicy(ACCT, 'role', 'app', arn, NOW)
          await iam.attachPolicy(ACCT, 'role', 'app', arn, NOW)
          await iam.attachPolicy(
            ACCT,
            'role',
            'app',
            'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
            NOW,
          )
          const docs = await iam.getRolePolicyDocuments(ACCT, 'App')
          assert.deepEqual(
            docs.map((d) => d.id),
            ['role/App/inline/inline1', 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', arn],
          )
          assert.equal(docs[0]?.document, '{"a":2}')
          assert.match(docs[1]?.document ?? '', /s3:Get\*/)
          assert.equal(docs[2]?.document, '{"v":3}')
          assert.equal((await iam.getManagedPolicy(arn))?.attachmentCount, 1)
          await iam.setDefaultPolicyVersion(arn, 'v1', NOW)
          assert.equal(await iam.getManagedPolicyDocument(arn), '{"v":1}')
          assert.equal(await iam.deletePolicyVersion(arn, 'v2'), true)
          assert.equal(await iam.getPolicyVersion(arn, 'v2'), undefined)
          assert.equal(await iam.createPolicyVersion(arn, '{"v":4}', false, NOW), 'v4')
          assert.deepEqual(await iam.listPolicyEntities(arn), [
            { accountId: ACCT, type: 'role', name: 'app' },
          ])
          const listed = await iam.listManagedPolicies(ACCT, { onlyAttached: true })
          assert.deepEqual(
            listed.map((p) => p.policyName),
            ['AmazonS3ReadOnlyAccess', 'p1'],
          )
          assert.equal((await iam.listManagedPolicies(ACCT, { scope: 'Local' })).length, 1)
          assert.equal(await iam.detachPolicy(ACCT, 'role', 'app', arn), true)
          assert.equal(await iam.detachPolicy(ACCT, 'role', 'app', arn), false)
          assert.equal(await iam.deleteManagedPolicy(arn), true)
          assert.equal(await iam.getManagedPolicy(arn), undefined)
          assert.equal(await iam.getManagedPolicy('arn:aws:iam::aws:policy/Nope'), undefined)
        } finally {
          await t.cleanup()
        }
      },
    )

    void it('stores OIDC providers, users and access keys', opts, async () => {
      const t = await openTestDb(engine, { migrations: iamMigrations })
      try {
        const iam = createIamRepo(t.db)
        const arn = `arn:aws:iam::${ACCT}:oidc-provider/oidc.example.com/id/X`
        await iam.insertOidcProvider({
          accountId: ACCT,
          arn,
          url: 'oidc.example.com/id/X',
          clientIds: ['sts.amazonaws.com'],
          thumbprints: [],
          createDate: NOW,
          tags: [],
        })
        await assert.rejects(
          iam.insertOidcProvider({
            accountId: ACCT,
            arn: `${arn}2`,
            url: 'oidc.example.com/id/X',
            clientIds: [],
            thumbprints: [],
            createDate: NOW,
            tags: [],
          }),
        )
        assert.equal((await iam.getOidcProviderByUrl(ACCT, 'oidc.example.com/id/X'))?.arn, arn)
        assert.equal(
          await iam.getOidcProviderByUrl('999999999999', 'oidc.example.com/id/X'),
          undefined,
        )
        const p = await iam.getOidcProviderByArn(arn)
        assert.deepEqual(p?.clientIds, ['sts.amazonaws.com'])
        await iam.updateOidcProvider({
          ...p!,
          clientIds: ['a', 'b'],
          thumbprints: ['f'.repeat(40)],
        })
        assert.deepEqual((await iam.getOidcProviderByArn(arn))?.clientIds, ['a', 'b'])
        assert.equal((await iam.listOidcProviders(ACCT)).length, 1)
        assert.equal(await iam.deleteOidcProvider(arn), true)
        assert.equal(await iam.deleteOidcProvider(arn), false)

        const userId = newUniqueId(ID_PREFIX.user, ACCT, rnd)
        await iam.insertUser({
          accountId: ACCT,
          userName: 'Alice',
          userId,
          arn: `arn:aws:iam::${ACCT}:user/Alice`,
          path: '/',
          createDate: NOW,
          tags: [],
        })
        const keyId = newUniqueId(ID_PREFIX.accessKey, ACCT, rnd, 16)
        await iam.insertAccessKey({
          accessKeyId: keyId,
          secretAccessKey: 's'.repeat(40),
          status: 'Active',
          accountId: ACCT,
          userName: 'alice',
          createDate: NOW,
        })
        const key = await iam.getAccessKey(keyId)
        assert.equal(key?.userName, 'Alice')
        assert.equal(key?.userId, userId)
        assert.equal(key?.userArn, `arn:aws:iam::${ACCT}:user/Alice`)
        assert.equal(key?.status, 'Active')
        assert.equal(await iam.updateAccessKeyStatus(keyId, 'Inactive'), true)
        assert.equal((await iam.listAccessKeys(ACCT, 'ALICE'))[0]?.status, 'Inactive')
        await iam.putInlinePolicy(ACCT, 'user', 'alice', 'p', '{}', NOW)
        await iam.attachPolicy(
          ACCT,
          'user',
          'alice',
          'arn:aws:iam::aws:policy/AdministratorAccess',
          NOW,
        )
        assert.equal((await iam.getUserPolicyDocuments(ACCT, 'Alice')).length, 2)
        assert.equal(await iam.deleteUser(ACCT, 'alice'), true)
        assert.equal(await iam.getAccessKey(keyId), undefined)
        assert.equal((await iam.getUserPolicyDocuments(ACCT, 'Alice')).length, 0)
        await iam.ensureAccount(ACCT, NOW)
        await iam.ensureAccount(ACCT, NOW, 'dev')
        await iam.ensureAccount(ACCT, NOW)
        assert.equal((await iam.getAccount(ACCT))?.alias, 'dev')
      } finally {
        await t.cleanup()
      }
    })
  })
}

void describe('iam ids', () => {
  void it('encodes the account in new-generation ids like AWS', () => {
    assert.equal(accountFromId('ASIAY34FZKBOKMUTVV7A'), '609629065308')
    for (const acct of [
      '000000000000',
      '000000000001',
      '111122223333',
      '123456789012',
      '999999999999',
    ]) {
      const id = newUniqueId('AKIA', acct, rnd, 16)
      assert.equal(id.length, 20)
      assert.match(id, /^AKIA[A-Z2-7]{16}$/)
      assert.equal(accountFromId(id), acct)
      const roleId = newUniqueId('AROA', acct, rnd)
      assert.equal(roleId.length, 21)
      assert.equal(accountFromId(roleId), acct)
    }
    assert.equal(accountFromId('AKIAIOSFODNN7EXAMPLE'), undefined)
    assert.equal(accountFromId('AKIA'), undefined)
    assert.equal(accountFromId('AKIA0000000000000000'), undefined)
  })
})
