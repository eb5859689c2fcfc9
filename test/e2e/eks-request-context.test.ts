/**
 * The EKS API authorizes with the complete request context (issue: Deny statements on global keys were
 * ignored there). Real AWS SDK v3 EKS client against the real server; each case failed before the fix:
 * - aws:SourceIp, aws:RequestedRegion (the scope Region), aws:RequestTag/* and aws:TagKeys reach the
 *   policy engine, so Deny statements on them match;
 * - CreatePodIdentityAssociation passes the role to pods.eks.amazonaws.com, so an iam:PassRole Allow
 *   conditioned on iam:PassedToService works (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html).
 * Keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreatePodIdentityAssociationCommand,
  DescribeClusterCommand,
  EKSClient,
} from '@aws-sdk/client-eks'
import { signRequest } from '../../src/aws/sigv4/sign.ts'
import { type Fixture, podTrust, startFixture } from './pod-identity-fixture.ts'

const policy = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })
const ALLOW_EKS = { Effect: 'Allow', Action: 'eks:*', Resource: '*' }
const PASS_TO_PODS = {
  Effect: 'Allow',
  Action: 'iam:PassRole',
  Resource: '*',
  Condition: { StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
}

void describe('EKS API: one complete request context', () => {
  let f: Fixture
  const client = (creds: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1') =>
    new EKSClient({ endpoint: f.server.baseUrl, region, credentials: creds, maxAttempts: 1 })
  const denied = async (p: Promise<unknown>) =>
    assert.rejects(p, (err: Error) => err.name === 'AccessDeniedException')

  before(async () => {
    f = await startFixture()
    await f.addRole('app', podTrust(['sts:AssumeRole', 'sts:TagSession']))
  })
  after(async () => f?.close())

  void it('a Deny on aws:SourceIp matches', async () => {
    const u = await f.addUser(
      'ip-denied',
      undefined,
      policy(ALLOW_EKS, {
        Effect: 'Deny',
        Action: 'eks:*',
        Resource: '*',
        Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
      }),
    )
    await denied(client(u).send(new DescribeClusterCommand({ name: 'c1' })))
  })

  void it('a Deny on aws:RequestedRegion matches the signed Region', async () => {
    const u = await f.addUser(
      'region-limited',
      undefined,
      policy(ALLOW_EKS, {
        Effect: 'Deny',
        Action: 'eks:*',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': 'us-east-1' } },
      }),
    )
    const ok = await client(u).send(new DescribeClusterCommand({ name: 'c1' }))
    assert.equal(ok.cluster?.name, 'c1')
    await denied(client(u, 'eu-west-1').send(new DescribeClusterCommand({ name: 'c1' })))
  })

  void it('iam:PassRole conditioned on iam:PassedToService = pods.eks.amazonaws.com allows the association', async () => {
    const u = await f.addUser('passer', undefined, policy(ALLOW_EKS, PASS_TO_PODS))
    const out = await client(u).send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'c1',
        namespace: 'ns-pass',
        serviceAccount: 'sa',
        roleArn: f.roleArn('app'),
      }),
    )
    assert.equal(out.association?.roleArn, f.roleArn('app'))
  })

  void it('Deny statements on aws:RequestTag/* and aws:TagKeys match', async () => {
    const u = await f.addUser(
      'tagger',
      undefined,
      policy(
        ALLOW_EKS,
        PASS_TO_PODS,
        {
          Effect: 'Deny',
          Action: 'eks:CreatePodIdentityAssociation',
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestTag/team': 'red' } },
        },
        {
          Effect: 'Deny',
          Action: 'eks:CreatePodIdentityAssociation',
          Resource: '*',
          Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['forbidden'] } },
        },
      ),
    )
    const create = (namespace: string, tags: Record<string, string>) =>
      client(u).send(
        new CreatePodIdentityAssociationCommand({
          clusterName: 'c1',
          namespace,
          serviceAccount: 'sa',
          roleArn: f.roleArn('app'),
          tags,
        }),
      )
    await denied(create('ns-red', { team: 'red' }))
    await denied(create('ns-forbidden', { forbidden: 'x' }))
    const ok = await create('ns-blue', { team: 'blue' })
    assert.deepEqual(ok.association?.tags, { team: 'blue' })
  })

  void it('EKS Auth: Deny statements on aws:SourceIp and aws:RequestedRegion match the node caller', async () => {
    const ALLOW_AUTH = {
      Effect: 'Allow',
      Action: 'eks-auth:AssumeRoleForPodIdentity',
      Resource: '*',
    }
    const call = async (
      creds: { accessKeyId: string; secretAccessKey: string },
      region: string,
    ) => {
      const token = await f.podToken({ namespace: 'ns-auth', serviceAccount: 'sa' })
      const body = JSON.stringify({ token })
      const url = `${f.server.baseUrl}/clusters/c1/assume-role-for-pod-identity`
      const headers = signRequest({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        body,
        service: 'eks-auth',
        region,
        credentials: creds,
        now: new Date(),
      })
      const res = await fetch(url, { method: 'POST', headers, body })
      return res.headers.get('x-amzn-errortype') ?? String(res.status)
    }
    const plain = await f.addUser('node-plain', undefined, policy(ALLOW_AUTH))
    // Allowed to call: the answer is about the missing association, not access.
    assert.notEqual(await call(plain, 'us-east-1'), 'AccessDeniedException')
    const byIp = await f.addUser(
      'node-ip',
      undefined,
      policy(ALLOW_AUTH, {
        Effect: 'Deny',
        Action: 'eks-auth:*',
        Resource: '*',
        Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
      }),
    )
    assert.equal(await call(byIp, 'us-east-1'), 'AccessDeniedException')
    const byRegion = await f.addUser(
      'node-region',
      undefined,
      policy(ALLOW_AUTH, {
        Effect: 'Deny',
        Action: 'eks-auth:*',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': 'us-east-1' } },
      }),
    )
    assert.notEqual(await call(byRegion, 'us-east-1'), 'AccessDeniedException')
    assert.equal(await call(byRegion, 'eu-west-1'), 'AccessDeniedException')
  })
})
