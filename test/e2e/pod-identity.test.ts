/**
 * EKS Pod Identity end to end with the AWS SDK for JavaScript v3: the EKS client manages associations, the
 * agent (`remoteSource`, SigV4-signed EKS Auth calls, and the in-process form) vends container credentials,
 * and the SDK's own container-credentials provider uses them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  EKSClient,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { fromHttp } from '@aws-sdk/credential-providers'
import { startInProcessAgent } from '../../src/server/in-process-agent.ts'
import { type RunningAgent, startAgent } from '../../src/agent/server.ts'
import { remoteSource } from '../../src/agent/source.ts'
import { ACCOUNT, type Fixture, REGION, podTrust, startFixture } from './pod-identity-fixture.ts'

void describe('EKS Pod Identity with the AWS SDK for JavaScript v3', () => {
  let f: Fixture
  let eks: EKSClient
  let agent: RunningAgent
  let inProcess: RunningAgent

  before(async () => {
    f = await startFixture()
    await f.addRole('app', podTrust(['sts:AssumeRole', 'sts:TagSession']))
    await f.addRole('notag', podTrust(['sts:AssumeRole']))
    eks = new EKSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials: f.admin,
      maxAttempts: 1,
    })
    agent = await startAgent({
      source: remoteSource({
        serverUrl: f.server.baseUrl,
        clusterName: 'c1',
        region: REGION,
        credentials: () => f.node,
      }),
    })
    inProcess = await startInProcessAgent(f.server.ctx, { port: 0 })
  })
  after(async () => {
    eks?.destroy()
    await agent?.close()
    await inProcess?.close()
    await f?.close()
  })

  async function credentialsFrom(agentUrl: string, token: string) {
    const provider = fromHttp({
      awsContainerCredentialsFullUri: agentUrl,
      awsContainerAuthorizationToken: token,
      maxRetries: 0,
    })
    return provider()
  }

  async function callerIdentity(credentials: Awaited<ReturnType<typeof credentialsFrom>>) {
    const sts = new STSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials,
      maxAttempts: 1,
    })
    try {
      return await sts.send(new GetCallerIdentityCommand({}))
    } finally {
      sts.destroy()
    }
  }

  void it('answers ListClusters / DescribeCluster for registered clusters', async () => {
    const list = await eks.send(new ListClustersCommand({}))
    assert.deepEqual(list.clusters, ['c1', 'c2'])
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'c1' }))
    assert.equal(cluster?.arn, `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/c1`)
    assert.match(cluster?.identity?.oidc?.issuer ?? '', /\/issuers\/cluster:c1$/)
    assert.ok(cluster?.createdAt instanceof Date)
    await assert.rejects(
      eks.send(new DescribeClusterCommand({ name: 'nope' })),
      ResourceNotFoundException,
    )
  })

  void it('manages associations through the EKS client', async () => {
    const created = await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'crud',
        serviceAccount: 'sa',
        roleArn: f.roleArn('app'),
        tags: { team: 'a' },
      }),
    )
    const id = created.association?.associationId ?? ''
    assert.match(id, /^a-[0-9a-z]{17}$/)
    assert.ok(created.association?.createdAt instanceof Date)
    await assert.rejects(
      eks.send(
        new CreatePodIdentityAssociationCommand({
          clusterName: 'c1',
          namespace: 'crud',
          serviceAccount: 'sa',
          roleArn: f.roleArn('app'),
        }),
      ),
      ResourceInUseException,
    )
    const listed = await eks.send(
      new ListPodIdentityAssociationsCommand({ clusterName: 'c1', namespace: 'crud' }),
    )
    assert.deepEqual(
      listed.associations?.map((a) => a.associationId),
      [id],
    )
    const updated = await eks.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'c1',
        associationId: id,
        disableSessionTags: true,
      }),
    )
    assert.equal(updated.association?.disableSessionTags, true)
    const described = await eks.send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id }),
    )
    assert.deepEqual(described.association?.tags, { team: 'a' })
    const deleted = await eks.send(
      new DeletePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id }),
    )
    assert.equal(deleted.association?.associationId, id)
    await assert.rejects(
      eks.send(new DescribePodIdentityAssociationCommand({ clusterName: 'c1', associationId: id })),
      ResourceNotFoundException,
    )
  })

  void it('refuses unsigned and wrongly signed EKS calls', async () => {
    const res = await fetch(`${f.server.baseUrl}/clusters`)
    assert.equal(res.status, 403)
    assert.ok(res.headers.get('x-amzn-errortype'))
    const bad = new EKSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials: { accessKeyId: f.admin.accessKeyId, secretAccessKey: 'wrong'.repeat(8) },
      maxAttempts: 1,
    })
    await assert.rejects(
      bad.send(new ListClustersCommand({})),
      (err: Error) => err.name === 'SignatureDoesNotMatch',
    )
    bad.destroy()
  })

  void it('denies EKS calls the caller has no IAM permission for', async () => {
    const nodeEks = new EKSClient({
      endpoint: f.server.baseUrl,
      region: REGION,
      credentials: f.node,
      maxAttempts: 1,
    })
    await assert.rejects(
      nodeEks.send(new ListClustersCommand({})),
      (err: Error) => err.name === 'AccessDeniedException',
    )
    nodeEks.destroy()
  })

  void it('vends credentials through the agent to the SDK, with the Pod Identity session name', async () => {
    await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'shop',
        serviceAccount: 'cart',
        roleArn: f.roleArn('app'),
      }),
    )
    const token = await f.podToken({
      namespace: 'shop',
      serviceAccount: 'cart',
      pod: 'cart-7d9f8-abcde',
    })
    for (const url of [agent.credentialsUrl, inProcess.credentialsUrl]) {
      const creds = await credentialsFrom(url, token)
      assert.match(creds.accessKeyId, /^ASIA/)
      assert.ok(
        (creds.expiration?.getTime() ?? 0) - Date.now() >= 55 * 60 * 1000,
        'at least ~1 h of validity',
      )
      const who = await callerIdentity(creds)
      assert.equal(who.Account, ACCOUNT)
      assert.match(
        who.Arn ?? '',
        new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/app/eks-c1-cart-7d9f8-[0-9a-f-]{36}$`),
      )
    }
    const cached = await credentialsFrom(agent.credentialsUrl, token)
    const again = await credentialsFrom(agent.credentialsUrl, token)
    assert.equal(again.sessionToken, cached.sessionToken, 'cached per token')
  })

  void it('refuses: no association, wrong audience, token of another cluster, trust without sts:TagSession', async () => {
    await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'neg',
        serviceAccount: 'notag',
        roleArn: f.roleArn('notag'),
      }),
    )
    await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'neg',
        serviceAccount: 'ok',
        roleArn: f.roleArn('app'),
      }),
    )
    const cases: [string, string, number][] = [
      ['no association', await f.podToken({ namespace: 'neg', serviceAccount: 'nobody' }), 404],
      [
        'wrong audience',
        await f.podToken({ namespace: 'neg', serviceAccount: 'ok', audience: 'sts.amazonaws.com' }),
        400,
      ],
      [
        'other cluster',
        await f.podToken({ cluster: 'c2', namespace: 'neg', serviceAccount: 'ok' }),
        400,
      ],
      ['no sts:TagSession', await f.podToken({ namespace: 'neg', serviceAccount: 'notag' }), 400],
    ]
    for (const [name, token, status] of cases) {
      const res = await fetch(agent.credentialsUrl, { headers: { authorization: token } })
      assert.equal(res.status, status, name)
      const body = (await res.json()) as { Code: string }
      assert.ok(body.Code.endsWith('Exception'), `${name}: ${body.Code}`)
      await assert.rejects(credentialsFrom(agent.credentialsUrl, token), name)
    }
    // A request without Authorization never gets credentials (the JS SDK's last fallback sends one).
    assert.equal((await fetch(agent.credentialsUrl)).status, 401)
  })

  void it('refuses EKS Auth calls from a principal without eks-auth:AssumeRoleForPodIdentity', async () => {
    const nobody = await f.addUser('nobody')
    const denied = await startAgent({
      source: remoteSource({
        serverUrl: f.server.baseUrl,
        clusterName: 'c1',
        region: REGION,
        credentials: () => nobody,
      }),
    })
    try {
      const token = await f.podToken({ namespace: 'shop', serviceAccount: 'cart' })
      const res = await fetch(denied.credentialsUrl, { headers: { authorization: token } })
      assert.equal(res.status, 400, 'EKS Auth answers AccessDeniedException with 400')
      assert.equal(((await res.json()) as { Code: string }).Code, 'AccessDeniedException')
    } finally {
      await denied.close()
    }
  })

  void it('records AssumeRoleForPodIdentity decisions, successes and denials, in the audit log', async () => {
    const rows = await f.server.ctx.db.all<{ error_code: string | null; event: string }>(
      "SELECT error_code, event FROM audit_events WHERE event_name = 'AssumeRoleForPodIdentity'",
    )
    assert.ok(
      rows.some((r) => r.error_code === null),
      'a success',
    )
    assert.ok(
      rows.some((r) => r.error_code === 'ResourceNotFoundException'),
      'a denial',
    )
    for (const r of rows)
      assert.doesNotMatch(r.event, /"sessionToken"|"token"/, 'no tokens in audit events')
  })
})
