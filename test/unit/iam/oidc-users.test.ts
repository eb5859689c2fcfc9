import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Caller } from '../../../src/identity/types.ts'
import { ACCT, openHarness, xmlAll, xmlText, type Harness } from './harness.ts'

const PROVIDER = `arn:aws:iam::${ACCT}:oidc-provider/oidc.example.com/id/ABC`
const TP = 'a'.repeat(40)

void describe('iam OIDC providers', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(async () => {
    await h.cleanup()
  })

  void it('creates, reads, lists and deletes with AWS messages', async () => {
    const r = await h.call('CreateOpenIDConnectProvider', {
      Url: 'https://oidc.example.com/id/ABC',
      'ClientIDList.member.1': 'sts.amazonaws.com',
      'ThumbprintList.member.1': TP,
      'Tags.member.1.Key': 'k',
      'Tags.member.1.Value': 'v',
    })
    assert.equal(r.status, 200, r.message)
    assert.equal(xmlText(r.xml, 'OpenIDConnectProviderArn'), PROVIDER)
    const dup = await h.call('CreateOpenIDConnectProvider', {
      Url: 'https://oidc.example.com/id/ABC',
      ClientIDList: '',
    })
    assert.equal(dup.code, 'EntityAlreadyExists')
    assert.equal(dup.message, 'Provider with url https://oidc.example.com/id/ABC already exists.')
    const got = await h.call('GetOpenIDConnectProvider', { OpenIDConnectProviderArn: PROVIDER })
    assert.equal(xmlText(got.xml, 'Url'), 'oidc.example.com/id/ABC')
    assert.deepEqual(xmlAll(got.xml, 'member').slice(0, 2), ['sts.amazonaws.com', TP])
    assert.equal(
      (
        await h.call('AddClientIDToOpenIDConnectProvider', {
          OpenIDConnectProviderArn: PROVIDER,
          ClientID: 'aud2',
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('AddClientIDToOpenIDConnectProvider', {
          OpenIDConnectProviderArn: PROVIDER,
          ClientID: 'aud2',
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('RemoveClientIDFromOpenIDConnectProvider', {
          OpenIDConnectProviderArn: PROVIDER,
          ClientID: 'sts.amazonaws.com',
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('UpdateOpenIDConnectProviderThumbprint', {
          OpenIDConnectProviderArn: PROVIDER,
          'ThumbprintList.member.1': 'B'.repeat(40),
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('TagOpenIDConnectProvider', {
          OpenIDConnectProviderArn: PROVIDER,
          'Tags.member.1.Key': 'a',
          'Tags.member.1.Value': '1',
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('UntagOpenIDConnectProvider', {
          OpenIDConnectProviderArn: PROVIDER,
          'TagKeys.member.1': 'k',
        })
      ).status,
      200,
    )
    assert.deepEqual(
      xmlAll(
        (await h.call('ListOpenIDConnectProviderTags', { OpenIDConnectProviderArn: PROVIDER })).xml,
        'Key',
      ),
      ['a'],
    )
    const after = await h.call('GetOpenIDConnectProvider', { OpenIDConnectProviderArn: PROVIDER })
    assert.match(after.xml, /<ClientIDList><member>aud2<\/member><\/ClientIDList>/)
    assert.match(
      after.xml,
      new RegExp(`<ThumbprintList><member>${'b'.repeat(40)}</member></ThumbprintList>`),
    )
    assert.deepEqual(xmlAll((await h.call('ListOpenIDConnectProviders')).xml, 'Arn'), [PROVIDER])
    assert.equal(
      (await h.call('DeleteOpenIDConnectProvider', { OpenIDConnectProviderArn: PROVIDER })).status,
      200,
    )
    const again = await h.call('DeleteOpenIDConnectProvider', {
      OpenIDConnectProviderArn: PROVIDER,
    })
    assert.equal(again.status, 404)
    assert.equal(again.message, `OpenId connect Provider ${PROVIDER} cannot be found.`)
    assert.equal(
      (await h.call('GetOpenIDConnectProvider', { OpenIDConnectProviderArn: PROVIDER })).message,
      `OpenIDConnect Provider not found for arn ${PROVIDER}`,
    )
  })

  void it("accepts podtrust's own issuer with a port (https://127.0.0.1:7443)", async () => {
    const r = await h.call('CreateOpenIDConnectProvider', {
      Url: 'https://127.0.0.1:7443',
      'ClientIDList.member.1': 'sts.amazonaws.com',
    })
    assert.equal(r.status, 200, r.message)
    const arn = `arn:aws:iam::${ACCT}:oidc-provider/127.0.0.1:7443`
    assert.equal(xmlText(r.xml, 'OpenIDConnectProviderArn'), arn)
    assert.equal(
      xmlText(
        (await h.call('GetOpenIDConnectProvider', { OpenIDConnectProviderArn: arn })).xml,
        'Url',
      ),
      '127.0.0.1:7443',
    )
    assert.equal(
      (await h.call('DeleteOpenIDConnectProvider', { OpenIDConnectProviderArn: arn })).status,
      200,
    )
  })

  void it('rejects malformed URLs, client ids, thumbprints and ARNs', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [
        { Url: 'http://oidc.example.com' },
        'ValidationError',
        'Invalid Open ID Connect Provider URL',
      ],
      [
        { Url: 'https://oidc.example.com:http/x' },
        'ValidationError',
        'Invalid Open ID Connect Provider URL',
      ],
      [
        { Url: 'https://oidc.example.com/?q=1' },
        'ValidationError',
        'Invalid Open ID Connect Provider URL',
      ],
      [{ Url: 'https://' }, 'ValidationError', 'Invalid Open ID Connect Provider URL'],
      [
        { Url: `https://${'a'.repeat(260)}` },
        'ValidationError',
        `1 validation error detected: Value at 'url' failed to satisfy constraint: Member must have length less than or equal to 255`,
      ],
      [
        { Url: 'https://x.example', 'ThumbprintList.member.1': 'abc' },
        'ValidationError',
        "1 validation error detected: Value at 'thumbprintList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 40, Member must have length greater than or equal to 40]",
      ],
      [
        {
          Url: 'https://x.example',
          ...Object.fromEntries(
            [1, 2, 3, 4, 5, 6].map((i) => [`ThumbprintList.member.${i}`, String(i).repeat(40)]),
          ),
        },
        'InvalidInput',
        'Thumbprint list must contain fewer than 5 entries.',
      ],
      [
        {
          Url: 'https://x.example',
          ...Object.fromEntries(
            Array.from({ length: 101 }, (_, i) => [`ClientIDList.member.${i + 1}`, `c${i}`]),
          ),
        },
        'LimitExceeded',
        'Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100',
      ],
      [
        { Url: 'https://x.example', 'ClientIDList.member.1': '' },
        'ValidationError',
        "1 validation error detected: Value at 'clientIDList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 1]",
      ],
      [
        {},
        'ValidationError',
        "1 validation error detected: Value null at 'url' failed to satisfy constraint: Member must not be null",
      ],
    ]
    for (const [params, code, message] of cases) {
      const r = await h.call('CreateOpenIDConnectProvider', params)
      assert.equal(r.code, code, JSON.stringify(params).slice(0, 100))
      assert.equal(r.message, message)
    }
    assert.equal(
      (
        await h.call('GetOpenIDConnectProvider', {
          OpenIDConnectProviderArn: 'arn:aws:iam::123456789012:role/x',
        })
      ).code,
      'InvalidInput',
    )
    assert.equal(
      (
        await h.call('GetOpenIDConnectProvider', {
          OpenIDConnectProviderArn: 'not an arn at all, really',
        })
      ).message,
      'ARN not an arn at all, really is not valid.',
    )
    assert.equal(
      (
        await h.call('UpdateOpenIDConnectProviderThumbprint', {
          OpenIDConnectProviderArn: PROVIDER,
        })
      ).code,
      'ValidationError',
    )
  })
})

void describe('iam users and access keys', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(async () => {
    await h.cleanup()
  })

  void it('creates users and keys, enforces quotas and delete order', async () => {
    const u = await h.call('CreateUser', {
      UserName: 'ci-bot',
      'Tags.member.1.Key': 't',
      'Tags.member.1.Value': 'v',
    })
    assert.equal(u.status, 200, u.message)
    assert.match(xmlText(u.xml, 'UserId') ?? '', /^AIDA[A-Z2-7]{17}$/)
    assert.equal(
      (await h.call('CreateUser', { UserName: 'CI-BOT' })).message,
      'User with name CI-BOT already exists.',
    )
    assert.equal(
      (await h.call('GetUser', { UserName: 'ghost' })).message,
      'The user with name ghost cannot be found.',
    )
    assert.equal(xmlText((await h.call('GetUser')).xml, 'UserName'), 'podtrust-admin')
    const k1 = await h.call('CreateAccessKey', { UserName: 'ci-bot' })
    assert.equal(k1.status, 200, k1.message)
    const keyId = xmlText(k1.xml, 'AccessKeyId')!
    assert.match(keyId, /^AKIA[A-Z2-7]{16}$/)
    assert.equal(xmlText(k1.xml, 'SecretAccessKey')?.length, 40)
    assert.equal(xmlText(k1.xml, 'Status'), 'Active')
    await h.call('CreateAccessKey', { UserName: 'ci-bot' })
    const third = await h.call('CreateAccessKey', { UserName: 'ci-bot' })
    assert.equal(third.code, 'LimitExceeded')
    assert.equal(third.message, 'Cannot exceed quota for AccessKeysPerUser: 2')
    assert.equal(
      (
        await h.call('UpdateAccessKey', {
          UserName: 'ci-bot',
          AccessKeyId: keyId,
          Status: 'Inactive',
        })
      ).status,
      200,
    )
    assert.equal(
      (await h.call('UpdateAccessKey', { UserName: 'ci-bot', AccessKeyId: keyId, Status: 'Off' }))
        .message,
      "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
    )
    const list = await h.call('ListAccessKeys', { UserName: 'ci-bot' })
    assert.deepEqual(xmlAll(list.xml, 'Status').sort(), ['Active', 'Inactive'])
    assert.doesNotMatch(list.xml, /SecretAccessKey/)
    assert.equal(
      xmlText((await h.call('GetAccessKeyLastUsed', { AccessKeyId: keyId })).xml, 'ServiceName'),
      'N/A',
    )
    assert.equal(
      (await h.call('DeleteAccessKey', { UserName: 'ci-bot', AccessKeyId: 'AKIAAAAAAAAAAAAAAAAA' }))
        .message,
      'The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.',
    )
    assert.equal(
      (await h.call('DeleteAccessKey', { UserName: 'ci-bot', AccessKeyId: 'short' })).code,
      'ValidationError',
    )
    assert.equal(
      (
        await h.call('PutUserPolicy', {
          UserName: 'ci-bot',
          PolicyName: 'p',
          PolicyDocument:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await h.call('AttachUserPolicy', {
          UserName: 'ci-bot',
          PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
        })
      ).status,
      200,
    )
    assert.deepEqual(
      xmlAll((await h.call('ListAttachedUserPolicies', { UserName: 'ci-bot' })).xml, 'PolicyName'),
      ['ReadOnlyAccess'],
    )
    assert.deepEqual(
      xmlAll((await h.call('ListUserPolicies', { UserName: 'ci-bot' })).xml, 'member'),
      ['p'],
    )
    assert.equal(
      (await h.call('DeleteUser', { UserName: 'ci-bot' })).message,
      'Cannot delete entity, must delete access keys first.',
    )
    for (const id of xmlAll(list.xml, 'AccessKeyId'))
      await h.call('DeleteAccessKey', { UserName: 'ci-bot', AccessKeyId: id })
    assert.equal(
      (await h.call('DeleteUser', { UserName: 'ci-bot' })).message,
      'Cannot delete entity, must detach all policies first.',
    )
    await h.call('DetachUserPolicy', {
      UserName: 'ci-bot',
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    })
    assert.equal(
      (await h.call('DeleteUser', { UserName: 'ci-bot' })).message,
      'Cannot delete entity, must delete policies first.',
    )
    await h.call('DeleteUserPolicy', { UserName: 'ci-bot', PolicyName: 'p' })
    assert.equal((await h.call('DeleteUser', { UserName: 'ci-bot' })).status, 200)
    assert.deepEqual(xmlAll((await h.call('ListUsers')).xml, 'UserName'), ['podtrust-admin'])
  })

  void it('authorizes every action with the caller policies and AWS AccessDenied wording', async () => {
    await h.call('CreateUser', { UserName: 'reader' })
    const reader: Caller = {
      ...h.admin,
      arn: `arn:aws:iam::${ACCT}:user/reader`,
      userName: 'reader',
      userId: 'AIDAREADER',
    }
    const denied = await h.call('ListRoles', {}, reader)
    assert.equal(denied.status, 403)
    assert.equal(denied.code, 'AccessDenied')
    assert.equal(
      denied.message,
      `User: arn:aws:iam::${ACCT}:user/reader is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::${ACCT}:role/ because no identity-based policy allows the iam:ListRoles action`,
    )
    await h.call('AttachUserPolicy', {
      UserName: 'reader',
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    })
    assert.equal((await h.call('ListRoles', {}, reader)).status, 200)
    const write = await h.call(
      'CreateRole',
      { RoleName: 'x', AssumeRolePolicyDocument: '{}' },
      reader,
    )
    assert.equal(write.code, 'AccessDenied')
    await h.call('PutUserPolicy', {
      UserName: 'reader',
      PolicyName: 'deny',
      PolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:List*","Resource":"*"}]}',
    })
    const explicit = await h.call('ListRoles', {}, reader)
    assert.match(explicit.message ?? '', /with an explicit deny in an identity-based policy$/)
    const anonymous = await h.call('ListRoles', {}, null)
    assert.equal(anonymous.code, 'MissingAuthenticationToken')
    assert.equal(anonymous.status, 403)
  })

  void it('authorizes role sessions with the role policies intersected with session policies', async () => {
    const trust =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    assert.equal(
      (await h.call('CreateRole', { RoleName: 'operator', AssumeRolePolicyDocument: trust }))
        .status,
      200,
    )
    await h.call('PutRolePolicy', {
      RoleName: 'operator',
      PolicyName: 'iam-read',
      PolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:List*","iam:Get*"],"Resource":"*"}]}',
    })
    const role = await (
      await import('../../../src/aws/iam/repo.ts')
    )
      .createIamRepo(h.ctx.db)
      .getRole(ACCT, 'operator')
    const session = (sessionPolicies: string[]): Caller => ({
      arn: `arn:aws:sts::${ACCT}:assumed-role/operator/s1`,
      accountId: ACCT,
      userId: `${role!.roleId}:s1`,
      accessKeyId: 'ASIAEXAMPLE',
      type: 'AssumedRole',
      session: {
        roleArn: role!.arn,
        roleName: 'operator',
        roleId: role!.roleId,
        rolePath: '/',
        sessionName: 's1',
        issuedAt: new Date('2026-11-23T01:00:00Z'),
        expiration: new Date('2026-11-23T03:00:00Z'),
        tags: [],
        transitiveTagKeys: [],
        sessionPolicies,
        sessionPolicyArns: [],
        chained: false,
      },
    })
    assert.equal((await h.call('ListRoles', {}, session([]))).status, 200)
    const create = await h.call('CreateUser', { UserName: 'x' }, session([]))
    assert.equal(create.code, 'AccessDenied')
    assert.match(
      create.message ?? '',
      /^User: arn:aws:sts::123456789012:assumed-role\/operator\/s1 is not authorized to perform: iam:CreateUser/,
    )
    const narrowed = session([
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}',
    ])
    assert.equal((await h.call('GetRole', { RoleName: 'operator' }, narrowed)).status, 200)
    assert.equal((await h.call('ListRoles', {}, narrowed)).code, 'AccessDenied')
    assert.equal(
      (await h.call('GetUser', {}, session([]))).message,
      'Must specify userName when calling with non-User credentials',
    )
  })

  void it('returns GetAccountAuthorizationDetails in the GAAD shape with filters and pagination', async () => {
    await h.call('CreateRole', {
      RoleName: 'app',
      AssumeRolePolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    })
    await h.call('PutRolePolicy', {
      RoleName: 'app',
      PolicyName: 'inl',
      PolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}',
    })
    await h.call('AttachRolePolicy', {
      RoleName: 'app',
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess',
    })
    await h.call('CreatePolicy', {
      PolicyName: 'unused',
      PolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
    })
    const all = await h.call('GetAccountAuthorizationDetails')
    assert.equal(all.status, 200, all.message)
    assert.deepEqual(xmlAll(all.xml, 'RoleName'), ['app', 'operator'])
    assert.match(
      all.xml,
      /<RolePolicyList><member><PolicyName>inl<\/PolicyName><PolicyDocument>%7B/,
    )
    assert.match(all.xml, /<InstanceProfileList\/>/)
    assert.match(all.xml, /<RoleLastUsed\/>/)
    assert.match(all.xml, /<GroupDetailList\/>/)
    const policyNames = xmlAll(all.xml, 'PolicyName')
    assert.ok(policyNames.includes('unused'))
    assert.ok(policyNames.includes('AmazonSQSFullAccess'))
    assert.ok(
      !policyNames.includes('AmazonS3ReadOnlyAccess'),
      'unattached AWS policies are left out',
    )
    assert.match(all.xml, /<PolicyVersionList><member><Document>%7B/)
    const roles = await h.call('GetAccountAuthorizationDetails', { 'Filter.member.1': 'Role' })
    assert.doesNotMatch(roles.xml, /<UserName>/)
    assert.equal(
      (await h.call('GetAccountAuthorizationDetails', { 'Filter.member.1': 'Nope' })).code,
      'ValidationError',
    )
    const p1 = await h.call('GetAccountAuthorizationDetails', { MaxItems: '1' })
    assert.equal(xmlText(p1.xml, 'IsTruncated'), 'true')
    const p2 = await h.call('GetAccountAuthorizationDetails', {
      MaxItems: '100',
      Marker: xmlText(p1.xml, 'Marker')!,
    })
    assert.equal(xmlText(p2.xml, 'IsTruncated'), 'false')
  })
})
