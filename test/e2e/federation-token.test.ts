/**
 * STS GetFederationToken end to end with the AWS CLI and boto3 against the real server, and the federated
 * session's credentials at the S3 gateway. Expectations follow the STS API reference
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html) and the IAM User Guide,
 * "Permissions for GetFederationToken"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  cleanEnv,
  findOnPath,
  pythonHas,
  run,
  startStsTestServer,
  TEST_ACCOUNT,
  tempDir,
  type StsTestServer,
} from './helpers/index.ts'
import { boto, clientEnv, type Creds } from './gateway-clients.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'

const FED = (name: string) => `arn:aws:sts::${TEST_ACCOUNT}:federated-user/${name}`
const BROKER_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['sts:GetFederationToken', 'sts:TagSession'], Resource: '*' },
    { Effect: 'Allow', Action: 's3:*', Resource: '*' },
  ],
})
const READ_DATA = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::fed-data/*' }],
})

interface CliResult {
  code: number
  json: Record<string, unknown> | undefined
  stderr: string
}

void describe('GetFederationToken with the AWS CLI and boto3', () => {
  let s: StsTestServer
  let broker: Creds

  before(async () => {
    s = await startStsTestServer()
    broker = await s.addUser('broker', { inline: BROKER_POLICY })
    // Same account, a trust policy naming the user: it may assume the role without an identity policy.
    await s.addRole('broker-role', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:user/broker` },
          Action: 'sts:AssumeRole',
        },
      ],
    })
  })
  after(async () => s?.close())

  const env = (c: Creds) =>
    cleanEnv(tempDir('podtrust-fed-home-'), {
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      ...(c.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: c.sessionToken }),
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_STS: s.server.baseUrl,
      AWS_ENDPOINT_URL_IAM: s.server.baseUrl,
    })
  const aws = async (c: Creds, args: string[]): Promise<CliResult> => {
    const r = await run('aws', [...args, '--output', 'json'], { env: env(c) })
    let json: Record<string, unknown> | undefined
    try {
      json = r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined
    } catch {
      json = undefined
    }
    return { code: r.code ?? -1, json, stderr: r.stderr }
  }

  void test('AWS CLI: get-federation-token, then the session as AWS documents it', async (t) => {
    if (findOnPath('aws') === undefined) return t.skip('the AWS CLI (aws) is not on PATH') // reason: the message says what is missing
    const out = await aws(broker, [
      'sts',
      'get-federation-token',
      '--name',
      'alice',
      '--policy',
      READ_DATA,
      '--policy-arns',
      'arn=arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      '--duration-seconds',
      '900',
      '--tags',
      'Key=team,Value=data',
    ])
    assert.equal(out.code, 0, out.stderr)
    const fedUser = out.json?.['FederatedUser'] as Record<string, string>
    assert.deepEqual(fedUser, { FederatedUserId: `${TEST_ACCOUNT}:alice`, Arn: FED('alice') })
    assert.ok((out.json?.['PackedPolicySize'] as number) > 0)
    const c = out.json?.['Credentials'] as Record<string, string>
    const expires = Date.parse(c['Expiration'] as string) - Date.now()
    assert.ok(expires > 800_000 && expires <= 900_000, `expires in ${expires} ms`)
    const fed: Creds = {
      accessKeyId: c['AccessKeyId'] as string,
      secretAccessKey: c['SecretAccessKey'] as string,
      sessionToken: c['SessionToken'] as string,
    }

    const who = await aws(fed, ['sts', 'get-caller-identity'])
    assert.equal(who.code, 0, who.stderr)
    assert.deepEqual(who.json, {
      UserId: `${TEST_ACCOUNT}:alice`,
      Account: TEST_ACCOUNT,
      Arn: FED('alice'),
    })
    // "You cannot call any IAM operations using the CLI or the AWS API."
    const iam = await aws(fed, ['iam', 'list-users'])
    assert.notEqual(iam.code, 0)
    assert.match(iam.stderr, /InvalidClientTokenId/)
    // "You cannot call any STS operations except GetCallerIdentity."
    const again = await aws(fed, ['sts', 'get-federation-token', '--name', 'bob'])
    assert.notEqual(again.code, 0)
    assert.match(
      again.stderr,
      /\(AccessDenied\).*Cannot call GetFederationToken with session credentials/,
    )
    const gst = await aws(fed, ['sts', 'get-session-token'])
    assert.match(gst.stderr, /Cannot call GetSessionToken with session credentials/)

    // botocore checks lengths before sending; the name pattern is the server's (botocore does not check patterns).
    const bad = await aws(broker, ['sts', 'get-federation-token', '--name', 'bad name'])
    assert.match(
      bad.stderr,
      /\(ValidationError\).*Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    )
  })

  void test('boto3: get_federation_token and the federated session', async (t) => {
    if (!(await pythonHas('boto3'))) return t.skip('python3 with boto3 not found') // reason: the message says what is missing
    const script = `
import json, boto3, botocore, botocore.config
out = {}
def err(call):
  try:
    call(); return None
  except botocore.exceptions.ClientError as e:
    return [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]
sts = boto3.client('sts')
r = sts.get_federation_token(Name='bob@example.com', Policy=${JSON.stringify(READ_DATA)}, DurationSeconds=129600)
out['federatedUser'] = r['FederatedUser']
out['packed'] = r['PackedPolicySize']
out['hours'] = round((r['Credentials']['Expiration'].timestamp() - __import__('time').time()) / 3600)
c = r['Credentials']
kw = dict(aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])
fed_sts = boto3.client('sts', **kw)
out['identity'] = {k: v for k, v in fed_sts.get_caller_identity().items() if k != 'ResponseMetadata'}
out['assumeRole'] = err(lambda: fed_sts.assume_role(RoleArn='arn:aws:iam::${TEST_ACCOUNT}:role/any', RoleSessionName='sess'))
out['iam'] = err(lambda: boto3.client('iam', **kw).list_roles())
# Past botocore's own length checks, to the server's.
raw = boto3.client('sts', config=botocore.config.Config(parameter_validation=False))
out['tooLong'] = err(lambda: raw.get_federation_token(Name='n' * 33, DurationSeconds=129601))
# Only an IAM user's long-term keys may federate: not a role session, not GetSessionToken credentials.
def creds_of(c):
  return dict(aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])
role = sts.assume_role(RoleArn='arn:aws:iam::${TEST_ACCOUNT}:role/broker-role', RoleSessionName='sess')['Credentials']
out['fromRole'] = err(lambda: boto3.client('sts', **creds_of(role)).get_federation_token(Name='carol'))
gst = sts.get_session_token()['Credentials']
out['fromSessionToken'] = err(lambda: boto3.client('sts', **creds_of(gst)).get_federation_token(Name='carol'))
print(json.dumps(out))
`
    const r = await run('python3', ['-c', script], {
      env: cleanEnv(tempDir('podtrust-fed-boto-'), {
        AWS_ACCESS_KEY_ID: broker.accessKeyId,
        AWS_SECRET_ACCESS_KEY: broker.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_STS: s.server.baseUrl,
        AWS_ENDPOINT_URL_IAM: s.server.baseUrl,
      }),
    })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    assert.deepEqual(out['federatedUser'], {
      FederatedUserId: `${TEST_ACCOUNT}:bob@example.com`,
      Arn: FED('bob@example.com'),
    })
    assert.equal(out['hours'], 36)
    assert.deepEqual(out['identity'], {
      UserId: `${TEST_ACCOUNT}:bob@example.com`,
      Account: TEST_ACCOUNT,
      Arn: FED('bob@example.com'),
    })
    const assumeRole = out['assumeRole'] as [string, string, number]
    assert.deepEqual([assumeRole[0], assumeRole[2]], ['AccessDenied', 403])
    // IAM's message carries no final period (IAM's XML: https://github.com/aws/aws-cli/issues/8918).
    assert.deepEqual(out['iam'], [
      'InvalidClientTokenId',
      'The security token included in the request is invalid',
      403,
    ])
    const tooLong = out['tooLong'] as [string, string, number]
    assert.equal(tooLong[0], 'ValidationError')
    assert.match(tooLong[1], /^2 validation errors detected: /)
    const refused = ['AccessDenied', 'Cannot call GetFederationToken with session credentials', 403]
    assert.deepEqual(out['fromRole'], refused)
    assert.deepEqual(out['fromSessionToken'], refused)
  })
})

const noMoto = !(await pythonHas('moto.server'))
  ? 'moto (python3 -m moto.server) is required'
  : false

// The gateway authenticates with the same credential store and authorizes with the same caller policies.
void describe('federated sessions at the S3 gateway', { skip: noMoto }, () => {
  let f: GatewayFixture
  let broker: Creds

  const federate = async (name: string, policy?: string): Promise<Creds> => {
    const [r] = await boto(
      clientEnv(broker, f.gateway.url, { AWS_ENDPOINT_URL_STS: f.s.server.baseUrl }),
      [
        [
          'sts',
          'get_federation_token',
          { Name: name, ...(policy === undefined ? {} : { Policy: policy }) },
        ],
      ],
    )
    assert.ok(r?.ok, JSON.stringify(r))
    const c = (r.data as { Credentials: Record<string, string> }).Credentials
    return {
      accessKeyId: c['AccessKeyId'] as string,
      secretAccessKey: c['SecretAccessKey'] as string,
      sessionToken: c['SessionToken'] as string,
    }
  }
  const s3 = (c: Creds, calls: [string, Record<string, unknown>][]) =>
    boto(
      clientEnv(c, f.gateway.url),
      calls.map(([method, kwargs]) => ['s3', method, kwargs]),
    )

  before(async () => {
    f = await startGatewayFixture()
    broker = await f.s.addUser('broker', { inline: BROKER_POLICY })
    const setup = await s3(broker, [
      ['create_bucket', { Bucket: 'fed-data' }],
      ['put_object', { Bucket: 'fed-data', Key: 'report.csv', Body: 'r' }],
      ['put_object', { Bucket: 'fed-data', Key: 'shared/readme.txt', Body: 's' }],
      [
        'put_bucket_policy',
        {
          Bucket: 'fed-data',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: FED('carol') },
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::fed-data/shared/*',
              },
            ],
          }),
        },
      ],
    ])
    assert.ok(
      setup.every((x) => x.ok),
      JSON.stringify(setup),
    )
  })
  after(async () => f?.close())

  void test("the session policy scopes the user's permissions; without one the session has none", async () => {
    const reader = await federate('alice', READ_DATA)
    const [got, put] = await s3(reader, [
      ['get_object', { Bucket: 'fed-data', Key: 'report.csv' }],
      ['put_object', { Bucket: 'fed-data', Key: 'new.csv', Body: 'x' }],
    ])
    assert.equal((got?.data as { Body: string }).Body, 'r')
    assert.deepEqual([put?.code, put?.status], ['AccessDenied', 403])
    const bare = await federate('dave')
    const [denied] = await s3(bare, [['get_object', { Bucket: 'fed-data', Key: 'report.csv' }]])
    assert.deepEqual([denied?.code, denied?.status], ['AccessDenied', 403])
  })
  void test('a bucket policy naming the federated user grants to that session alone', async () => {
    const carol = await federate('carol')
    const [shared, other] = await s3(carol, [
      ['get_object', { Bucket: 'fed-data', Key: 'shared/readme.txt' }],
      ['get_object', { Bucket: 'fed-data', Key: 'report.csv' }],
    ])
    assert.equal((shared?.data as { Body: string }).Body, 's')
    assert.equal(other?.code, 'AccessDenied')
    const dave = await federate('dave')
    const [notCarol] = await s3(dave, [
      ['get_object', { Bucket: 'fed-data', Key: 'shared/readme.txt' }],
    ])
    assert.equal(notCarol?.code, 'AccessDenied')
  })
})
