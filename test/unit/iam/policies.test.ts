import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ACCT, openHarness, xmlAll, xmlText, type Harness } from './harness.ts'

const DOC = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  })
const ARN = `arn:aws:iam::${ACCT}:policy/S3ReadOnlyPolicy`

void describe('iam managed policies', () => {
  let h: Harness
  before(async () => {
    h = await openHarness()
  })
  after(async () => {
    await h.cleanup()
  })

  void it('creates a policy (ANPA id, v1 default) and rejects duplicates and malformed documents', async () => {
    const r = await h.call('CreatePolicy', {
      PolicyName: 'S3ReadOnlyPolicy',
      PolicyDocument: DOC('s3:GetObject'),
      Description: 'd',
    })
    assert.equal(r.status, 200, r.message)
    assert.match(xmlText(r.xml, 'PolicyId') ?? '', /^ANPA[A-Z2-7]{17}$/)
    assert.equal(xmlText(r.xml, 'Arn'), ARN)
    assert.equal(xmlText(r.xml, 'DefaultVersionId'), 'v1')
    assert.equal(xmlText(r.xml, 'AttachmentCount'), '0')
    assert.equal(xmlText(r.xml, 'IsAttachable'), 'true')
    const dup = await h.call('CreatePolicy', {
      PolicyName: 's3readonlypolicy',
      PolicyDocument: DOC('s3:GetObject'),
    })
    assert.equal(dup.status, 409)
    assert.equal(
      dup.message,
      'A policy called s3readonlypolicy already exists. Duplicate names are not allowed.',
    )
    const cases: [Record<string, string>, string, string][] = [
      [
        {
          PolicyName: 'p',
          PolicyDocument: '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        },
        'MalformedPolicyDocument',
        'Policy document must be version 2012-10-17 or greater.',
      ],
      [
        {
          PolicyName: 'p',
          PolicyDocument:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}',
        },
        'MalformedPolicyDocument',
        'Policy document should not specify a principal.',
      ],
      [
        { PolicyName: 'p', PolicyDocument: '[]' },
        'MalformedPolicyDocument',
        'Syntax errors in policy.',
      ],
      [
        { PolicyName: 'p', PolicyDocument: DOC('s3:*'), Path: 'x' },
        'ValidationError',
        "1 validation error detected: Value at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
      ],
      [
        { PolicyName: 'a b', PolicyDocument: DOC('s3:*') },
        'ValidationError',
        "1 validation error detected: Value at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
      ],
      [
        { PolicyDocument: DOC('s3:*') },
        'ValidationError',
        "1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null",
      ],
    ]
    for (const [params, code, message] of cases) {
      const res = await h.call('CreatePolicy', params)
      assert.equal(res.code, code, JSON.stringify(params))
      assert.equal(res.message, message)
    }
  })

  void it('manages versions: create, limit of 5, set default, delete rules', async () => {
    const v2 = await h.call('CreatePolicyVersion', {
      PolicyArn: ARN,
      PolicyDocument: DOC('s3:ListBucket'),
      SetAsDefault: 'true',
    })
    assert.equal(xmlText(v2.xml, 'VersionId'), 'v2')
    assert.equal(xmlText(v2.xml, 'IsDefaultVersion'), 'true')
    assert.equal(
      xmlText((await h.call('GetPolicy', { PolicyArn: ARN })).xml, 'DefaultVersionId'),
      'v2',
    )
    const gv = await h.call('GetPolicyVersion', { PolicyArn: ARN, VersionId: 'v1' })
    assert.equal(decodeURIComponent(xmlText(gv.xml, 'Document')!), DOC('s3:GetObject'))
    assert.equal(xmlText(gv.xml, 'IsDefaultVersion'), 'false')
    for (const a of ['s3:A', 's3:B', 's3:C'])
      assert.equal(
        (await h.call('CreatePolicyVersion', { PolicyArn: ARN, PolicyDocument: DOC(a) })).status,
        200,
      )
    const sixth = await h.call('CreatePolicyVersion', {
      PolicyArn: ARN,
      PolicyDocument: DOC('s3:D'),
    })
    assert.equal(sixth.code, 'LimitExceeded')
    assert.equal(
      sixth.message,
      'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
    )
    assert.deepEqual(
      xmlAll((await h.call('ListPolicyVersions', { PolicyArn: ARN })).xml, 'VersionId'),
      ['v5', 'v4', 'v3', 'v2', 'v1'],
    )
    const delDefault = await h.call('DeletePolicyVersion', { PolicyArn: ARN, VersionId: 'v2' })
    assert.equal(delDefault.code, 'DeleteConflict')
    assert.equal(delDefault.message, 'Cannot delete the default version of a policy.')
    assert.equal(
      (await h.call('SetDefaultPolicyVersion', { PolicyArn: ARN, VersionId: 'v4' })).status,
      200,
    )
    assert.equal(
      (await h.call('SetDefaultPolicyVersion', { PolicyArn: ARN, VersionId: 'v9' })).code,
      'NoSuchEntity',
    )
    assert.equal(
      (await h.call('SetDefaultPolicyVersion', { PolicyArn: ARN, VersionId: 'x1' })).code,
      'ValidationError',
    )
    assert.equal(
      (await h.call('GetPolicyVersion', { PolicyArn: ARN, VersionId: 'v9' })).message,
      `Policy ${ARN} version v9 does not exist or is not attachable.`,
    )
    for (const v of ['v1', 'v2', 'v3', 'v5'])
      assert.equal(
        (await h.call('DeletePolicyVersion', { PolicyArn: ARN, VersionId: v })).status,
        200,
      )
    assert.equal(
      (
        await h.call('CreatePolicyVersion', { PolicyArn: ARN, PolicyDocument: DOC('s3:E') })
      ).xml.includes('<VersionId>v6</VersionId>'),
      true,
    )
    assert.equal(
      (await h.call('DeletePolicyVersion', { PolicyArn: ARN, VersionId: 'v6' })).status,
      200,
    )
  })

  void it('lists AWS and local policies, serves AWS managed documents, and refuses writes to them', async () => {
    const aws = await h.call('GetPolicy', {
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    })
    assert.equal(xmlText(aws.xml, 'DefaultVersionId'), 'v3')
    const v = await h.call('GetPolicyVersion', {
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      VersionId: 'v3',
    })
    const doc = JSON.parse(decodeURIComponent(xmlText(v.xml, 'Document')!)) as {
      Statement: { Action: string[] }[]
    }
    assert.deepEqual(doc.Statement[0]?.Action, [
      's3:Get*',
      's3:List*',
      's3:Describe*',
      's3-object-lambda:Get*',
      's3-object-lambda:List*',
    ])
    for (const name of ['AdministratorAccess', 'ReadOnlyAccess', 'AmazonSQSFullAccess']) {
      assert.equal(
        (await h.call('GetPolicy', { PolicyArn: `arn:aws:iam::aws:policy/${name}` })).status,
        200,
        name,
      )
    }
    const local = await h.call('ListPolicies', { Scope: 'Local' })
    assert.deepEqual(xmlAll(local.xml, 'PolicyName'), ['S3ReadOnlyPolicy'])
    assert.doesNotMatch(local.xml, /<Description>/)
    const attached = await h.call('ListPolicies', { OnlyAttached: 'true' })
    assert.deepEqual(xmlAll(attached.xml, 'PolicyName'), ['AdministratorAccess'])
    assert.equal(
      (await h.call('ListPolicies', { Scope: 'Mine' })).message,
      "1 validation error detected: Value at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]",
    )
    assert.equal((await h.call('ListPolicies', { OnlyAttached: 'yes' })).code, 'ValidationError')
    const denied = await h.call('DeletePolicy', {
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    })
    assert.equal(denied.code, 'AccessDenied')
    assert.equal(
      (await h.call('GetPolicy', { PolicyArn: `arn:aws:iam::${ACCT}:policy/missing` })).message,
      `Policy arn:aws:iam::${ACCT}:policy/missing was not found.`,
    )
    assert.equal(
      (await h.call('GetPolicy', { PolicyArn: 'arn:aws:s3:::bucket/not-a-policy' })).code,
      'InvalidInput',
    )
  })

  void it('refuses to delete attached or multi-version policies, then deletes', async () => {
    await h.call('CreateRole', {
      RoleName: 'r',
      AssumeRolePolicyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    })
    assert.equal((await h.call('AttachRolePolicy', { RoleName: 'r', PolicyArn: ARN })).status, 200)
    const ents = await h.call('ListEntitiesForPolicy', { PolicyArn: ARN })
    assert.deepEqual(xmlAll(ents.xml, 'RoleName'), ['r'])
    assert.equal(
      (await h.call('DeletePolicy', { PolicyArn: ARN })).message,
      'Cannot delete a policy attached to entities.',
    )
    await h.call('DetachRolePolicy', { RoleName: 'r', PolicyArn: ARN })
    await h.call('CreatePolicyVersion', { PolicyArn: ARN, PolicyDocument: DOC('s3:F') })
    assert.equal((await h.call('DeletePolicy', { PolicyArn: ARN })).code, 'DeleteConflict')
    const versions = xmlAll(
      (await h.call('ListPolicyVersions', { PolicyArn: ARN })).xml,
      'VersionId',
    )
    const def = xmlText((await h.call('GetPolicy', { PolicyArn: ARN })).xml, 'DefaultVersionId')
    for (const v of versions)
      if (v !== def) await h.call('DeletePolicyVersion', { PolicyArn: ARN, VersionId: v })
    assert.equal((await h.call('DeletePolicy', { PolicyArn: ARN })).status, 200)
    assert.equal((await h.call('GetPolicy', { PolicyArn: ARN })).code, 'NoSuchEntity')
  })
})
