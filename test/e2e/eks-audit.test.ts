/**
 * The EKS management API's audit trail end to end: the real server in-process, the AWS SDK for JavaScript v3
 * signing every call (an IAM user, and an assumed-role session carrying a session token), and
 * `podtrust audit tail` reading the events back from the store.
 */
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  EKSClient,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { main } from '../../src/cli/main.ts'
import { ACCOUNT, type Fixture, REGION, podTrust, startFixture } from './pod-identity-fixture.ts'

interface Event {
  eventSource: string
  eventName: string
  awsRegion: string
  sourceIPAddress: string
  userAgent: string
  userIdentity: {
    type: string
    arn?: string
    accountId?: string
    accessKeyId?: string
    sessionContext?: { sessionIssuer: { arn: string } }
  }
  requestParameters: Record<string, unknown> | null
  responseElements: Record<string, unknown> | null
  errorCode?: string
  errorMessage?: string
  requestID: string
  readOnly: boolean
}

void describe('EKS API audit events', () => {
  let f: Fixture
  let admin: EKSClient
  let operator: EKSClient
  let sessionToken: string
  let sessionSecret: string

  before(async () => {
    f = await startFixture()
    await f.addRole('app', podTrust(['sts:AssumeRole', 'sts:TagSession']))
    // An operator role the admin assumes: its session calls EKS with a session token.
    await f.addRole(
      'eks-operator',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/admin` },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['eks:*', 'iam:PassRole'], Resource: '*' }],
      }),
    )
    const sts = new STSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials: f.admin,
      maxAttempts: 1,
    })
    const assumed = await sts.send(
      new AssumeRoleCommand({ RoleArn: f.roleArn('eks-operator'), RoleSessionName: 'ops' }),
    )
    sts.destroy()
    const c = assumed.Credentials!
    sessionToken = c.SessionToken!
    sessionSecret = c.SecretAccessKey!
    const client = (credentials: {
      accessKeyId: string
      secretAccessKey: string
      sessionToken?: string
    }) => new EKSClient({ endpoint: f.server.baseUrl, region: REGION, credentials, maxAttempts: 1 })
    admin = client(f.admin)
    operator = client({
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: sessionSecret,
      sessionToken,
    })
  })
  after(async () => {
    admin?.destroy()
    operator?.destroy()
    await f?.close()
  })

  async function tail(...args: string[]): Promise<{ lines: string; events: Event[] }> {
    const stdout = new PassThrough()
    let out = ''
    stdout.on('data', (c: Buffer) => (out += c.toString()))
    const code = await main(['audit', 'tail', '-n', '1000', '--data-dir', f.dir, ...args], {
      stdout,
      stderr: new PassThrough(),
      env: {},
      cwd: f.dir,
    })
    assert.equal(code, 0)
    const events = out
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event)
    return { lines: out, events: events.filter((e) => e.eventSource === 'eks.amazonaws.com') }
  }

  void it('create and delete appear in audit tail with CloudTrail fields and no secrets', async () => {
    const created = await operator.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'shop',
        serviceAccount: 'cart',
        roleArn: f.roleArn('app'),
        tags: { team: 'shop' },
      }),
    )
    const id = created.association!.associationId!
    await operator.send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id }),
    )
    await operator.send(
      new ListPodIdentityAssociationsCommand({ clusterName: 'c1', namespace: 'shop' }),
    )
    await operator.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'c1',
        associationId: id,
        roleArn: f.roleArn('app'),
      }),
    )
    await operator.send(new DescribeClusterCommand({ name: 'c1' }))
    await operator.send(new ListClustersCommand({}))
    const deleted = await admin.send(
      new DeletePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id }),
    )
    assert.equal(deleted.association?.associationId, id)
    await assert.rejects(
      admin.send(
        new DescribePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id }),
      ),
      { name: 'ResourceNotFoundException' },
    )

    const { lines, events } = await tail()
    assert.deepEqual(
      events.map((e) => e.eventName),
      [
        'CreatePodIdentityAssociation',
        'DescribePodIdentityAssociation',
        'ListPodIdentityAssociations',
        'UpdatePodIdentityAssociation',
        'DescribeCluster',
        'ListClusters',
        'DeletePodIdentityAssociation',
        'DescribePodIdentityAssociation',
      ],
    )
    const create = events[0]!
    assert.equal(create.awsRegion, REGION)
    assert.equal(create.sourceIPAddress, '127.0.0.1')
    assert.match(create.userAgent, /aws-sdk-js/)
    assert.equal(create.readOnly, false)
    assert.equal(create.errorCode, undefined)
    assert.equal(create.userIdentity.type, 'AssumedRole')
    assert.match(
      create.userIdentity.arn ?? '',
      /^arn:aws:sts::111122223333:assumed-role\/eks-operator\/ops$/,
    )
    assert.equal(create.userIdentity.sessionContext?.sessionIssuer.arn, f.roleArn('eks-operator'))
    const parameters = { ...(create.requestParameters as Record<string, unknown>) }
    delete parameters['clientRequestToken']
    assert.deepEqual(parameters, {
      clusterName: 'c1',
      namespace: 'shop',
      serviceAccount: 'cart',
      roleArn: f.roleArn('app'),
      tags: { team: 'shop' },
    })
    // The SDK fills the idempotency token (a UUID); it names no credential and is kept, as CloudTrail does.
    assert.match(
      String((create.requestParameters as { clientRequestToken?: unknown }).clientRequestToken),
      /^[0-9a-f-]{36}$/,
    )
    assert.equal(
      (create.responseElements as { association: { associationId: string } }).association
        .associationId,
      id,
    )
    const del = events[6]!
    assert.equal(del.userIdentity.type, 'IAMUser')
    assert.equal(del.userIdentity.arn, `arn:aws:iam::${ACCOUNT}:user/admin`)
    assert.equal(del.userIdentity.accessKeyId, f.admin.accessKeyId)
    assert.deepEqual(del.requestParameters, { clusterName: 'c1', associationId: id })
    const missing = events[7]!
    assert.equal(missing.errorCode, 'ResourceNotFoundException')
    assert.match(missing.errorMessage ?? '', /\S/)
    assert.equal(missing.readOnly, true)
    // Filters of audit tail work on these events too.
    const onlyDelete = await tail('--event', 'DeletePodIdentityAssociation')
    assert.deepEqual(
      onlyDelete.events.map((e) => e.requestID),
      [del.requestID],
    )
    const failed = await tail('--failed')
    assert.ok(failed.events.every((e) => e.errorCode !== undefined))
    assert.ok(failed.events.some((e) => e.errorCode === 'ResourceNotFoundException'))
    // No secret of either caller anywhere in the trail.
    for (const secret of [sessionToken, sessionSecret, f.admin.secretAccessKey]) {
      assert.ok(!lines.includes(secret))
    }
    assert.doesNotMatch(lines, /Signature=|x-amz-security-token|authorization/i)
  })
})
