import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { Hono } from 'hono'
import type { AuditEvent } from '../../../src/audit/types.ts'
import { auditedAuthenticate, eksAuditMiddleware } from '../../../src/aws/eks/audit.ts'
import { EksError } from '../../../src/aws/eks/errors.ts'
import { mountEksRoutes } from '../../../src/aws/eks/routes.ts'
import type { Caller } from '../../../src/identity/types.ts'
import { type TestStore, ACCOUNT, addCluster, openTestStore, roleArn } from './helpers.ts'

const CALLER: Caller = {
  arn: `arn:aws:iam::${ACCOUNT}:user/ops`,
  accountId: ACCOUNT,
  userId: 'AIDAEXAMPLEEXAMPLE001',
  accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
  type: 'IAMUser',
  userName: 'ops',
}
const SECRET_HEADER = 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE01/x, Signature=deadbeefcafe'

void describe('EKS audit events (routes + middleware)', () => {
  let store: TestStore
  let app: Hono
  let events: AuditEvent[]
  let failSink: boolean
  beforeEach(async () => {
    store = await openTestStore()
    await addCluster(store, 'c1')
    events = []
    failSink = false
    app = new Hono()
    app.use(
      '/clusters/*',
      eksAuditMiddleware({
        now: () => new Date('2026-01-01T00:00:00.750Z'),
        randomBytes: (n) => randomBytes(n),
        region: 'us-west-2',
        record: async (event) => {
          if (failSink) throw new Error('disk full')
          events.push(event)
        },
      }),
    )
    // A route of another module under /clusters (EKS Auth records its own events).
    app.post('/clusters/:name/assume-role-for-pod-identity', (c) => c.json({ other: true }))
    mountEksRoutes(app, {
      eks: () => store.deps,
      randomBytes: (n) => randomBytes(n),
      authenticate: auditedAuthenticate(async (req) => {
        if (req.headers['authorization'] === undefined) {
          throw new EksError('AccessDeniedException', 'missing signature')
        }
        return { caller: CALLER, region: 'us-east-1' }
      }),
    })
  })
  afterEach(async () => store.close())

  const call = (method: string, path: string, body?: unknown, signed = true) =>
    app.request(path, {
      method,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'aws-sdk-js/3 test',
        ...(signed
          ? { authorization: SECRET_HEADER, 'x-amz-security-token': 'FwoGZXIvYXdzSECRET' }
          : {}),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })

  void it('records every operation with CloudTrail fields, members and outcome', async () => {
    const created = await call('POST', '/clusters/c1/pod-identity-associations', {
      namespace: 'ns',
      serviceAccount: 'sa',
      roleArn: roleArn('app'),
      tags: { team: 'a' },
      clientRequestToken: 'ct-1',
      unknownMember: 'dropped',
    })
    assert.equal(created.status, 200)
    const id = ((await created.json()) as { association: { associationId: string } }).association
      .associationId
    const base = `/clusters/c1/pod-identity-associations/${id}`
    assert.equal((await call('GET', base)).status, 200)
    assert.equal(
      (await call('GET', '/clusters/c1/pod-identity-associations?namespace=ns&maxResults=5'))
        .status,
      200,
    )
    assert.equal((await call('POST', base, { roleArn: roleArn('other') })).status, 200)
    assert.equal((await call('DELETE', base)).status, 200)
    assert.equal((await call('GET', '/clusters/c1')).status, 200)
    assert.equal((await call('GET', '/clusters?maxResults=10')).status, 200)
    assert.equal((await call('GET', base)).status, 404)

    assert.deepEqual(
      events.map((e) => [e.eventName, e.readOnly, e.errorCode ?? null]),
      [
        ['CreatePodIdentityAssociation', false, null],
        ['DescribePodIdentityAssociation', true, null],
        ['ListPodIdentityAssociations', true, null],
        ['UpdatePodIdentityAssociation', false, null],
        ['DeletePodIdentityAssociation', false, null],
        ['DescribeCluster', true, null],
        ['ListClusters', true, null],
        ['DescribePodIdentityAssociation', true, 'ResourceNotFoundException'],
      ],
    )
    const [create, describe_, list, update, del, cluster, clusters, missing] = events
    assert.equal(create?.eventSource, 'eks.amazonaws.com')
    assert.equal(create?.eventVersion, '1.08')
    assert.equal(create?.eventType, 'AwsApiCall')
    assert.equal(create?.eventTime, '2026-01-01T00:00:00Z')
    assert.equal(create?.awsRegion, 'us-west-2')
    assert.equal(create?.sourceIPAddress, '127.0.0.1')
    assert.equal(create?.userAgent, 'aws-sdk-js/3 test')
    assert.equal(create?.recipientAccountId, ACCOUNT)
    assert.deepEqual(create?.userIdentity, {
      type: 'IAMUser',
      principalId: CALLER.userId,
      arn: CALLER.arn,
      accountId: ACCOUNT,
      accessKeyId: CALLER.accessKeyId,
      userName: 'ops',
    })
    assert.deepEqual(create?.requestParameters, {
      clusterName: 'c1',
      namespace: 'ns',
      serviceAccount: 'sa',
      roleArn: roleArn('app'),
      tags: { team: 'a' },
      clientRequestToken: 'ct-1',
    })
    const association = (create?.responseElements as { association: Record<string, unknown> })
      .association
    assert.equal(association['associationId'], id)
    assert.equal(create?.requestID, created.headers.get('x-amzn-RequestId'))
    assert.match(create?.eventID ?? '', /^[0-9a-f-]{36}$/)
    assert.deepEqual(describe_?.requestParameters, { clusterName: 'c1', associationId: id })
    assert.equal(describe_?.responseElements, null, 'read-only calls record no response')
    assert.deepEqual(list?.requestParameters, {
      clusterName: 'c1',
      namespace: 'ns',
      maxResults: '5',
    })
    assert.deepEqual(update?.requestParameters, {
      clusterName: 'c1',
      associationId: id,
      roleArn: roleArn('other'),
    })
    assert.equal(
      (update?.responseElements as { association: { roleArn: string } }).association.roleArn,
      roleArn('other'),
    )
    assert.deepEqual(del?.requestParameters, { clusterName: 'c1', associationId: id })
    assert.deepEqual(cluster?.requestParameters, { name: 'c1' })
    assert.deepEqual(clusters?.requestParameters, { maxResults: '10' })
    assert.match(missing?.errorMessage ?? '', /\S/)
    assert.equal(missing?.responseElements, null)
    // Headers are never recorded: no signature, no session token.
    const text = JSON.stringify(events)
    assert.ok(!text.includes('deadbeefcafe'))
    assert.ok(!text.includes('FwoGZXIvYXdzSECRET'))
  })

  void it('records failures before authentication and bad bodies, bounded; skips other routes', async () => {
    const unsigned = await call('GET', '/clusters/c1', undefined, false)
    assert.equal(unsigned.status, 403)
    const huge = 'x'.repeat(5000)
    const bad = await call('POST', '/clusters/c1/pod-identity-associations', {
      namespace: huge,
      serviceAccount: 'sa',
      roleArn: roleArn('app'),
    })
    assert.equal(bad.status, 400)
    const notJson = await call('POST', '/clusters/c1/pod-identity-associations', '{nope')
    assert.equal(notJson.status, 400)
    assert.equal((await call('POST', '/clusters/c1/assume-role-for-pod-identity', {})).status, 200)
    assert.equal((await call('GET', '/clusters/c1/unknown')).status, 404)
    assert.deepEqual(
      events.map((e) => [e.eventName, e.errorCode]),
      [
        ['DescribeCluster', 'AccessDeniedException'],
        ['CreatePodIdentityAssociation', 'InvalidParameterException'],
        ['CreatePodIdentityAssociation', 'InvalidRequestException'],
      ],
    )
    assert.deepEqual(events[0]?.userIdentity, { type: 'Unknown' })
    assert.equal(events[0]?.errorMessage, 'missing signature')
    assert.equal(events[0]?.recipientAccountId, undefined)
    const ns = (events[1]?.requestParameters as { namespace: string }).namespace
    assert.equal(ns.length, 2049, 'long strings are cut')
    assert.deepEqual(events[2]?.requestParameters, { clusterName: 'c1' })
  })

  void it('fails closed: no event, no answer (ServerException, same request id)', async () => {
    failSink = true
    const res = await call('POST', '/clusters/c1/pod-identity-associations', {
      namespace: 'ns',
      serviceAccount: 'sa',
      roleArn: roleArn('app'),
    })
    assert.equal(res.status, 500)
    assert.equal(res.headers.get('x-amzn-ErrorType'), 'ServerException')
    assert.match(res.headers.get('x-amzn-RequestId') ?? '', /^[0-9a-f-]{36}$/)
    assert.deepEqual(await res.json(), { message: 'An internal error occurred' })
    const denied = await call('GET', '/clusters/c1', undefined, false)
    assert.equal(denied.status, 500)
    assert.equal(denied.headers.get('x-amzn-ErrorType'), 'ServerException')
  })
})
