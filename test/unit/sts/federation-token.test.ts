/**
 * STS GetFederationToken through the STS handlers over a real store: parameters, who may federate, the caller's
 * own authorization, the response shape, and what the federated session is afterwards (caller identity, request
 * context, permissions, IAM and STS refusals). Each case cites the AWS document that decides it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { AwsError } from '../../../src/aws/errors.ts'
import { iamService } from '../../../src/aws/iam/service.ts'
import { userIdentityOf } from '../../../src/aws/query/dispatch.ts'
import type { QueryRequest, QueryResult } from '../../../src/aws/query/registry.ts'
import { stsService } from '../../../src/aws/sts/service.ts'
import { authorizeCaller } from '../../../src/identity/authorize.ts'
import { openSessionToken } from '../../../src/identity/sessions.ts'
import type { Caller } from '../../../src/identity/types.ts'
import { compilePolicy } from '../../../src/policy/index.ts'
import { ACCT, openHarness, queryRequest, type Harness } from '../iam/harness.ts'

const USER_ARN = `arn:aws:iam::${ACCT}:user/broker`
const FED_ARN = `arn:aws:sts::${ACCT}:federated-user/alice`
const BUCKET_OBJECT = 'arn:aws:s3:::reports/q1.csv'
const S3_READ = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
})

let h: Harness
let broker: Caller

const STS = { name: 'sts', version: '2011-06-15' }
const request = (action: string, params: Record<string, string>, caller: Caller): QueryRequest =>
  queryRequest(action, params, caller, STS)

async function sts(
  action: string,
  params: Record<string, string>,
  caller: Caller,
): Promise<QueryResult> {
  const handler = stsService.actions[action]
  assert.ok(handler !== undefined, action)
  return handler(request(action, params, caller), h.ctx)
}

async function stsError(
  action: string,
  params: Record<string, string>,
  caller: Caller,
): Promise<AwsError> {
  try {
    await sts(action, params, caller)
  } catch (err) {
    if (err instanceof AwsError) return err
    throw err
  }
  assert.fail(`${action} succeeded`)
}

interface Issued {
  caller: Caller
  result: Record<string, unknown>
}

/** GetFederationToken as the broker, then the federated caller the session token opens to. */
async function federate(params: Record<string, string>): Promise<Issued> {
  const result = (await sts('GetFederationToken', params, broker)) as Record<string, unknown>
  const token = (result['Credentials'] as { SessionToken: string }).SessionToken
  const opened = await openSessionToken(h.ctx, token)
  return { caller: opened.caller, result }
}

before(async () => {
  h = await openHarness()
  await h.call('CreateUser', {
    UserName: 'broker',
    'Tags.member.1.Key': 'Department',
    'Tags.member.1.Value': 'Marketing',
  })
  await h.call('PutUserPolicy', {
    UserName: 'broker',
    PolicyName: 'federate',
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:GetFederationToken', Resource: '*' },
        { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      ],
    }),
  })
  const user = await h.ctx.users.getUser(ACCT, 'broker')
  broker = {
    arn: USER_ARN,
    accountId: ACCT,
    userId: user!.userId,
    accessKeyId: 'AKIAEXAMPLEEXAMPLE00',
    type: 'IAMUser',
    userName: 'broker',
  }
})
after(() => h.cleanup())

