/**
 * ABAC with Pod Identity session tags: one role shared by two namespaces, its policy scoped with
 * `${aws:PrincipalTag/kubernetes-namespace}`. Credentials come from the real EKS Auth path; a request signed
 * with them is authenticated by the server's SigV4 verifier (which opens the sealed session, tags included)
 * and authorized by the policy engine with the request context every path builds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { signRequest } from '../../src/aws/sigv4/sign.ts'
import { authorizeCaller } from '../../src/aws/eks/authorize-caller.ts'
import { createAssociation } from '../../src/aws/eks/service.ts'
import { assumeRoleForPodIdentity } from '../../src/aws/eks-auth/assume.ts'
import { podIdentityDepsFromContext } from '../../src/aws/eks-auth/wiring.ts'
import { eksDepsFromContext } from '../../src/aws/eks/deps.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { authenticateRequest } from '../../src/aws/sigv4/authenticate.ts'
import type { Caller } from '../../src/identity/types.ts'
import { type Fixture, REGION, podTrust, startFixture } from './pod-identity-fixture.ts'

const SHARED_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: 'arn:aws:s3:::team-data/${aws:PrincipalTag/kubernetes-namespace}/*',
    },
    {
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/kubernetes-service-account}' },
      },
    },
  ],
})

void describe('ABAC with Pod Identity session tags', () => {
  let f: Fixture
  const callers: Record<string, Caller> = {}

  before(async () => {
    f = await startFixture()
    await f.addRole('shared', podTrust(['sts:AssumeRole', 'sts:TagSession']), SHARED_POLICY)
    const eks = eksDepsFromContext(f.server.ctx)
    const deps = podIdentityDepsFromContext(f.server.ctx)
    for (const ns of ['alpha', 'beta']) {
      await createAssociation(eks, 'c1', {
        namespace: ns,
        serviceAccount: 'worker',
        roleArn: f.roleArn('shared'),
      })
      const out = await assumeRoleForPodIdentity(deps, {
        clusterName: 'c1',
        token: await f.podToken({ namespace: ns, serviceAccount: 'worker', pod: `${ns}-worker-0` }),
        requestId: `abac-${ns}`,
      })
      // Authenticate a request signed with the vended credentials: the caller carries the sealed session tags.
      const url = `${f.server.baseUrl}/`
      const headers = signRequest({
        method: 'POST',
        url,
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
        service: 'sts',
        region: REGION,
        credentials: {
          accessKeyId: out.credentials.accessKeyId,
          secretAccessKey: out.credentials.secretAccessKey,
          sessionToken: out.credentials.sessionToken,
        },
        now: new Date(),
      })
      callers[ns] = await authenticateRequest(f.server.ctx, {
        method: 'POST',
        url: '/',
        headers,
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
      })
    }
  })
  after(async () => f?.close())

  void it('carries the six Pod Identity tags on the authenticated session', () => {
    const tags = Object.fromEntries(
      (callers['alpha']?.session?.tags ?? []).map((t) => [t.key, t.value]),
    )
    assert.equal(tags['kubernetes-namespace'], 'alpha')
    assert.equal(tags['kubernetes-service-account'], 'worker')
    assert.equal(tags['kubernetes-pod-name'], 'alpha-worker-0')
    assert.equal(tags['eks-cluster-name'], 'c1')
    assert.match(tags['eks-cluster-arn'] ?? '', /:cluster\/c1$/)
    assert.ok(tags['kubernetes-pod-uid'])
    assert.equal(callers['alpha']?.session?.transitiveTagKeys.length, 6)
  })

  void it('limits each namespace to its own prefix with one shared role', async () => {
    const ctx = f.server.ctx
    const decide = (
      ns: string,
      action: string,
      resource: string,
      extra: Record<string, string> = {},
    ) => authorizeCaller(ctx, callers[ns] as Caller, action, resource, { extra })
    assert.equal(
      await decide('alpha', 's3:GetObject', 'arn:aws:s3:::team-data/alpha/report.csv'),
      true,
    )
    assert.equal(
      await decide('alpha', 's3:GetObject', 'arn:aws:s3:::team-data/beta/report.csv'),
      false,
    )
    assert.equal(await decide('beta', 's3:PutObject', 'arn:aws:s3:::team-data/beta/x'), true)
    assert.equal(await decide('beta', 's3:PutObject', 'arn:aws:s3:::team-data/alpha/x'), false)
    assert.equal(await decide('beta', 's3:DeleteObject', 'arn:aws:s3:::team-data/beta/x'), false)
    const queue = 'arn:aws:sqs:us-east-1:111122223333:jobs'
    assert.equal(
      await decide('alpha', 'sqs:SendMessage', queue, { 'aws:ResourceTag/owner': 'worker' }),
      true,
    )
    assert.equal(
      await decide('alpha', 'sqs:SendMessage', queue, { 'aws:ResourceTag/owner': 'someone-else' }),
      false,
    )
  })
})

void describe('Pod Identity target roles and association policies (real engine)', () => {
  let f: Fixture
  const OTHER = '444455556666'

  before(async () => {
    f = await startFixture()
  })
  after(async () => f?.close())

  async function credentialsFor(ns: string, sa: string) {
    const out = await assumeRoleForPodIdentity(podIdentityDepsFromContext(f.server.ctx), {
      clusterName: 'c1',
      token: await f.podToken({ namespace: ns, serviceAccount: sa }),
      requestId: `req-${ns}-${sa}`,
    })
    const body = 'Action=GetCallerIdentity&Version=2011-06-15'
    const headers = signRequest({
      method: 'POST',
      url: `${f.server.baseUrl}/`,
      body,
      service: 'sts',
      region: REGION,
      credentials: {
        accessKeyId: out.credentials.accessKeyId,
        secretAccessKey: out.credentials.secretAccessKey,
        sessionToken: out.credentials.sessionToken,
      },
      now: new Date(),
    })
    const caller = await authenticateRequest(f.server.ctx, {
      method: 'POST',
      url: '/',
      headers,
      body,
    })
    return { out, caller }
  }

  void it('chains to a cross-account target role with the association external id and the tags', async () => {
    const hop1 = f.roleArn('hop1')
    await f.addRole(
      'hop1',
      podTrust(['sts:AssumeRole', 'sts:TagSession']),
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Resource: `arn:aws:iam::${OTHER}:role/target`,
          },
        ],
      }),
    )
    const trust = (externalId: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: hop1 },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Condition: { StringEquals: { 'sts:ExternalId': externalId } },
          },
        ],
      })
    // The external id exists once the association does: create the target first, then set its trust.
    await f.addRole('target', trust('placeholder'), undefined, OTHER)
    const { association } = await createAssociation(eksDepsFromContext(f.server.ctx), 'c1', {
      namespace: 'x',
      serviceAccount: 'chain',
      roleArn: hop1,
      targetRoleArn: `arn:aws:iam::${OTHER}:role/target`,
    })
    const iam = createIamRepo(f.server.ctx.db)
    const setTrust = async (doc: string) => {
      const role = await iam.getRole(OTHER, 'target')
      assert.ok(role)
      await iam.updateRole({ ...role, assumeRolePolicyDocument: doc })
    }
    // Before the trust names the association's external id, the chain is refused.
    await assert.rejects(
      credentialsFor('x', 'chain'),
      (err: Error) =>
        err.name === 'EksAuthError' && /AccessDenied/.test((err as { code?: string }).code ?? ''),
    )
    await setTrust(trust(association.externalId ?? ''))
    const { out, caller } = await credentialsFor('x', 'chain')
    assert.match(
      out.assumedRoleUser.arn,
      new RegExp(`^arn:aws:sts::${OTHER}:assumed-role/target/eks-c1-`),
    )
    assert.equal(caller.accountId, OTHER)
    assert.equal(caller.session?.chained, true)
    const tags = Object.fromEntries((caller.session?.tags ?? []).map((t) => [t.key, t.value]))
    assert.equal(tags['kubernetes-service-account'], 'chain')
    assert.ok(
      out.credentials.expiration * 1000 - Date.now() <= 3600 * 1000 + 5000,
      'chained: at most 1 h',
    )
  })

  void it('applies the association policy as a session policy', async () => {
    await f.addRole(
      'broad',
      podTrust(['sts:AssumeRole']),
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    )
    await createAssociation(eksDepsFromContext(f.server.ctx), 'c1', {
      namespace: 'x',
      serviceAccount: 'narrow',
      roleArn: f.roleArn('broad'),
      disableSessionTags: true,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::public/*' }],
      }),
    })
    const { caller } = await credentialsFor('x', 'narrow')
    assert.deepEqual(caller.session?.tags, [])
    const ctx = f.server.ctx
    assert.equal(await authorizeCaller(ctx, caller, 's3:GetObject', 'arn:aws:s3:::public/a'), true)
    assert.equal(
      await authorizeCaller(ctx, caller, 's3:GetObject', 'arn:aws:s3:::private/a'),
      false,
    )
    assert.equal(await authorizeCaller(ctx, caller, 's3:PutObject', 'arn:aws:s3:::public/a'), false)
  })
})
