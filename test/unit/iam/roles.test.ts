import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { engines, postgresSkipReason } from '../store/engines.ts'
import { ACCT, openHarness, xmlAll, xmlText, type Harness } from './harness.ts'

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${ACCT}:oidc-provider/oidc.example.com/id/ABC` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'oidc.example.com/id/ABC:sub': 'system:serviceaccount:default:app' },
      },
    },
  ],
})
const PERMS =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'

for (const engine of engines) {
  void describe(`iam roles (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    let h: Harness
    before(async () => {
      if (skip === undefined) h = await openHarness(engine)
    })
    after(async () => {
      await h?.cleanup()
    })
    const it = (name: string, fn: () => Promise<void>) =>
      void test(name, skip === undefined ? {} : { skip }, fn)

    void it('creates a role with AWS ids, the create shape and a byte-preserving URL-encoded trust policy', async () => {
      const r = await h.call('CreateRole', {
        RoleName: 'IRSA-S3-Role',
        AssumeRolePolicyDocument: TRUST,
        Path: '/team/',
        Description: 'reads s3',
        'Tags.member.1.Key': 'env',
        'Tags.member.1.Value': 'dev',
      })
      assert.equal(r.status, 200, r.message)
      assert.match(xmlText(r.xml, 'RoleId') ?? '', /^AROA[A-Z2-7]{17}$/)
      assert.equal(xmlText(r.xml, 'Arn'), `arn:aws:iam::${ACCT}:role/team/IRSA-S3-Role`)
      assert.match(xmlText(r.xml, 'CreateDate') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      assert.equal(decodeURIComponent(xmlText(r.xml, 'AssumeRolePolicyDocument') ?? ''), TRUST)
      assert.match(r.xml, /%3A/)
      assert.doesNotMatch(r.xml, /MaxSessionDuration|RoleLastUsed/)
      // element order follows botocore's Role shape
      const order = [
        'Path',
        'RoleName',
        'RoleId',
        'Arn',
        'CreateDate',
        'AssumeRolePolicyDocument',
        'Description',
        'Tags',
      ]
      const positions = order.map((n) => r.xml.indexOf(`<${n}>`))
      assert.deepEqual(
        [...positions].sort((a, b) => a - b),
        positions,
      )
    })

    void it('rejects duplicates case-insensitively with the exact message', async () => {
      const r = await h.call('CreateRole', {
        RoleName: 'irsa-s3-role',
        AssumeRolePolicyDocument: TRUST,
      })
      assert.equal(r.status, 409)
      assert.equal(r.code, 'EntityAlreadyExists')
      assert.equal(r.message, 'Role with name irsa-s3-role already exists.')
    })

    void it('gets a role with MaxSessionDuration and an empty RoleLastUsed, and NoSuchEntity for a missing one', async () => {
      const r = await h.call('GetRole', { RoleName: 'irsa-s3-role' })
      assert.equal(r.status, 200)
      assert.equal(xmlText(r.xml, 'RoleName'), 'IRSA-S3-Role')
      assert.equal(xmlText(r.xml, 'MaxSessionDuration'), '3600')
      assert.match(r.xml, /<RoleLastUsed\/>/)
      const missing = await h.call('GetRole', { RoleName: 'nope' })
      assert.equal(missing.status, 404)
      assert.equal(missing.code, 'NoSuchEntity')
      assert.equal(missing.message, 'The role with name nope cannot be found.')
    })

    void it('validates names, paths, durations and documents with AWS messages', async () => {
      const cases: [Record<string, string>, string, string][] = [
        [
          { AssumeRolePolicyDocument: TRUST },
          'ValidationError',
          "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null",
        ],
        [
          { RoleName: 'bad name', AssumeRolePolicyDocument: TRUST },
          'ValidationError',
          "1 validation error detected: Value at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ],
        [
          { RoleName: 'x'.repeat(65), AssumeRolePolicyDocument: TRUST },
          'ValidationError',
          `1 validation error detected: Value at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64`,
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: TRUST, Path: 'nopath' },
          'ValidationError',
          "1 validation error detected: Value at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: TRUST, MaxSessionDuration: '100' },
          'ValidationError',
          "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: TRUST, MaxSessionDuration: '43201' },
          'ValidationError',
          "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200",
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: TRUST, MaxSessionDuration: 'abc' },
          'ValidationError',
          "Invalid value 'abc' for parameter MaxSessionDuration: must be an integer",
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: '{not json' },
          'MalformedPolicyDocument',
          'This policy contains invalid Json',
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: PERMS },
          'MalformedPolicyDocument',
          'Has prohibited field Resource',
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: '' },
          'ValidationError',
          "2 validation errors detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ],
        [
          {
            RoleName: 'r',
            AssumeRolePolicyDocument: TRUST,
            'Tags.member.1.Key': 'a',
            'Tags.member.2.Key': 'A',
          },
          'InvalidInput',
          'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
        ],
        [
          {
            RoleName: 'r',
            AssumeRolePolicyDocument: TRUST,
            PermissionsBoundary: 'arn:aws:iam::aws:policy/Nope',
          },
          'NoSuchEntity',
          'Scope ARN: arn:aws:iam::aws:policy/Nope does not exist or is not attachable.',
        ],
        [
          {
            RoleName: 'r',
            AssumeRolePolicyDocument: TRUST.replace(
              '"Condition":{',
              `"Condition":{"StringLike":{"oidc.example.com/id/ABC:aud":[${Array.from({ length: 200 }, (_, i) => `"aud-${i}-xxxxxx"`).join(',')}]},`,
            ),
          },
          'LimitExceeded',
          'Cannot exceed quota for ACLSizePerRole: 2048',
        ],
        [
          {
            RoleName: 'r',
            AssumeRolePolicyDocument:
              '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ghost"},"Action":"sts:AssumeRole"}]}',
          },
          'MalformedPolicyDocument',
          'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/ghost"',
        ],
        [
          { RoleName: 'r', AssumeRolePolicyDocument: 'é\u0100' },
          'ValidationError',
          "1 validation error detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ],
      ]
      for (const [params, code, message] of cases) {
        const r = await h.call('CreateRole', params)
        assert.equal(r.code, code, JSON.stringify(params).slice(0, 120))
        assert.equal(r.message, message)
      }
      const tags: Record<string, string> = { RoleName: 'r', AssumeRolePolicyDocument: TRUST }
      for (let i = 1; i <= 51; i++) tags[`Tags.member.${i}.Key`] = `k${i}`
      const many = await h.call('CreateRole', tags)
      assert.equal(
        many.message,
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
      )
      assert.equal((await h.call('GetRole', { RoleName: 'r' })).code, 'NoSuchEntity')
    })

    void it('updates, tags, boundaries, trust policy', async () => {
      assert.equal(
        (
          await h.call('UpdateRole', {
            RoleName: 'IRSA-S3-Role',
            MaxSessionDuration: '7200',
            Description: 'x',
          })
        ).status,
        200,
      )
      assert.equal(
        (
          await h.call('TagRole', {
            RoleName: 'IRSA-S3-Role',
            'Tags.member.1.Key': 'ENV',
            'Tags.member.1.Value': 'prod',
            'Tags.member.2.Key': 'a',
            'Tags.member.2.Value': '1',
          })
        ).status,
        200,
      )
      const tags = await h.call('ListRoleTags', { RoleName: 'IRSA-S3-Role' })
      assert.deepEqual(xmlAll(tags.xml, 'Key'), ['ENV', 'a'])
      assert.deepEqual(xmlAll(tags.xml, 'Value'), ['prod', '1'])
      assert.equal(
        (await h.call('UntagRole', { RoleName: 'IRSA-S3-Role', 'TagKeys.member.1': 'env' })).status,
        200,
      )
      assert.deepEqual(
        xmlAll((await h.call('ListRoleTags', { RoleName: 'IRSA-S3-Role' })).xml, 'Key'),
        ['a'],
      )
      const pb = await h.call('PutRolePermissionsBoundary', {
        RoleName: 'IRSA-S3-Role',
        PermissionsBoundary: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      })
      assert.equal(pb.status, 200, pb.message)
      let got = await h.call('GetRole', { RoleName: 'IRSA-S3-Role' })
      assert.equal(xmlText(got.xml, 'MaxSessionDuration'), '7200')
      assert.equal(xmlText(got.xml, 'PermissionsBoundaryType'), 'Policy')
      assert.equal(
        xmlText(got.xml, 'PermissionsBoundaryArn'),
        'arn:aws:iam::aws:policy/ReadOnlyAccess',
      )
      assert.equal(
        (await h.call('DeleteRolePermissionsBoundary', { RoleName: 'IRSA-S3-Role' })).status,
        200,
      )
      const newTrust = TRUST.replace('default:app', 'default:other')
      assert.equal(
        (
          await h.call('UpdateAssumeRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyDocument: newTrust,
          })
        ).status,
        200,
      )
      got = await h.call('GetRole', { RoleName: 'IRSA-S3-Role' })
      assert.doesNotMatch(got.xml, /PermissionsBoundary/)
      assert.equal(decodeURIComponent(xmlText(got.xml, 'AssumeRolePolicyDocument')!), newTrust)
      const bad = await h.call('UpdateAssumeRolePolicy', {
        RoleName: 'IRSA-S3-Role',
        PolicyDocument: PERMS,
      })
      assert.equal(bad.code, 'MalformedPolicyDocument')
    })

    void it('inline policies, attachments, delete conflicts, pagination', async () => {
      assert.equal(
        (
          await h.call('PutRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyName: 'inline',
            PolicyDocument: PERMS,
          })
        ).status,
        200,
      )
      const gp = await h.call('GetRolePolicy', { RoleName: 'IRSA-S3-Role', PolicyName: 'inline' })
      assert.equal(decodeURIComponent(xmlText(gp.xml, 'PolicyDocument')!), PERMS)
      assert.equal(
        (await h.call('GetRolePolicy', { RoleName: 'IRSA-S3-Role', PolicyName: 'x' })).message,
        'The role policy with name x cannot be found.',
      )
      assert.equal(
        (
          await h.call('PutRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyName: 'p',
            PolicyDocument: TRUST,
          })
        ).code,
        'MalformedPolicyDocument',
      )
      const attach = await h.call('AttachRolePolicy', {
        RoleName: 'IRSA-S3-Role',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      })
      assert.equal(attach.status, 200, attach.message)
      const listed = await h.call('ListAttachedRolePolicies', { RoleName: 'IRSA-S3-Role' })
      assert.deepEqual(xmlAll(listed.xml, 'PolicyName'), ['AmazonS3ReadOnlyAccess'])
      assert.equal(
        (
          await h.call('AttachRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyArn: `arn:aws:iam::${ACCT}:policy/nope`,
          })
        ).message,
        `Policy arn:aws:iam::${ACCT}:policy/nope does not exist or is not attachable.`,
      )
      assert.equal(
        (
          await h.call('AttachRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyArn: 'longpolicynamebutnoarn',
          })
        ).message,
        'ARN longpolicynamebutnoarn is not valid.',
      )
      let del = await h.call('DeleteRole', { RoleName: 'IRSA-S3-Role' })
      assert.equal(del.code, 'DeleteConflict')
      assert.equal(del.message, 'Cannot delete entity, must detach all policies first.')
      assert.equal(
        (
          await h.call('DetachRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
          })
        ).status,
        200,
      )
      assert.equal(
        (
          await h.call('DetachRolePolicy', {
            RoleName: 'IRSA-S3-Role',
            PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
          })
        ).message,
        'Policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess was not found.',
      )
      del = await h.call('DeleteRole', { RoleName: 'IRSA-S3-Role' })
      assert.equal(del.message, 'Cannot delete entity, must delete policies first.')
      assert.deepEqual(
        xmlAll((await h.call('ListRolePolicies', { RoleName: 'IRSA-S3-Role' })).xml, 'member'),
        ['inline'],
      )
      assert.equal(
        (await h.call('DeleteRolePolicy', { RoleName: 'IRSA-S3-Role', PolicyName: 'inline' }))
          .status,
        200,
      )

      for (const n of ['b1', 'b2', 'b3'])
        await h.call('CreateRole', { RoleName: n, AssumeRolePolicyDocument: TRUST })
      const p1 = await h.call('ListRoles', { MaxItems: '2' })
      assert.equal(xmlText(p1.xml, 'IsTruncated'), 'true')
      assert.deepEqual(xmlAll(p1.xml, 'RoleName'), ['b1', 'b2'])
      assert.doesNotMatch(p1.xml, /<Tags>/)
      const p2 = await h.call('ListRoles', { MaxItems: '2', Marker: xmlText(p1.xml, 'Marker')! })
      assert.deepEqual(xmlAll(p2.xml, 'RoleName'), ['b3', 'IRSA-S3-Role'])
      assert.equal(xmlText(p2.xml, 'IsTruncated'), 'false')
      assert.equal((await h.call('ListRoles', { Marker: '!!' })).code, 'ValidationError')
      assert.equal((await h.call('ListRoles', { MaxItems: '0' })).code, 'ValidationError')
      assert.deepEqual(
        xmlAll((await h.call('ListRoles', { PathPrefix: '/team/' })).xml, 'RoleName'),
        ['IRSA-S3-Role'],
      )
      assert.equal((await h.call('DeleteRole', { RoleName: 'irsa-s3-role' })).status, 200)
      assert.equal((await h.call('DeleteRole', { RoleName: 'irsa-s3-role' })).code, 'NoSuchEntity')
    })
  })
}
