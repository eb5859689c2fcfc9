/**
 * The gateway decides with every policy type, as IAM's evaluation logic defines
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * ABAC through Pod Identity session tags (${aws:PrincipalTag/kubernetes-namespace},
 * https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html), a bucket policy Deny, a bucket policy
 * granting another account (cross-account needs both sides), a permissions boundary, a session policy, a queue
 * policy, and revocation through aws:TokenIssueTime
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import {
  CreateQueueCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import {
  CreatePolicyCommand,
  IAMClient,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam'
import { putCluster } from '../../src/aws/eks/config.ts'
import { createAssociation } from '../../src/aws/eks/service.ts'
import { assumeRoleForPodIdentity } from '../../src/aws/eks-auth/assume.ts'
import { eksDepsFromContext } from '../../src/aws/eks/deps.ts'
import { podIdentityDepsFromContext } from '../../src/aws/eks-auth/wiring.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'
import { irsaTrust, pythonHas } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import { irsaCredentials, type Creds } from './gateway-clients.ts'

const ACCOUNT = '111122223333'
const skip = !(await pythonHas('moto.server')) ? 'moto (python3 -m moto.server) is required' : false

type SdkError = Error & { $metadata?: { httpStatusCode?: number } }

function denied(pattern?: RegExp) {
  return (err: SdkError) => {
    assert.equal(err.name, 'AccessDenied', err.message)
    assert.equal(err.$metadata?.httpStatusCode, 403)
    if (pattern !== undefined) assert.match(err.message, pattern)
    return true
  }
}

void describe('gateway decisions with every policy type', { skip }, () => {
  let f: GatewayFixture
  let admin: Creds
  let trust: object
  let token: string
  const s3 = (c: Creds) =>
    new S3Client({
      endpoint: f.gateway.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: c,
      maxAttempts: 1,
    })
  const iam = () =>
    new IAMClient({
      endpoint: f.s.server.baseUrl,
      region: 'us-east-1',
      credentials: admin,
      maxAttempts: 1,
    })
  const put = (c: Creds, Bucket: string, Key: string) =>
    s3(c).send(new PutObjectCommand({ Bucket, Key, Body: 'x' }))
  const get = async (c: Creds, Bucket: string, Key: string) =>
    (await s3(c).send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString()

  before(async () => {
    f = await startGatewayFixture()
    admin = await f.s.addUser('gw-admin', {
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    })
    const provider = await f.s.addOidcProvider(f.s.issuerUrl)
    trust = irsaTrust(provider, f.s.providerUrl, 'system:serviceaccount:default:app')
    token = await f.s.token({ namespace: 'default', serviceAccount: 'app' })
    for (const b of ['team-data', 'guarded'])
      await s3(admin).send(new CreateBucketCommand({ Bucket: b }))
    for (const k of ['alpha/r.csv', 'beta/r.csv']) await put(admin, 'team-data', k)
    await put(admin, 'guarded', 'doc.txt')
  })
  after(async () => f?.close())

  void test('ABAC: one role shared by two namespaces through Pod Identity, each limited to its prefix', async () => {
    const ctx = f.s.server.ctx
    await putCluster(ctx.db, { name: 'c1' }, new Date())
    await f.s.addRole(
      'shared',
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
          },
        ],
      },
      {
        inline: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::team-data/${aws:PrincipalTag/kubernetes-namespace}/*',
            },
          ],
        },
      },
    )
    const creds: Record<string, Creds> = {}
    for (const ns of ['alpha', 'beta']) {
      await createAssociation(eksDepsFromContext(ctx), 'c1', {
        namespace: ns,
        serviceAccount: 'worker',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/shared`,
      })
      const out = await assumeRoleForPodIdentity(podIdentityDepsFromContext(ctx), {
        clusterName: 'c1',
        token: await mintServiceAccountToken(ctx.db, {
          issuer: 'cluster:c1',
          namespace: ns,
          serviceAccount: 'worker',
          audiences: ['pods.eks.amazonaws.com'],
          expirationSeconds: 3600,
          pod: { name: `${ns}-0`, uid: `uid-${ns}` },
          now: new Date(),
        }),
        requestId: `gw-abac-${ns}`,
      })
      const { accessKeyId, secretAccessKey, sessionToken } = out.credentials
      creds[ns] = { accessKeyId, secretAccessKey, sessionToken }
    }
    assert.equal(await get(creds['alpha'] as Creds, 'team-data', 'alpha/r.csv'), 'x')
    assert.equal(await get(creds['beta'] as Creds, 'team-data', 'beta/r.csv'), 'x')
    await assert.rejects(get(creds['alpha'] as Creds, 'team-data', 'beta/r.csv'), denied())
    await assert.rejects(get(creds['beta'] as Creds, 'team-data', 'alpha/r.csv'), denied())
  })

  void test('a bucket policy Deny overrides the identity Allow; Get/DeleteBucketPolicy round-trip', async () => {
    const arn = await f.s.addRole('bp-reader', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::guarded/*' },
        ],
      },
    })
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token)
    assert.equal(await get(c, 'guarded', 'doc.txt'), 'x')
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: { AWS: arn },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::guarded/*',
        },
      ],
    })
    await s3(admin).send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: policy }))
    assert.equal(
      (await s3(admin).send(new GetBucketPolicyCommand({ Bucket: 'guarded' }))).Policy,
      policy,
    )
    await assert.rejects(
      get(c, 'guarded', 'doc.txt'),
      denied(
        /s3:GetObject on resource: "arn:aws:s3:::guarded\/doc.txt" with an explicit deny in a resource-based policy$/,
      ),
    )
    await assert.rejects(
      s3(c).send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: '{}' })),
      denied(),
    )
    await s3(admin).send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' }))
    await assert.rejects(
      s3(admin).send(new GetBucketPolicyCommand({ Bucket: 'guarded' })),
      (err: SdkError) => {
        assert.equal(err.name, 'NoSuchBucketPolicy')
        return true
      },
    )
    await new Promise((r) => setTimeout(r, 1100)) // the caller-policy cache (1 s)
    assert.equal(await get(c, 'guarded', 'doc.txt'), 'x')
  })

  void test('a permissions boundary caps a broad identity policy', async () => {
    const arn = await f.s.addRole('bounded', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      },
    })
    const created = await iam().send(
      new CreatePolicyCommand({
        PolicyName: 'read-only-boundary',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    )
    await iam().send(
      new PutRolePermissionsBoundaryCommand({
        RoleName: 'bounded',
        PermissionsBoundary: created.Policy?.Arn,
      }),
    )
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token)
    assert.equal(await get(c, 'team-data', 'alpha/r.csv'), 'x')
    await assert.rejects(
      put(c, 'team-data', 'alpha/new.csv'),
      denied(/because no permissions boundary allows the s3:PutObject action$/),
    )
  })

  void test('a session policy narrows the role (AssumeRoleWithWebIdentity Policy)', async () => {
    const arn = await f.s.addRole('broad', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      },
    })
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token, {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::team-data/alpha/*' },
        ],
      }),
    })
    assert.equal(await get(c, 'team-data', 'alpha/r.csv'), 'x')
    await assert.rejects(
      get(c, 'team-data', 'beta/r.csv'),
      denied(/because no session policy allows the s3:GetObject action$/),
    )
    await assert.rejects(put(c, 'team-data', 'alpha/new.csv'), denied())
  })

  void test('revocation through aws:TokenIssueTime cuts off sessions issued before it', async () => {
    const arn = await f.s.addRole('revocable', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
      },
    })
    const old = await irsaCredentials(f.s.server.baseUrl, arn, token)
    assert.equal(await get(old, 'team-data', 'alpha/r.csv'), 'x')
    await new Promise((r) => setTimeout(r, 1100))
    const cutoff = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
    await iam().send(
      new PutRolePolicyCommand({
        RoleName: 'revocable',
        PolicyName: 'AWSRevokeOlderSessions',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Action: '*',
              Resource: '*',
              Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } },
            },
          ],
        }),
      }),
    )
    await new Promise((r) => setTimeout(r, 1100)) // the caller-policy cache (1 s)
    await assert.rejects(
      get(old, 'team-data', 'alpha/r.csv'),
      denied(/with an explicit deny in an identity-based policy$/),
    )
    const fresh = await irsaCredentials(f.s.server.baseUrl, arn, token)
    assert.equal(await get(fresh, 'team-data', 'alpha/r.csv'), 'x')
  })

  void test('CopyObject needs s3:GetObject on the source and s3:PutObject on the destination', async () => {
    const arn = await f.s.addRole('copier', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::team-data/copies/*' },
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::team-data/alpha/*' },
        ],
      },
    })
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token)
    const copy = (source: string, key: string) =>
      s3(c).send(new CopyObjectCommand({ Bucket: 'team-data', Key: key, CopySource: source }))
    await copy('team-data/alpha/r.csv', 'copies/a.csv')
    assert.equal(await get(admin, 'team-data', 'copies/a.csv'), 'x')
    await assert.rejects(
      copy('team-data/beta/r.csv', 'copies/b.csv'),
      denied(/s3:GetObject on resource: "arn:aws:s3:::team-data\/beta\/r.csv"/),
    )
    await assert.rejects(
      copy('team-data/alpha/r.csv', 'alpha/copy.csv'),
      denied(/s3:PutObject on resource: "arn:aws:s3:::team-data\/alpha\/copy.csv"/),
    )
  })

  void test('object tags: s3:ExistingObjectTag on reads, s3:RequestObjectTag on writes', async () => {
    await s3(admin).send(
      new PutObjectCommand({
        Bucket: 'team-data',
        Key: 'tagged/public.txt',
        Body: 'p',
        Tagging: 'class=public',
      }),
    )
    await put(admin, 'team-data', 'tagged/secret.txt')
    const arn = await f.s.addRole('tag-reader', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::team-data/tagged/*',
            Condition: { StringEquals: { 's3:ExistingObjectTag/class': 'public' } },
          },
          {
            Effect: 'Allow',
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::team-data/tagged/*',
            Condition: { StringEquals: { 's3:RequestObjectTag/team': 'blue' } },
          },
        ],
      },
    })
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token)
    assert.equal(await get(c, 'team-data', 'tagged/public.txt'), 'p')
    await assert.rejects(get(c, 'team-data', 'tagged/secret.txt'), denied())
    await s3(c).send(
      new PutObjectCommand({
        Bucket: 'team-data',
        Key: 'tagged/blue.txt',
        Body: 'b',
        Tagging: 'team=blue',
      }),
    )
    await assert.rejects(
      s3(c).send(
        new PutObjectCommand({
          Bucket: 'team-data',
          Key: 'tagged/red.txt',
          Body: 'r',
          Tagging: 'team=red',
        }),
      ),
      denied(),
    )
  })

  void test("cross-account: the bucket policy and the caller's own policy must both allow", async () => {
    const other = '444455556666'
    const now = new Date()
    await f.s.repo.ensureAccount(other, now)
    const bare = f.s.providerUrl
    const providerArn = `arn:aws:iam::${other}:oidc-provider/${bare}`
    await f.s.repo.insertOidcProvider({
      accountId: other,
      arn: providerArn,
      url: bare,
      clientIds: ['sts.amazonaws.com'],
      thumbprints: [],
      createDate: now,
      tags: [],
    })
    const roleArn = `arn:aws:iam::${other}:role/partner`
    await f.s.repo.insertRole({
      accountId: other,
      roleName: 'partner',
      roleId: 'AROAPARTNER000000001',
      arn: roleArn,
      path: '/',
      assumeRolePolicyDocument: JSON.stringify(
        irsaTrust(providerArn, bare, 'system:serviceaccount:default:app'),
      ),
      maxSessionDuration: 3600,
      createDate: now,
      tags: [],
    })
    await f.s.repo.putInlinePolicy(
      other,
      'role',
      'partner',
      'read',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::guarded/*' },
        ],
      }),
      now,
    )
    const c = await irsaCredentials(f.s.server.baseUrl, roleArn, token)
    // Identity policy alone: not enough across accounts (and S3 says only "Access Denied").
    await assert.rejects(get(c, 'guarded', 'doc.txt'), denied(/^Access Denied$/))
    await s3(admin).send(
      new PutBucketPolicyCommand({
        Bucket: 'guarded',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: roleArn },
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::guarded/*',
            },
          ],
        }),
      }),
    )
    assert.equal(await get(c, 'guarded', 'doc.txt'), 'x')
    // The bucket policy alone does not grant what the caller's own account does not allow.
    await assert.rejects(put(c, 'guarded', 'partner.txt'), denied(/^Access Denied$/))
    await s3(admin).send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' }))
  })

  void test('a queue policy (SetQueueAttributes Policy) grants and denies, stored by podtrust', async () => {
    const sqs = (c: Creds) =>
      new SQSClient({
        endpoint: f.gateway.url,
        region: 'us-east-1',
        credentials: c,
        maxAttempts: 1,
      })
    const { QueueUrl } = await sqs(admin).send(new CreateQueueCommand({ QueueName: 'guarded-q' }))
    const arn = await f.s.addRole('sender', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
      },
    })
    const c = await irsaCredentials(f.s.server.baseUrl, arn, token)
    await sqs(c).send(new SendMessageCommand({ QueueUrl, MessageBody: 'ok' }))
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:SendMessage',
          Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:guarded-q`,
          Condition: { ArnEquals: { 'aws:PrincipalArn': arn } },
        },
      ],
    })
    await sqs(admin).send(
      new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: policy } }),
    )
    const attrs = await sqs(admin).send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }),
    )
    assert.equal(attrs.Attributes?.['Policy'], policy)
    await assert.rejects(
      sqs(c).send(new SendMessageCommand({ QueueUrl, MessageBody: 'no' })),
      denied(/explicit deny in a resource-based policy$/),
    )
  })
})
