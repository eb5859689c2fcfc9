import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildRequestContext } from '../../../src/identity/context.ts'
import {
  createRoleSession,
  createUserSession,
  mergeTags,
  openSessionToken,
  packedPolicyPercent,
} from '../../../src/identity/sessions.ts'
import { splitTarget, headerPairs } from '../../../src/aws/sigv4/request.ts'
import { openDb } from '../../../src/server/store.ts'
import { createIdentityPorts } from '../../../src/server/ports.ts'
import type { AppContext } from '../../../src/app/context.ts'
import type { Caller } from '../../../src/identity/types.ts'

const NOW = new Date('2026-11-23T01:02:03.456Z')

void test('context: the aws:* keys AWS builds for a role session; absent facts stay absent', () => {
  const caller: Caller = {
    arn: 'arn:aws:sts::111122223333:assumed-role/app/s1',
    accountId: '111122223333',
    userId: 'AROAEXAMPLE:s1',
    accessKeyId: 'ASIAEXAMPLE',
    type: 'AssumedRole',
    session: {
      roleArn: 'arn:aws:iam::111122223333:role/app',
      roleName: 'app',
      roleId: 'AROAEXAMPLE',
      rolePath: '/',
      sessionName: 's1',
      issuedAt: new Date('2026-11-23T00:00:00Z'),
      expiration: NOW,
      tags: [{ key: 'team', value: 'a' }],
      transitiveTagKeys: [],
      sessionPolicies: [],
      sessionPolicyArns: [],
      chained: false,
      sourceIdentity: 'alice',
    },
  }
  const ctx = buildRequestContext({
    now: NOW,
    caller,
    sourceIp: '10.0.0.1',
    secureTransport: true,
    region: 'us-west-2',
    requestTags: [{ key: 'env', value: 'dev' }],
  })
  assert.equal(ctx['aws:CurrentTime'], '2026-11-23T01:02:03Z')
  assert.equal(ctx['aws:EpochTime'], String(Math.floor(NOW.getTime() / 1000)))
  assert.equal(ctx['aws:PrincipalArn'], 'arn:aws:iam::111122223333:role/app')
  assert.equal(ctx['aws:PrincipalAccount'], '111122223333')
  assert.equal(ctx['aws:userid'], 'AROAEXAMPLE:s1')
  assert.equal(ctx['aws:TokenIssueTime'], '2026-11-23T00:00:00Z')
  assert.equal(ctx['aws:SourceIdentity'], 'alice')
  assert.equal(ctx['aws:PrincipalTag/team'], 'a')
  assert.equal(ctx['aws:SecureTransport'], 'true')
  assert.equal(ctx['aws:RequestedRegion'], 'us-west-2')
  assert.equal(ctx['aws:SourceIp'], '10.0.0.1')
  assert.equal(ctx['aws:RequestTag/env'], 'dev')
  assert.deepEqual(ctx['aws:TagKeys'], ['env'])
  assert.equal(ctx['aws:username'], undefined)
  assert.equal(ctx['aws:PrincipalIsAWSService'], 'false')
  assert.equal(ctx['aws:ViaAWSService'], 'false')
  assert.equal(ctx['aws:UserAgent'], undefined, 'no User-Agent given: the key stays absent')
  assert.equal(ctx['iam:PassedToService'], undefined)

  // The facts every API reads off the request, and what an operation adds.
  const full = buildRequestContext({
    now: NOW,
    caller,
    sourceIp: '10.0.0.1',
    secureTransport: false,
    region: 'eu-west-1',
    userAgent: 'aws-sdk-js/3',
    requestTags: [{ key: 'team', value: 'red' }],
    tagKeys: ['old', 'team'],
    passedToService: 'pods.eks.amazonaws.com',
    extra: { 'eks:clusterName': 'c1' },
  })
  assert.equal(full['aws:UserAgent'], 'aws-sdk-js/3')
  assert.equal(full['aws:SecureTransport'], 'false')
  assert.equal(full['aws:RequestedRegion'], 'eu-west-1')
  assert.equal(full['aws:RequestTag/team'], 'red')
  assert.deepEqual(full['aws:TagKeys'], ['team', 'old'])
  assert.equal(full['iam:PassedToService'], 'pods.eks.amazonaws.com')
  assert.equal(full['eks:clusterName'], 'c1')

  // GetSessionToken credentials: issue time and MFA absent-as-false; long-term keys: neither.
  const userCaller: Caller = {
    arn: 'arn:aws:iam::111122223333:user/dev',
    accountId: '111122223333',
    userId: 'AIDAEXAMPLE',
    accessKeyId: 'ASIAEXAMPLE2',
    type: 'IAMUser',
    userName: 'dev',
    federatedFromUser: true,
    tokenIssuedAt: new Date('2026-11-23T00:30:00Z'),
  }
  const temp = buildRequestContext({ now: NOW, caller: userCaller })
  assert.equal(temp['aws:TokenIssueTime'], '2026-11-23T00:30:00Z')
  assert.equal(temp['aws:MultiFactorAuthPresent'], 'false')
  assert.equal(temp['aws:username'], 'dev')
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the rest drops the session-only fields
  const { federatedFromUser: _f, tokenIssuedAt: _t, ...longTerm } = userCaller
  const keys = buildRequestContext({
    now: NOW,
    caller: { ...longTerm, accessKeyId: 'AKIAEXAMPLE' },
  })
  assert.equal(keys['aws:TokenIssueTime'], undefined)
  assert.equal(keys['aws:MultiFactorAuthPresent'], undefined)

  const web = buildRequestContext({
    now: NOW,
    webIdentity: {
      providerUrl: 'oidc.example/id/X',
      providerArn: 'arn:aws:iam::1:oidc-provider/oidc.example/id/X',
      sub: 's',
      aud: 'sts.amazonaws.com',
      amr: ['authenticated'],
    },
    sts: { roleSessionName: 'r' },
  })
  assert.equal(web['oidc.example/id/X:sub'], 's')
  assert.equal(web['oidc.example/id/X:aud'], 'sts.amazonaws.com')
  assert.deepEqual(web['oidc.example/id/X:amr'], ['authenticated'])
  assert.equal(web['sts:RoleSessionName'], 'r')
  assert.equal(web['aws:PrincipalArn'], undefined)
  assert.equal(web['aws:TokenIssueTime'], undefined)
  assert.equal(
    web['aws:PrincipalIsAWSService'],
    undefined,
    'an unsigned request has no principal keys',
  )

  const user = buildRequestContext({
    now: NOW,
    caller: {
      arn: 'arn:aws:iam::1:user/bob',
      accountId: '1',
      userId: 'AIDA',
      accessKeyId: 'AKIA',
      type: 'IAMUser',
      userName: 'bob',
    },
  })
  assert.equal(user['aws:username'], 'bob')
  assert.equal(user['aws:PrincipalArn'], 'arn:aws:iam::1:user/bob')
})

