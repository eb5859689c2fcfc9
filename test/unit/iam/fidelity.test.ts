/**
 * IAM API messages and shapes beyond the given corpora (issue 15). Each case names the AWS source that decides it:
 * the IAM API reference (error lists, data types), the IAM User Guide, botocore's iam model (constraints), or AWS
 * responses recorded by LocalStack's AWS-validated snapshots.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ACCT, openHarness, xmlAll, xmlText, type Harness } from './harness.ts'

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
})
const DOC = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
})

void describe('iam fidelity: messages and shapes', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(async () => {
    await h.cleanup()
  })

  // IAM API reference, MalformedPolicyDocument; AWS-recorded wording for text that is not JSON.
  void it('unparsable documents: "This policy contains invalid Json"', async () => {
    const r = await h.call('CreatePolicy', { PolicyName: 'p', PolicyDocument: '{"Version":' })
    assert.equal(r.code, 'MalformedPolicyDocument')
    assert.equal(r.message, 'This policy contains invalid Json')
    const t = await h.call('CreateRole', { RoleName: 'r', AssumeRolePolicyDocument: 'nope' })
    assert.equal(t.message, 'This policy contains invalid Json')
  })

  // AWS-recorded trust-policy errors (IAM User Guide, "Role trust policy": Resource is not allowed, actions are STS
  // role-assumption actions).
  void it('trust policies: prohibited Resource and non-STS actions in AWS wording', async () => {
    const withResource = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'ec2.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Resource: '*',
        },
      ],
    })
    const r = await h.call('CreateRole', { RoleName: 'r1', AssumeRolePolicyDocument: withResource })
    assert.equal(r.message, 'Has prohibited field Resource')
    const s3 = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 's3:GetObject' },
      ],
    })
    const a = await h.call('CreateRole', { RoleName: 'r2', AssumeRolePolicyDocument: s3 })
    assert.equal(a.code, 'MalformedPolicyDocument')
    assert.equal(a.message, 'AssumeRole policy may only specify STS AssumeRole actions.')
  })

  // botocore iam model (roleNameType 1–64 [\w+=,.@-]+, pathType, tagKeyType 1–128): every violation listed, values
  // never echoed (AWS-recorded "Value at 'url' failed to satisfy constraint").
  void it('ValidationError lists every violation without echoing values', async () => {
    const r = await h.call('CreateRole', {
      RoleName: 'x'.repeat(65) + ' ',
      AssumeRolePolicyDocument: TRUST,
      Path: 'no-slash',
    })
    assert.equal(r.code, 'ValidationError')
    assert.match(r.message ?? '', /^3 validation errors detected: /)
    assert.ok(!(r.message ?? '').includes('xxxx'), 'the value is not echoed')
    assert.ok(
      (r.message ?? '').includes(
        "Value at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64",
      ),
    )
    assert.ok((r.message ?? '').includes("Value at 'path' failed to satisfy constraint"))
    const tags = await h.call('CreateRole', {
      RoleName: 'tagged',
      AssumeRolePolicyDocument: TRUST,
      'Tags.member.1.Key': '',
      'Tags.member.1.Value': 'v',
    })
    assert.equal(
      tags.message,
      "2 validation errors detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
    )
  })

  // IAM User Guide, "Tagging IAM resources": role tag keys are case-insensitive; managed-policy tag keys keep case.
  void it('tag keys: case-insensitive on roles, case-sensitive on managed policies; UntagX keys validated', async () => {
    const dup = await h.call('CreateRole', {
      RoleName: 'dup',
      AssumeRolePolicyDocument: TRUST,
      'Tags.member.1.Key': 'Team',
      'Tags.member.1.Value': 'a',
      'Tags.member.2.Key': 'team',
      'Tags.member.2.Value': 'b',
    })
    assert.equal(dup.code, 'InvalidInput')
    const p = await h.call('CreatePolicy', {
      PolicyName: 'tagged',
      PolicyDocument: DOC,
      'Tags.member.1.Key': 'Team',
      'Tags.member.1.Value': 'a',
      'Tags.member.2.Key': 'team',
      'Tags.member.2.Value': 'b',
    })
    assert.equal(p.status, 200, p.message)
    const arn = `arn:aws:iam::${ACCT}:policy/tagged`
    assert.deepEqual(xmlAll((await h.call('ListPolicyTags', { PolicyArn: arn })).xml, 'Key'), [
      'Team',
      'team',
    ])
    await h.call('UntagPolicy', { PolicyArn: arn, 'TagKeys.member.1': 'team' })
    assert.deepEqual(xmlAll((await h.call('ListPolicyTags', { PolicyArn: arn })).xml, 'Key'), [
      'Team',
    ])
    const bad = await h.call('UntagPolicy', { PolicyArn: arn, 'TagKeys.member.1': 'bad*key' })
    assert.equal(bad.code, 'ValidationError')
    assert.match(
      bad.message ?? '',
      /Value at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: \[/,
    )
  })

  // IAM API reference, Policy data type: GetPolicy includes Tags; CreatePolicy's Policy has no Description.
  void it('GetPolicy answers Tags: [] and CreatePolicy omits Description', async () => {
    const c = await h.call('CreatePolicy', {
      PolicyName: 'plain',
      PolicyDocument: DOC,
      Description: 'd',
    })
    assert.equal(xmlText(c.xml, 'Description'), undefined)
    const g = await h.call('GetPolicy', { PolicyArn: `arn:aws:iam::${ACCT}:policy/plain` })
    assert.match(g.xml, /<Tags\s*\/>|<Tags><\/Tags>/)
    assert.equal(xmlText(g.xml, 'Description'), 'd')
  })

  // IAM API reference, GetPolicyVersion / SetDefaultPolicyVersion: NoSuchEntity; VersionId pattern v[1-9][0-9]*.
  void it('policy versions: missing versions and policies, malformed VersionId', async () => {
    const arn = `arn:aws:iam::${ACCT}:policy/plain`
    const missing = await h.call('GetPolicyVersion', { PolicyArn: arn, VersionId: 'v9' })
    assert.equal(missing.code, 'NoSuchEntity')
    assert.equal(missing.message, `Policy ${arn} version v9 does not exist or is not attachable.`)
    const gone = `arn:aws:iam::${ACCT}:policy/gone`
    const noPolicy = await h.call('GetPolicyVersion', { PolicyArn: gone, VersionId: 'v1' })
    assert.equal(noPolicy.message, `Policy ${gone} version v1 does not exist or is not attachable.`)
    const bad = await h.call('GetPolicyVersion', { PolicyArn: arn, VersionId: 'V1' })
    assert.equal(
      bad.message,
      "1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
    )
  })

  // IAM User Guide, "AWS managed policies": they cannot be changed; the catalog serves their versions.
  void it('AWS managed policies: writes are AccessDenied, the catalog has EKS policies and older versions', async () => {
    for (const [action, params] of [
      ['DeletePolicy', {}],
      ['CreatePolicyVersion', { PolicyDocument: DOC }],
      ['TagPolicy', { 'Tags.member.1.Key': 'k', 'Tags.member.1.Value': 'v' }],
    ] as const) {
      const r = await h.call(action, {
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
        ...params,
      })
      assert.equal(r.code, 'AccessDenied', action)
      assert.equal(r.status, 403)
    }
    const notInCatalog = await h.call('DeletePolicy', {
      PolicyArn: 'arn:aws:iam::aws:policy/NoSuchPolicyAnywhere',
    })
    assert.equal(notInCatalog.code, 'AccessDenied')
    for (const name of [
      'AmazonEKSClusterPolicy',
      'AmazonEKSWorkerNodePolicy',
      'AmazonEKS_CNI_Policy',
      'AmazonEC2ContainerRegistryReadOnly',
      'service-role/AmazonEBSCSIDriverPolicy',
      'service-role/AWSLambdaBasicExecutionRole',
      'job-function/ViewOnlyAccess',
      'CloudWatchAgentServerPolicy',
      'AmazonSSMManagedInstanceCore',
    ]) {
      const g = await h.call('GetPolicy', { PolicyArn: `arn:aws:iam::aws:policy/${name}` })
      assert.equal(g.status, 200, `${name}: ${g.message}`)
    }
    const versions = await h.call('ListPolicyVersions', {
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    })
    assert.ok(xmlAll(versions.xml, 'VersionId').length > 1, 'older versions are listed')
    assert.deepEqual(xmlAll(versions.xml, 'IsDefaultVersion').filter((x) => x === 'true').length, 1)
  })

  // AWS CLI reference, update-role-description: the Role with Description and MaxSessionDuration, no RoleLastUsed.
  void it('UpdateRoleDescription answers the updated role without RoleLastUsed', async () => {
    await h.call('CreateRole', { RoleName: 'described', AssumeRolePolicyDocument: TRUST })
    const r = await h.call('UpdateRoleDescription', {
      RoleName: 'described',
      Description: 'new text',
    })
    assert.equal(r.status, 200, r.message)
    assert.equal(xmlText(r.xml, 'Description'), 'new text')
    assert.equal(xmlText(r.xml, 'MaxSessionDuration'), '3600')
    assert.ok(!r.xml.includes('RoleLastUsed'))
  })

  // IAM API reference, ListEntitiesForPolicy (PolicyGroups) and GetGroup; IAM User Guide, "IAM user groups".
  void it('group attachments show in ListEntitiesForPolicy; group policies authorize members', async () => {
    assert.equal((await h.call('CreateGroup', { GroupName: 'g1' })).status, 200)
    const arn = `arn:aws:iam::${ACCT}:policy/plain`
    assert.equal(
      (await h.call('AttachGroupPolicy', { GroupName: 'g1', PolicyArn: arn })).status,
      200,
    )
    const e = await h.call('ListEntitiesForPolicy', { PolicyArn: arn })
    assert.deepEqual(xmlAll(e.xml, 'GroupName'), ['g1'])
    const dup = await h.call('CreateGroup', { GroupName: 'G1' })
    assert.equal(dup.message, 'Group with name G1 already exists.')
    assert.equal((await h.call('CreateUser', { UserName: 'member' })).status, 200)
    const member = { ...h.admin, arn: `arn:aws:iam::${ACCT}:user/member`, userName: 'member' }
    assert.equal((await h.call('ListGroups', {}, member)).code, 'AccessDenied')
    await h.call('PutGroupPolicy', {
      GroupName: 'g1',
      PolicyName: 'list',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:ListGroups', Resource: '*' }],
      }),
    })
    await h.call('AddUserToGroup', { GroupName: 'g1', UserName: 'member' })
    assert.equal((await h.call('ListGroups', {}, member)).status, 200)
  })

  // IAM API reference, GetAccessKeyLastUsed: an unknown key does not reveal whether it exists.
  void it('GetAccessKeyLastUsed on an unknown key is AccessDenied', async () => {
    const r = await h.call('GetAccessKeyLastUsed', { AccessKeyId: 'AKIAQAAAAAAAAAAAAAAA' })
    assert.equal(r.code, 'AccessDenied')
    assert.equal(
      r.message,
      `User: ${h.admin.arn} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key AKIAQAAAAAAAAAAAAAAA`,
    )
  })
})