// STS API reference, GetFederationToken: request parameters and response elements.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
void describe('GetFederationToken: request and response', () => {
  void test('response: Credentials, FederatedUser {ACCOUNT:Name, federated-user ARN}, PackedPolicySize; 12 h default', async () => {
    const before = h.ctx.now().getTime()
    const { result, caller } = await federate({ Name: 'alice', Policy: S3_READ })
    const creds = result['Credentials'] as Record<string, unknown>
    assert.match(String(creds['AccessKeyId']), /^ASIA[A-Z2-7]{16}$/)
    assert.equal(String(creds['SecretAccessKey']).length, 40)
    const expiresIn = (creds['Expiration'] as Date).getTime() - before
    assert.ok(Math.abs(expiresIn - 43200_000) < 10_000, `expires in ${expiresIn} ms`)
    assert.deepEqual(result['FederatedUser'], { FederatedUserId: `${ACCT}:alice`, Arn: FED_ARN })
    assert.ok(typeof result['PackedPolicySize'] === 'number' && result['PackedPolicySize'] > 0)
    assert.equal(caller.type, 'FederatedUser')
  })
  void test('DurationSeconds 900–129600 (36 hours) is accepted', async () => {
    const { result } = await federate({ Name: 'alice', DurationSeconds: '129600' })
    const exp = (result['Credentials'] as { Expiration: Date }).Expiration.getTime()
    assert.ok(exp - h.ctx.now().getTime() > 129_000_000)
    assert.equal(result['PackedPolicySize'], 0)
  })
  void test('Name 2–32 of [\\w+=,.@-]*, DurationSeconds 900–129600: every violation in one ValidationError', async () => {
    const e = await stsError('GetFederationToken', { Name: 'a', DurationSeconds: '129601' }, broker)
    assert.equal(e.code, 'ValidationError')
    assert.equal(
      e.message,
      "2 validation errors detected: Value 'a' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600",
    )
    const long = await stsError('GetFederationToken', { Name: 'x'.repeat(33) }, broker)
    assert.match(
      long.message,
      /at 'name' failed to satisfy constraint: Member must have length less than or equal to 32/,
    )
    const pattern = await stsError('GetFederationToken', { Name: 'bad name' }, broker)
    assert.match(
      pattern.message,
      /Member must satisfy regular expression pattern: \[\\w\+=,\.@-\]\*/,
    )
    const missing = await stsError('GetFederationToken', {}, broker)
    assert.match(
      missing.message,
      /Value null at 'name' failed to satisfy constraint: Member must not be null/,
    )
    const short = await stsError(
      'GetFederationToken',
      { Name: 'alice', DurationSeconds: '899' },
      broker,
    )
    assert.match(short.message, /greater than or equal to 900/)
  })
  void test('an unparsable session policy is MalformedPolicyDocument; an unknown PolicyArn is refused', async () => {
    const bad = await stsError('GetFederationToken', { Name: 'alice', Policy: '{not json' }, broker)
    assert.equal(bad.code, 'MalformedPolicyDocument')
    const arn = await stsError(
      'GetFederationToken',
      { Name: 'alice', 'PolicyArns.member.1.arn': `arn:aws:iam::${ACCT}:policy/nope` },
      broker,
    )
    assert.equal(arn.code, 'InvalidParameterValue')
  })
})

// IAM User Guide, "Permissions for GetFederationToken" and "Passing session tags in AWS STS".
void describe('GetFederationToken: who may call it', () => {
  void test('the caller needs sts:GetFederationToken on the federated-user ARN', async () => {
    await h.call('CreateUser', { UserName: 'nobody' })
    const nobody = { ...broker, arn: `arn:aws:iam::${ACCT}:user/nobody`, userName: 'nobody' }
    const e = await stsError('GetFederationToken', { Name: 'alice' }, nobody)
    assert.equal(e.code, 'AccessDenied')
    assert.equal(
      e.message,
      `User: arn:aws:iam::${ACCT}:user/nobody is not authorized to perform: sts:GetFederationToken on resource: ${FED_ARN}`,
    )
  })
  void test('session tags need sts:TagSession', async () => {
    const e = await stsError(
      'GetFederationToken',
      { Name: 'alice', 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'a' },
      broker,
    )
    assert.equal(e.code, 'AccessDenied')
    assert.match(e.message, /not authorized to perform: sts:TagSession on resource: /)
  })
  void test('session credentials are refused: "Cannot call GetFederationToken with session credentials"', async () => {
    const roleSession: Caller = {
      ...broker,
      arn: `arn:aws:sts::${ACCT}:assumed-role/app/s`,
      type: 'AssumedRole',
    }
    const sessionToken: Caller = { ...broker, federatedFromUser: true }
    const { caller: fed } = await federate({ Name: 'alice', Policy: S3_READ })
    for (const c of [roleSession, sessionToken, fed]) {
      const e = await stsError('GetFederationToken', { Name: 'bob' }, c)
      assert.equal(e.code, 'AccessDenied')
      assert.equal(e.message, 'Cannot call GetFederationToken with session credentials')
    }
  })
})

