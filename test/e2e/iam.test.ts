/**
 * IAM end to end: the real server in-process (port 0, temp data dir), the bootstrap admin's long-term key,
 * and unmodified clients — the AWS CLI (the walkthrough's commands), boto3 and the AWS SDK for JS v3 —
 * each with its own HOME.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  CreateUserCommand,
  CreateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import { createAuditLog } from '../../src/audit/log.ts'
import { getBootstrapAdmin } from '../../src/aws/iam/bootstrap.ts'
import { startServer, type RunningServer } from '../../src/server/start.ts'
import { cleanEnv, findOnPath, pythonHas, removeDir, run, tempDir } from './helpers/index.ts'

const ACCOUNT = '000000000000'
const PROVIDER_URL = 'oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE'
const TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${PROVIDER_URL}` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${PROVIDER_URL}:sub`]: 'system:serviceaccount:default:s3-reader',
          [`${PROVIDER_URL}:aud`]: 'sts.amazonaws.com',
        },
      },
    },
  ],
}

void describe('iam e2e', () => {
  let server: RunningServer
  let dir: string
  let keys: { accessKeyId: string; secretAccessKey: string }

  before(async () => {
    dir = tempDir('podtrust-iam-e2e-')
    server = await startServer({
      dataDir: join(dir, 'data'),
      port: 0,
      accountId: ACCOUNT,
      logLevel: 'silent',
    } as Parameters<typeof startServer>[0])
    const admin = await getBootstrapAdmin(server.ctx.db, ACCOUNT)
    assert.ok(admin, 'the server created the bootstrap admin on start')
    keys = admin
  })
  after(async () => {
    await server.close()
    removeDir(dir)
  })

  const awsEnv = (home: string) =>
    cleanEnv(join(dir, home), {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_IAM: server.baseUrl,
    })

  void it('AWS CLI: the walkthrough (OIDC provider, role from file://, attach AWS managed policy) and errors', async (t) => {
    if (findOnPath('aws') === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const env = awsEnv('cli')
    const aws = (...args: string[]) =>
      run('aws', ['iam', ...args, '--output', 'json'], { env, cwd: dir })
    let r = await aws(
      'create-open-id-connect-provider',
      '--url',
      `https://${PROVIDER_URL}`,
      '--client-id-list',
      'sts.amazonaws.com',
      '--thumbprint-list',
      '9e99a48a9960b14926bb7f3b02e22da2b0ab7280',
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(
      JSON.parse(r.stdout).OpenIDConnectProviderArn,
      `arn:aws:iam::${ACCOUNT}:oidc-provider/${PROVIDER_URL}`,
    )
    writeFileSync(join(dir, 'trust-policy.json'), JSON.stringify(TRUST, null, 2))
    r = await aws(
      'create-role',
      '--role-name',
      'IRSA-S3-Role',
      '--assume-role-policy-document',
      'file://trust-policy.json',
    )
    assert.equal(r.code, 0, r.stderr)
    const created = JSON.parse(r.stdout).Role
    assert.match(created.RoleId, /^AROA/)
    assert.deepEqual(created.AssumeRolePolicyDocument, TRUST)
    r = await aws(
      'attach-role-policy',
      '--role-name',
      'IRSA-S3-Role',
      '--policy-arn',
      'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    )
    assert.equal(r.code, 0, r.stderr)
    r = await aws('list-attached-role-policies', '--role-name', 'IRSA-S3-Role')
    assert.deepEqual(JSON.parse(r.stdout).AttachedPolicies, [
      {
        PolicyName: 'AmazonS3ReadOnlyAccess',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      },
    ])
    r = await aws(
      'get-open-id-connect-provider',
      '--open-id-connect-provider-arn',
      `arn:aws:iam::${ACCOUNT}:oidc-provider/${PROVIDER_URL}`,
    )
    assert.equal(JSON.parse(r.stdout).Url, PROVIDER_URL)

    r = await aws(
      'create-role',
      '--role-name',
      'irsa-s3-role',
      '--assume-role-policy-document',
      'file://trust-policy.json',
    )
    assert.notEqual(r.code, 0)
    assert.match(
      r.stderr,
      /An error occurred \(EntityAlreadyExists\) when calling the CreateRole operation: Role with name irsa-s3-role already exists\./,
    )
    r = await aws(
      'create-role',
      '--role-name',
      'bad',
      '--assume-role-policy-document',
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
    )
    assert.match(r.stderr, /\(MalformedPolicyDocument\) when calling the CreateRole operation: /)
    r = await aws('get-role', '--role-name', 'nope')
    assert.match(
      r.stderr,
      /\(NoSuchEntity\) when calling the GetRole operation: The role with name nope cannot be found\./,
    )

    writeFileSync(
      join(dir, 'policy.json'),
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket', 's3:GetObject'],
            Resource: ['arn:aws:s3:::example-bucket/*'],
          },
        ],
      }),
    )
    r = await aws(
      'create-policy',
      '--policy-name',
      'S3ReadOnlyPolicy',
      '--policy-document',
      'file://policy.json',
    )
    assert.equal(r.code, 0, r.stderr)
    const arn = JSON.parse(r.stdout).Policy.Arn
    r = await aws(
      'create-policy-version',
      '--policy-arn',
      arn,
      '--policy-document',
      'file://policy.json',
      '--set-as-default',
    )
    assert.equal(JSON.parse(r.stdout).PolicyVersion.VersionId, 'v2')
    r = await aws('list-policy-versions', '--policy-arn', arn)
    assert.deepEqual(
      JSON.parse(r.stdout).Versions.map((v: { VersionId: string }) => v.VersionId),
      ['v2', 'v1'],
    )
    r = await aws('get-policy-version', '--policy-arn', arn, '--version-id', 'v1')
    assert.equal(
      JSON.parse(r.stdout).PolicyVersion.Document.Statement[0].Resource[0],
      'arn:aws:s3:::example-bucket/*',
    )
    r = await aws('attach-role-policy', '--role-name', 'IRSA-S3-Role', '--policy-arn', arn)
    assert.equal(r.code, 0, r.stderr)
    r = await aws('get-account-authorization-details', '--filter', 'Role')
    const gaad = JSON.parse(r.stdout)
    assert.equal(gaad.RoleDetailList[0].RoleName, 'IRSA-S3-Role')
    assert.equal(gaad.RoleDetailList[0].AttachedManagedPolicies.length, 2)
    r = await aws('delete-role', '--role-name', 'IRSA-S3-Role')
    assert.match(
      r.stderr,
      /\(DeleteConflict\) when calling the DeleteRole operation: Cannot delete entity, must detach all policies first\./,
    )

    r = await aws('create-user', '--user-name', 'ci')
    assert.equal(r.code, 0, r.stderr)
    r = await aws('create-access-key', '--user-name', 'ci')
    const key = JSON.parse(r.stdout).AccessKey
    assert.match(key.AccessKeyId, /^AKIA[A-Z2-7]{16}$/)
    r = await aws('list-access-keys', '--user-name', 'ci')
    assert.equal(JSON.parse(r.stdout).AccessKeyMetadata[0].AccessKeyId, key.AccessKeyId)
    // the new user has no policy: its own key authenticates, the engine denies
    const ciEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: key.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: key.SecretAccessKey,
    }
    r = await run('aws', ['iam', 'list-roles'], { env: ciEnv, cwd: dir })
    assert.match(
      r.stderr,
      /\(AccessDenied\) when calling the ListRoles operation: User: arn:aws:iam::000000000000:user\/ci is not authorized to perform: iam:ListRoles/,
    )
    r = await aws(
      'attach-user-policy',
      '--user-name',
      'ci',
      '--policy-arn',
      'arn:aws:iam::aws:policy/ReadOnlyAccess',
    )
    assert.equal(r.code, 0, r.stderr)
    r = await run('aws', ['iam', 'list-roles', '--output', 'json'], { env: ciEnv, cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    r = await aws(
      'update-access-key',
      '--user-name',
      'ci',
      '--access-key-id',
      key.AccessKeyId,
      '--status',
      'Inactive',
    )
    assert.equal(r.code, 0, r.stderr)
    r = await aws(
      'delete-open-id-connect-provider',
      '--open-id-connect-provider-arn',
      `arn:aws:iam::${ACCOUNT}:oidc-provider/${PROVIDER_URL}`,
    )
    assert.equal(r.code, 0, r.stderr)
    r = await aws(
      'delete-open-id-connect-provider',
      '--open-id-connect-provider-arn',
      `arn:aws:iam::${ACCOUNT}:oidc-provider/${PROVIDER_URL}`,
    )
    assert.match(r.stderr, /\(NoSuchEntity\)/)
  })

  void it('boto3: roles, policies with versions, OIDC provider tags, users and errors', async (t) => {
    if (!(await pythonHas('boto3'))) return t.skip('python3 with boto3 not found') // reason: the message says what is missing
    const script = `
import json, boto3, botocore
iam = boto3.client('iam')
out = {}
iam.create_open_id_connect_provider(Url='https://oidc.boto.example/id/1', ClientIDList=['sts.amazonaws.com'], Tags=[{'Key':'a','Value':'1'}])
arn = 'arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.boto.example/id/1'
iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{'Key':'b','Value':'2'}])
out['tags'] = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)['Tags']
iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID='other')
out['clients'] = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)['ClientIDList']
r = iam.create_role(RoleName='boto-role', AssumeRolePolicyDocument=${JSON.stringify(JSON.stringify(TRUST))}, MaxSessionDuration=7200, Tags=[{'Key':'k','Value':'v'}])
out['roleId'] = r['Role']['RoleId']
g = iam.get_role(RoleName='boto-role')['Role']
out['max'] = g['MaxSessionDuration']
out['trust'] = g['AssumeRolePolicyDocument']
iam.put_role_policy(RoleName='boto-role', PolicyName='inline', PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'sqs:*','Resource':'*'}]}))
out['inline'] = iam.get_role_policy(RoleName='boto-role', PolicyName='inline')['PolicyDocument']
p = iam.create_policy(PolicyName='boto-policy', PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'s3:GetObject','Resource':'*'}]}))['Policy']
iam.create_policy_version(PolicyArn=p['Arn'], PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Action':'s3:PutObject','Resource':'*'}]}), SetAsDefault=True)
iam.set_default_policy_version(PolicyArn=p['Arn'], VersionId='v1')
iam.delete_policy_version(PolicyArn=p['Arn'], VersionId='v2')
out['versions'] = [v['VersionId'] for v in iam.list_policy_versions(PolicyArn=p['Arn'])['Versions']]
pages = iam.get_paginator('list_roles').paginate(PaginationConfig={'PageSize': 1})
out['roles'] = [r['RoleName'] for page in pages for r in page['Roles']]
errors = {}
for name, call in [
  ('dup', lambda: iam.create_role(RoleName='BOTO-ROLE', AssumeRolePolicyDocument=${JSON.stringify(JSON.stringify(TRUST))})),
  ('malformed', lambda: iam.create_policy(PolicyName='x', PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}')),
  ('missing', lambda: iam.get_policy(PolicyArn='arn:aws:iam::${ACCOUNT}:policy/none')),
  ('dupProvider', lambda: iam.create_open_id_connect_provider(Url='https://oidc.boto.example/id/1', ClientIDList=[])),
  ('duration', lambda: iam.update_role(RoleName='boto-role', MaxSessionDuration=50000)),
]:
  try:
    call(); errors[name] = None
  except botocore.exceptions.ClientError as e:
    errors[name] = [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]
out['errors'] = errors
print(json.dumps(out))
`
    const r = await run('python3', ['-c', script], { env: awsEnv('boto') })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.deepEqual(out.tags, [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ])
    assert.deepEqual(out.clients, ['sts.amazonaws.com', 'other'])
    assert.match(out.roleId, /^AROA[A-Z2-7]{17}$/)
    assert.equal(out.max, 7200)
    assert.deepEqual(out.trust, TRUST)
    assert.equal(out.inline.Statement[0].Action, 'sqs:*')
    assert.deepEqual(out.versions, ['v1'])
    assert.ok(out.roles.includes('boto-role'))
    assert.deepEqual(out.errors.dup, [
      'EntityAlreadyExists',
      'Role with name BOTO-ROLE already exists.',
      409,
    ])
    assert.deepEqual(out.errors.malformed, [
      'MalformedPolicyDocument',
      'Policy document should not specify a principal.',
      400,
    ])
    assert.deepEqual(out.errors.missing, [
      'NoSuchEntity',
      `Policy arn:aws:iam::${ACCOUNT}:policy/none was not found.`,
      404,
    ])
    assert.deepEqual(out.errors.dupProvider, [
      'EntityAlreadyExists',
      'Provider with url https://oidc.boto.example/id/1 already exists.',
      409,
    ])
    assert.deepEqual(out.errors.duration, [
      'ValidationError',
      "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200",
      400,
    ])
  })

  void it('AWS SDK for JS v3: role and policy round trip', async () => {
    const iam = new IAMClient({
      endpoint: server.baseUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    })
    try {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: 'js-role',
          AssumeRolePolicyDocument: JSON.stringify(TRUST),
          Description: 'from js',
        }),
      )
      assert.match(created.Role?.RoleId ?? '', /^AROA/)
      assert.ok(created.Role?.CreateDate instanceof Date)
      const got = await iam.send(new GetRoleCommand({ RoleName: 'js-role' }))
      // The JS SDK leaves policy documents URL-encoded (aws-protocol §5.1).
      assert.deepEqual(
        JSON.parse(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? '')),
        TRUST,
      )
      assert.equal(got.Role?.MaxSessionDuration, 3600)
      assert.equal(got.Role?.Description, 'from js')
      const policy = await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'js-policy',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
          }),
        }),
      )
      const arn = policy.Policy?.Arn ?? ''
      assert.match(policy.Policy?.PolicyId ?? '', /^ANPA/)
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'js-role', PolicyArn: arn }))
      const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'js-role' }))
      assert.deepEqual(attached.AttachedPolicies, [{ PolicyName: 'js-policy', PolicyArn: arn }])
      await assert.rejects(
        iam.send(new DeletePolicyCommand({ PolicyArn: arn })),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.name, 'DeleteConflictException')
          assert.equal(err.message, 'Cannot delete a policy attached to entities.')
          assert.equal(err.$metadata?.httpStatusCode, 409)
          return true
        },
      )
      await iam.send(new DetachRolePolicyCommand({ RoleName: 'js-role', PolicyArn: arn }))
      await iam.send(new DeletePolicyCommand({ PolicyArn: arn }))
      await iam.send(new DeleteRoleCommand({ RoleName: 'js-role' }))
      await assert.rejects(iam.send(new GetRoleCommand({ RoleName: 'js-role' })), (err: Error) => {
        assert.equal(err.name, 'NoSuchEntityException')
        assert.equal(err.message, 'The role with name js-role cannot be found.')
        return true
      })
    } finally {
      iam.destroy()
    }
  })

  void it('records every IAM call as a CloudTrail-style audit event without secrets', async () => {
    const iam = new IAMClient({
      endpoint: server.baseUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    })
    try {
      await iam.send(new CreateUserCommand({ UserName: 'audited' }))
      const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'audited' }))
      const secret = key.AccessKey?.SecretAccessKey ?? ''
      assert.equal(secret.length, 40)
      const log = createAuditLog(server.ctx.db)
      const [created] = await log.tail({ eventName: 'CreateAccessKey', limit: 1 })
      assert.ok(created, 'CreateAccessKey was audited')
      assert.equal(created.event.eventSource, 'iam.amazonaws.com')
      assert.equal(created.event.userIdentity.arn, `arn:aws:iam::${ACCOUNT}:user/podtrust-admin`)
      assert.equal(created.event.readOnly, false)
      assert.ok(
        !JSON.stringify(created.event).includes(secret),
        'the secret never reaches the audit log',
      )
      const [user] = await log.tail({ eventName: 'CreateUser', limit: 1 })
      assert.equal(user?.event.requestParameters?.['userName'], 'audited')
    } finally {
      iam.destroy()
    }
  })

  void it('rejects unsigned and wrongly signed IAM calls', async () => {
    const res = await fetch(server.baseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=ListRoles&Version=2010-05-08',
    })
    assert.equal(res.status, 403)
    assert.match(await res.text(), /<Code>MissingAuthenticationToken<\/Code>/)
    const iam = new IAMClient({
      endpoint: server.baseUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: 'x'.repeat(40) },
    })
    try {
      await assert.rejects(iam.send(new GetRoleCommand({ RoleName: 'x' })), (err: Error) => {
        assert.equal(err.name, 'SignatureDoesNotMatch')
        return true
      })
    } finally {
      iam.destroy()
    }
  })
})