void test('mergeTags / packedPolicyPercent / splitTarget / headerPairs', () => {
  assert.deepEqual(mergeTags([{ key: 'Team', value: 'a' }], [{ key: 'team', value: 'b' }]), [
    { key: 'team', value: 'b' },
  ])
  assert.equal(packedPolicyPercent({}), 0)
  const small = packedPolicyPercent({ sessionPolicy: '{"Version":"2012-10-17","Statement":[]}' })
  assert.ok(small > 0 && small < 20)
  const big = packedPolicyPercent({
    tags: Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}${randomBytes(40).toString('base64')}`,
      value: randomBytes(150).toString('base64'),
    })),
  })
  assert.ok(big > 100)
  assert.deepEqual(splitTarget('http://h:1/a/./b?x=1#f'), { path: '/a/./b', query: 'x=1' })
  assert.deepEqual(splitTarget('/sts/v1'), { path: '/sts/v1', query: '' })
  assert.deepEqual(splitTarget(''), { path: '/', query: '' })
  assert.deepEqual(headerPairs({ a: ['1', '2'], b: '3', c: undefined }), [
    ['a', '1'],
    ['a', '2'],
    ['b', '3'],
  ])
})

void test('sessions: role and user credentials seal everything needed; tokens open to the same identity', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-sessions-'))
  const db = await openDb({ dataDir: dir })
  const ctx = {
    db,
    ...createIdentityPorts(db, {
      now: () => NOW,
      randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
    }),
  } as unknown as AppContext
  try {
    const role = {
      accountId: '111122223333',
      roleName: 'app',
      roleId: 'AROAQAAAAAAAAAAAAAAAA',
      arn: 'arn:aws:iam::111122223333:role/team/app',
      path: '/team/',
      assumeRolePolicyDocument: '{}',
      maxSessionDuration: 3600,
      createDate: NOW,
      tags: [],
    }
    const out = await createRoleSession(ctx, {
      role,
      sessionName: 's1',
      durationSeconds: 900,
      tags: [{ key: 'team', value: 'a' }],
      transitiveTagKeys: ['team'],
      inheritedTransitiveTags: [{ key: 'org', value: 'x' }],
      sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
      webIdentity: { provider: 'arn:p', subject: 'sub', audience: 'aud' },
      sourceIdentity: 'alice',
    })
    assert.equal(
      out.assumedRoleUser.arn,
      'arn:aws:sts::111122223333:assumed-role/app/s1',
      'role path dropped',
    )
    assert.equal(out.assumedRoleUser.assumedRoleId, 'AROAQAAAAAAAAAAAAAAAA:s1')
    assert.equal(out.credentials.expiration.toISOString(), '2026-11-23T01:17:03.000Z')
    assert.ok(out.credentials.sessionToken.length < 4096)
    assert.ok(!out.credentials.sessionToken.includes(out.credentials.secretAccessKey))
    const opened = await openSessionToken(ctx, out.credentials.sessionToken)
    assert.equal(opened.accessKeyId, out.credentials.accessKeyId)
    assert.equal(opened.secretAccessKey, out.credentials.secretAccessKey)
    assert.equal(opened.caller.arn, out.assumedRoleUser.arn)
    assert.equal(opened.caller.userId, 'AROAQAAAAAAAAAAAAAAAA:s1')
    assert.deepEqual(opened.caller.session?.tags, [
      { key: 'org', value: 'x' },
      { key: 'team', value: 'a' },
    ])
    assert.deepEqual(opened.caller.session?.transitiveTagKeys, ['org', 'team'])
    assert.equal(opened.caller.session?.sourceIdentity, 'alice')
    assert.equal(opened.caller.session?.issuedAt.toISOString(), '2026-11-23T01:02:03.000Z')
    assert.deepEqual(opened.caller.session?.webIdentity, {
      provider: 'arn:p',
      subject: 'sub',
      audience: 'aud',
    })
    const user = await createUserSession(ctx, {
      accountId: '111122223333',
      userArn: 'arn:aws:iam::111122223333:user/bob',
      userId: 'AIDAX',
      userName: 'bob',
      durationSeconds: 3600,
    })
    const u = await openSessionToken(ctx, user.credentials.sessionToken)
    assert.equal(u.caller.type, 'IAMUser')
    assert.equal(u.caller.federatedFromUser, true)
    await assert.rejects(openSessionToken(ctx, 'PT1000000000000AAAA'))
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
