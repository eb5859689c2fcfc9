/**
 * The SQS query protocol (form POST with `Action=`, SigV4 scope `sqs`) through the gateway: an allowed
 * SendMessage reaches moto (its XML answer passes through), a denied one gets SQS's query-protocol
 * `<ErrorResponse>` with `AccessDenied`; the JSON protocol's error carries `x-amzn-query-error`.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-responses.html
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createHash } from 'node:crypto'
import { signBackendRequest } from '../../src/gateway/backend.ts'
import { irsaTrust, pythonHas } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import { boto, clientEnv, irsaCredentials, type Creds } from './gateway-clients.ts'

const ACCOUNT = '111122223333'
const skip =
  !(await pythonHas('moto.server')) || !(await pythonHas('boto3'))
    ? 'moto and boto3 are required'
    : false

/** A signed SQS call in either protocol (the signer is the one the gateway uses towards backends). */
async function sqsCall(
  port: number,
  creds: Creds,
  body: string,
  json?: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: [string, string][] =
    json === undefined
      ? [['content-type', 'application/x-www-form-urlencoded; charset=utf-8']]
      : [
          ['content-type', 'application/x-amz-json-1.0'],
          ['x-amz-target', `AmazonSQS.${json}`],
        ]
  if (creds.sessionToken !== undefined) headers.push(['x-amz-security-token', creds.sessionToken])
  const signed = signBackendRequest({
    method: 'POST',
    path: '/',
    query: '',
    headers,
    host: `127.0.0.1:${port}`,
    payloadHash: createHash('sha256').update(body).digest('hex'),
    service: 'sqs',
    target: {
      url: new URL(`http://127.0.0.1:${port}`),
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      region: 'us-east-1',
    },
    now: new Date(),
  })
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: Object.fromEntries(signed.filter(([n]) => n !== 'host')),
    body,
  })
  return { status: res.status, text: await res.text(), headers: res.headers }
}

void describe('SQS query protocol through the gateway', { skip }, () => {
  let f: GatewayFixture
  let sender: Creds

  before(async () => {
    f = await startGatewayFixture()
    const admin = await f.s.addUser('q-admin', {
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    })
    for (const r of await boto(clientEnv(admin, f.gateway.url), [
      ['sqs', 'create_queue', { QueueName: 'q-jobs' }],
      ['sqs', 'create_queue', { QueueName: 'q-other' }],
    ]))
      assert.ok(r.ok, JSON.stringify(r))
    const provider = await f.s.addOidcProvider(f.s.issuerUrl)
    const arn = await f.s.addRole(
      'q-sender',
      irsaTrust(provider, f.s.providerUrl, 'system:serviceaccount:default:q'),
      {
        inline: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'sqs:SendMessage',
              Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q-jobs`,
            },
          ],
        },
      },
    )
    sender = await irsaCredentials(
      f.s.server.baseUrl,
      arn,
      await f.s.token({ namespace: 'default', serviceAccount: 'q' }),
    )
  })
  after(async () => f?.close())

  void test('allowed SendMessage (query) reaches moto; denied gets the query ErrorResponse', async () => {
    const form = (queue: string) =>
      new URLSearchParams({
        Action: 'SendMessage',
        Version: '2012-11-05',
        QueueUrl: `${f.gateway.url}/${ACCOUNT}/${queue}`,
        MessageBody: 'via query',
      }).toString()
    const ok = await sqsCall(f.gateway.port, sender, form('q-jobs'))
    assert.equal(ok.status, 200, ok.text)
    assert.match(ok.text, /<SendMessageResponse[\s\S]*<MD5OfMessageBody>/)
    const denied = await sqsCall(f.gateway.port, sender, form('q-other'))
    assert.equal(denied.status, 403)
    assert.match(
      denied.text,
      /<ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>Sender<\/Type><Code>AccessDenied<\/Code><Message>User: arn:aws:sts::111122223333:assumed-role\/q-sender\/gw-e2e is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:111122223333:q-other because no identity-based policy allows the sqs:sendmessage action<\/Message><Detail\/><\/Error><RequestId>[0-9A-F]+<\/RequestId><\/ErrorResponse>/,
    )
  })

  void test('the JSON protocol error: __type, message and x-amzn-query-error', async () => {
    const denied = await sqsCall(
      f.gateway.port,
      sender,
      JSON.stringify({ QueueUrl: `${f.gateway.url}/${ACCOUNT}/q-other`, MessageBody: 'x' }),
      'SendMessage',
    )
    assert.equal(denied.status, 403)
    assert.equal(denied.headers.get('x-amzn-query-error'), 'AccessDenied;Sender')
    const body = JSON.parse(denied.text) as { __type: string; message: string }
    assert.equal(body.__type, 'com.amazon.coral.service#AccessDeniedException')
    assert.match(body.message, /is not authorized to perform: sqs:sendmessage/)
    const forged = await sqsCall(
      f.gateway.port,
      { ...sender, secretAccessKey: 'wrong' },
      JSON.stringify({ QueueUrl: `${f.gateway.url}/${ACCOUNT}/q-jobs`, MessageBody: 'x' }),
      'SendMessage',
    )
    assert.equal(forged.status, 403)
    assert.equal(forged.headers.get('x-amzn-query-error'), 'SignatureDoesNotMatch;Sender')
  })
})