// STS API reference, GetFederationToken, Permissions: "You cannot call any IAM operations using the CLI or the
// AWS API"; "You cannot call any STS operations except GetCallerIdentity".
void describe('the federated session', () => {
  void test('GetCallerIdentity: the federated-user ARN and ACCOUNT:Name', async () => {
    const { caller } = await federate({ Name: 'alice', Policy: S3_READ })
    assert.deepEqual(await sts('GetCallerIdentity', {}, caller), {
      Arn: FED_ARN,
      UserId: `${ACCT}:alice`,
      Account: ACCT,
    })
  })
  void test('other STS operations are refused', async () => {
    const { caller } = await federate({ Name: 'alice', Policy: S3_READ })
    const gst = await stsError('GetSessionToken', {}, caller)
    assert.equal(gst.message, 'Cannot call GetSessionToken with session credentials')
    const ar = await stsError(
      'AssumeRole',
      { RoleArn: `arn:aws:iam::${ACCT}:role/app`, RoleSessionName: 's1' },
      caller,
    )
    assert.equal(ar.code, 'AccessDenied')
    assert.match(ar.message, /federated-user\/alice is not authorized to perform: sts:AssumeRole/)
    const info = await stsError('GetAccessKeyInfo', { AccessKeyId: 'AKIAEXAMPLEEXAMPLE00' }, caller)
    assert.equal(info.code, 'AccessDenied')
  })
  void test('IAM operations are refused, even with a session policy allowing iam:*', async () => {
    const { caller } = await federate({
      Name: 'alice',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
      }),
    })
    const handler = iamService.actions['ListUsers']!
    await assert.rejects(
      handler(queryRequest('ListUsers', {}, caller), h.ctx),
      (e: AwsError) => e.code === 'InvalidClientTokenId' && e.status === 403,
    )
  })
  void test("permissions: the user's policies ∩ the session policies; none without a session policy", async () => {
    const ask = (caller: Caller, action: string) =>
      authorizeCaller(h.ctx, caller, { action, resource: BUCKET_OBJECT })
    const { caller: scoped } = await federate({ Name: 'alice', Policy: S3_READ })
    assert.equal((await ask(scoped, 's3:GetObject')).result.decision, 'Allowed')
    // The user allows s3:*, the session only s3:GetObject.
    assert.equal((await ask(scoped, 's3:PutObject')).result.decision, 'ImplicitlyDenied')
    const { caller: bare } = await federate({ Name: 'alice' })
    assert.equal((await ask(bare, 's3:GetObject')).result.decision, 'ImplicitlyDenied')
    // The session policy cannot grant more than the user has.
    const { caller: wide } = await federate({
      Name: 'alice',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }],
      }),
    })
    assert.equal((await ask(wide, 'ec2:DescribeInstances')).result.decision, 'ImplicitlyDenied')
  })
  void test('resource policies: the federated-user ARN grants; the IAM user ARN only within the session policy', async () => {
    const bucketPolicy = (principal: string) =>
      compilePolicy(
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: principal },
              Action: 's3:ListBucket',
              Resource: 'arn:aws:s3:::reports',
            },
          ],
        },
        { type: 'resource', id: 'bucket' },
      )
    await h.call('CreateUser', { UserName: 'lister' })
    await h.call('PutUserPolicy', {
      UserName: 'lister',
      PolicyName: 'federate',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:GetFederationToken', Resource: '*' }],
      }),
    })
    const lister: Caller = {
      ...broker,
      arn: `arn:aws:iam::${ACCT}:user/lister`,
      userId: (await h.ctx.users.getUser(ACCT, 'lister'))!.userId,
      userName: 'lister',
    }
    const issue = async (params: Record<string, string>) => {
      const r = (await sts('GetFederationToken', params, lister)) as Record<string, unknown>
      const token = (r['Credentials'] as { SessionToken: string }).SessionToken
      return (await openSessionToken(h.ctx, token)).caller
    }
    const list = async (caller: Caller, principal: string) =>
      (
        await authorizeCaller(h.ctx, caller, {
          action: 's3:ListBucket',
          resource: 'arn:aws:s3:::reports',
          resourceAccount: ACCT,
          resourcePolicy: bucketPolicy(principal),
        })
      ).result.decision
    const noPolicy = await issue({ Name: 'carol' })
    const fedArn = `arn:aws:sts::${ACCT}:federated-user/carol`
    assert.equal(await list(noPolicy, fedArn), 'Allowed')
    assert.equal(await list(noPolicy, lister.arn), 'ImplicitlyDenied')
    const s3Session = await issue({
      Name: 'carol',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    })
    // The user's own policies do not allow s3:ListBucket: the bucket policy naming the user does, within the session.
    assert.equal(await list(s3Session, lister.arn), 'Allowed')
  })
  void test('request context: aws:PrincipalType FederatedUser, aws:userid ACCOUNT:Name, no aws:username; session tags override user tags', async () => {
    await h.call('PutUserPolicy', {
      UserName: 'broker',
      PolicyName: 'tag',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:TagSession', Resource: '*' }],
      }),
    })
    const { caller } = await federate({
      Name: 'alice',
      Policy: S3_READ,
      'Tags.member.1.Key': 'department',
      'Tags.member.1.Value': 'engineering',
    })
    const { context } = await authorizeCaller(h.ctx, caller, {
      action: 's3:GetObject',
      resource: BUCKET_OBJECT,
    })
    assert.equal(context['aws:PrincipalType'], 'FederatedUser')
    assert.equal(context['aws:userid'], `${ACCT}:alice`)
    assert.equal(context['aws:PrincipalArn'], FED_ARN)
    assert.equal(context['aws:username'], undefined)
    assert.equal(context['aws:MultiFactorAuthPresent'], 'false')
    assert.ok(typeof context['aws:TokenIssueTime'] === 'string')
    assert.equal(context['aws:PrincipalTag/department'], 'engineering')
    assert.equal(context['aws:PrincipalTag/Department'], undefined)
  })
  void test('CloudTrail userIdentity: FederatedUser with the IAM user as session issuer', async () => {
    const { caller } = await federate({ Name: 'alice', Policy: S3_READ })
    const id = userIdentityOf(caller) as Record<string, unknown>
    assert.equal(id['type'], 'FederatedUser')
    assert.equal(id['principalId'], `${ACCT}:alice`)
    assert.equal(id['arn'], FED_ARN)
    const issuer = (id['sessionContext'] as { sessionIssuer: Record<string, string> }).sessionIssuer
    assert.deepEqual(
      [issuer['type'], issuer['arn'], issuer['userName']],
      ['IAMUser', USER_ARN, 'broker'],
    )
  })
})

// STS API reference, GetSessionToken: its credentials "cannot call any IAM API operations unless MFA
// authentication information is included in the request" (podtrust verifies no MFA device) and "cannot call any
// AWS STS API except AssumeRole or GetCallerIdentity". IAM answers InvalidClientTokenId, as users of such
// credentials see it (https://github.com/99designs/aws-vault/issues/1056).
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
void describe('GetSessionToken credentials', () => {
  async function sessionCaller(): Promise<Caller> {
    const result = (await sts('GetSessionToken', {}, broker)) as Record<string, unknown>
    const token = (result['Credentials'] as { SessionToken: string }).SessionToken
    return (await openSessionToken(h.ctx, token)).caller
  }
  void test('IAM refuses them with InvalidClientTokenId, whatever the user may do', async () => {
    const caller = await sessionCaller()
    await assert.rejects(
      iamService.actions['ListUsers']!(queryRequest('ListUsers', {}, caller), h.ctx),
      (e: AwsError) =>
        e.code === 'InvalidClientTokenId' &&
        e.status === 403 &&
        e.message === 'The security token included in the request is invalid',
    )
  })
  void test('STS: GetCallerIdentity and AssumeRole stay open; the rest is refused', async () => {
    const caller = await sessionCaller()
    const identity = (await sts('GetCallerIdentity', {}, caller)) as Record<string, unknown>
    assert.equal(identity['Arn'], USER_ARN)
    // AssumeRole runs (and fails on its own terms: the role does not exist), not refused up front.
    const ar = await stsError(
      'AssumeRole',
      { RoleArn: `arn:aws:iam::${ACCT}:role/absent`, RoleSessionName: 's1' },
      caller,
    )
    assert.doesNotMatch(ar.message, /session credentials/)
    const info = await stsError('GetAccessKeyInfo', { AccessKeyId: 'AKIAEXAMPLEEXAMPLE00' }, caller)
    assert.equal(info.code, 'AccessDenied')
    assert.match(info.message, /user\/broker is not authorized to perform: sts:GetAccessKeyInfo/)
    const fed = await stsError('GetFederationToken', { Name: 'bob' }, caller)
    assert.equal(fed.message, 'Cannot call GetFederationToken with session credentials')
  })
})
