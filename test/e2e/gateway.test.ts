/**
 * The S3/SQS gateway end to end with real clients against moto: IRSA credentials from podtrust's STS,
 * boto3 and the AWS CLI through the gateway, each allowed call reaching moto and each denied one answered
 * with the service's exact error ("Troubleshoot access denied error messages",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html; S3 "Error responses",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { freePort, irsaTrust, pythonHas, findOnPath, run, tempDir } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import { startGateway } from '../../src/gateway/server.ts'
import { boto, clientEnv, irsaCredentials, writeTemp, type Creds } from './gateway-clients.ts'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'

const BUCKET = 'data'
const ACCOUNT = '111122223333'

const haveBoto = await pythonHas('boto3')
const haveMoto = await pythonHas('moto.server')
const skip = !haveBoto || !haveMoto ? 'boto3 and moto (python3 -m moto.server) are required' : false

const READER_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/reports/*` },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}` },
    {
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueUrl'],
      Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:jobs`,
    },
  ],
}

const WRITER_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
    },
    { Effect: 'Allow', Action: 'sqs:*', Resource: '*' },
  ],
}

void describe('gateway with real clients (IRSA credentials, moto backend)', { skip }, () => {
  let f: GatewayFixture
  let reader: Creds
  let writer: Creds
  let admin: Creds

  before(async () => {
    f = await startGatewayFixture()
    const provider = await f.s.addOidcProvider(f.s.issuerUrl)
    const trust = irsaTrust(provider, f.s.providerUrl, 'system:serviceaccount:default:app')
    const readerArn = await f.s.addRole('gw-reader', trust, { inline: READER_POLICY })
    const writerArn = await f.s.addRole('gw-writer', trust, { inline: WRITER_POLICY })
    const token = await f.s.token({ namespace: 'default', serviceAccount: 'app' })
    reader = await irsaCredentials(f.s.server.baseUrl, readerArn, token)
    writer = await irsaCredentials(f.s.server.baseUrl, writerArn, token)
    admin = await f.s.addUser('gw-admin', {
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    })
    const seeded = await boto(clientEnv(admin, f.gateway.url), [
      ['s3', 'create_bucket', { Bucket: BUCKET }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'reports/q1.csv', Body: 'revenue,1\n' }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'private/salaries.csv', Body: 'secret\n' }],
      ['sqs', 'create_queue', { QueueName: 'jobs' }],
      ['sqs', 'create_queue', { QueueName: 'other' }],
    ])
    for (const r of seeded) assert.ok(r.ok, JSON.stringify(r))
  })
  after(async () => f?.close())

  void test('the reader reads bucket/reports/* and is denied PutObject and GetObject elsewhere with S3 errors', async () => {
    const [get, put, other, list] = await boto(clientEnv(reader, f.gateway.url), [
      ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/q1.csv' }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'reports/new.csv', Body: 'x' }],
      ['s3', 'get_object', { Bucket: BUCKET, Key: 'private/salaries.csv' }],
      ['s3', 'list_objects_v2', { Bucket: BUCKET, Prefix: 'reports/' }],
    ])
    assert.equal((get?.data as { Body: string }).Body, 'revenue,1\n')
    assert.equal(put?.code, 'AccessDenied')
    assert.equal(put?.status, 403)
    assert.match(
      put?.message ?? '',
      /^User: arn:aws:sts::111122223333:assumed-role\/gw-reader\/gw-e2e is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::data\/reports\/new.csv" because no identity-based policy allows the s3:PutObject action$/,
    )
    assert.equal(other?.code, 'AccessDenied')
    assert.equal(other?.status, 403)
    assert.deepEqual(
      ((list?.data as { Contents: { Key: string }[] }).Contents ?? []).map((c) => c.Key),
      ['reports/q1.csv'],
    )
  })

  void test('unknown keys, wrong secrets and forged tokens get S3 errors', async () => {
    const [unknown, wrongSecret, forged] = await Promise.all([
      boto(
        clientEnv({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' }, f.gateway.url),
        [['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/q1.csv' }]],
      ),
      boto(clientEnv({ ...admin, secretAccessKey: 'wrong' }, f.gateway.url), [
        ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/q1.csv' }],
      ]),
      boto(clientEnv({ ...reader, sessionToken: 'AQoDYXdzEJr-forged' }, f.gateway.url), [
        ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/q1.csv' }],
      ]),
    ])
    assert.equal(unknown[0]?.code, 'InvalidAccessKeyId')
    assert.equal(
      unknown[0]?.message,
      'The AWS Access Key Id you provided does not exist in our records.',
    )
    assert.equal(wrongSecret[0]?.code, 'SignatureDoesNotMatch')
    assert.equal(forged[0]?.code, 'InvalidToken')
  })

  void test('presigned GET works with curl until it expires; X-Amz-Expires is required', async () => {
    const env = clientEnv(reader, f.gateway.url)
    const [good, short] = await boto(env, [
      [
        's3',
        'generate_presigned_url',
        {
          ClientMethod: 'get_object',
          Params: { Bucket: BUCKET, Key: 'reports/q1.csv' },
          ExpiresIn: 300,
        },
      ],
      [
        's3',
        'generate_presigned_url',
        {
          ClientMethod: 'get_object',
          Params: { Bucket: BUCKET, Key: 'reports/q1.csv' },
          ExpiresIn: 1,
        },
      ],
    ])
    const url = good?.data as string
    assert.match(url, /X-Amz-Algorithm=AWS4-HMAC-SHA256/)
    const ok = await run('curl', ['-s', '-w', '\\n%{http_code}', url], { env })
    assert.equal(ok.stdout, 'revenue,1\n\n200')
    await new Promise((r) => setTimeout(r, 2100))
    const expired = await run('curl', ['-s', '-w', '\\n%{http_code}', short?.data as string], {
      env,
    })
    assert.match(
      expired.stdout,
      /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message><X-Amz-Expires>1<\/X-Amz-Expires>/,
    )
    assert.match(expired.stdout, /\n403$/)
    const noExpiry = await fetch(url.replace(/X-Amz-Expires=\d+&?/, ''))
    assert.equal(noExpiry.status, 400)
    assert.match(await noExpiry.text(), /<Code>AuthorizationQueryParametersError<\/Code>/)
  })

  void test(
    'aws s3 cp, ls and sync through the gateway (AWS CLI v1)',
    { skip: findOnPath('aws') === undefined ? 'aws CLI not installed' : false },
    async () => {
      const env = clientEnv(writer, f.gateway.url)
      const dir = tempDir('podtrust-gw-sync-')
      mkdirSync(join(dir, 'sub'), { recursive: true })
      writeFileSync(join(dir, 'a.txt'), 'alpha')
      writeFileSync(join(dir, 'sub', 'b.txt'), 'beta')
      const ep = ['--endpoint-url', f.gateway.url]
      const cp = await run(
        'aws',
        ['s3', 'cp', join(dir, 'a.txt'), `s3://${BUCKET}/cli/a.txt`, ...ep],
        { env },
      )
      assert.equal(cp.code, 0, cp.stderr)
      const sync = await run('aws', ['s3', 'sync', dir, `s3://${BUCKET}/synced/`, ...ep], { env })
      assert.equal(sync.code, 0, sync.stderr)
      const ls = await run('aws', ['s3', 'ls', `s3://${BUCKET}/synced/`, '--recursive', ...ep], {
        env,
      })
      assert.equal(ls.code, 0, ls.stderr)
      assert.match(ls.stdout, /synced\/a\.txt/)
      assert.match(ls.stdout, /synced\/sub\/b\.txt/)
      const down = join(dir, 'down.txt')
      const get = await run('aws', ['s3', 'cp', `s3://${BUCKET}/cli/a.txt`, down, ...ep], { env })
      assert.equal(get.code, 0, get.stderr)
      assert.equal(readFileSync(down, 'utf8'), 'alpha')
      // The reader may list but not write: the CLI reports S3's AccessDenied.
      const denied = await run(
        'aws',
        ['s3', 'cp', join(dir, 'a.txt'), `s3://${BUCKET}/cli/b.txt`, ...ep],
        {
          env: clientEnv(reader, f.gateway.url),
        },
      )
      assert.notEqual(denied.code, 0)
      assert.match(denied.stderr, /AccessDenied/)
    },
  )

  void test('boto3 multipart upload of 50 MiB (upload_file), read back', async () => {
    const file = writeTemp('big.bin', Buffer.alloc(50 * 1024 * 1024, 7))
    const [up, head] = await boto(clientEnv(writer, f.gateway.url), [
      ['s3', 'upload_file', { Filename: file, Bucket: BUCKET, Key: 'big/boto.bin' }],
      ['s3', 'head_object', { Bucket: BUCKET, Key: 'big/boto.bin' }],
    ])
    assert.ok(up?.ok, JSON.stringify(up))
    assert.equal((head?.data as { ContentLength: number }).ContentLength, 50 * 1024 * 1024)
    assert.match((head?.data as { ETag: string }).ETag, /-\d+"$/)
  })

  void test('backend errors pass through; an unreachable backend is a retryable 503', async () => {
    const [missing] = await boto(clientEnv(writer, f.gateway.url), [
      ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/none.csv' }],
    ])
    assert.equal(missing?.code, 'NoSuchKey')
    assert.equal(missing?.status, 404)
    const closed = await freePort()
    const down = await startGateway(f.s.server.ctx, {
      port: 0,
      backendS3: `http://127.0.0.1:${closed}`,
      backendSqs: `http://127.0.0.1:${closed}`,
    })
    try {
      const [r] = await boto(clientEnv(writer, down.url), [
        ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/q1.csv' }],
      ])
      assert.equal(r?.code, 'ServiceUnavailable')
      assert.equal(r?.status, 503)
    } finally {
      await down.close()
    }
  })

  void test('DeleteObjects authorizes every key as s3:DeleteObject', async () => {
    const w = clientEnv(writer, f.gateway.url)
    const [p1, p2] = await boto(w, [
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'tmp/1', Body: '1' }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'tmp/2', Body: '2' }],
    ])
    assert.ok(p1?.ok && p2?.ok)
    const del = { Bucket: BUCKET, Delete: { Objects: [{ Key: 'tmp/1' }, { Key: 'tmp/2' }] } }
    const [denied] = await boto(clientEnv(reader, f.gateway.url), [['s3', 'delete_objects', del]])
    assert.equal(denied?.code, 'AccessDenied')
    const [ok, list] = await boto(w, [
      ['s3', 'delete_objects', del],
      ['s3', 'list_objects_v2', { Bucket: BUCKET, Prefix: 'tmp/' }],
    ])
    assert.ok(ok?.ok, JSON.stringify(ok))
    assert.equal((list?.data as { KeyCount: number }).KeyCount, 0)
  })

  void test('virtual-hosted style (BUCKET.localhost) reaches the same object', async () => {
    const [url] = await boto(clientEnv(reader, f.gateway.url.replace('127.0.0.1', 'localhost')), [
      [
        's3',
        'generate_presigned_url',
        {
          ClientMethod: 'get_object',
          Params: { Bucket: BUCKET, Key: 'reports/q1.csv' },
          ExpiresIn: 60,
        },
      ],
    ])
    // A presigned path-style URL, re-signed for the virtual host by the gateway's own signer below.
    assert.match(url?.data as string, /^http:\/\/localhost:\d+\/data\/reports\/q1.csv\?/)
    const { signBackendRequest } = await import('../../src/gateway/backend.ts')
    const host = `${BUCKET}.localhost:${f.gateway.port}`
    const headers = signBackendRequest({
      method: 'GET',
      path: '/reports/q1.csv',
      query: '',
      headers: [['x-amz-security-token', reader.sessionToken as string]],
      host,
      payloadHash: 'UNSIGNED-PAYLOAD',
      service: 's3',
      target: {
        url: new URL(`http://${host}`),
        accessKeyId: reader.accessKeyId,
        secretAccessKey: reader.secretAccessKey,
        region: 'us-east-1',
      },
      now: new Date(),
    })
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: f.gateway.port,
          path: '/reports/q1.csv',
          headers: Object.fromEntries(headers),
        },
        (r) => {
          let b = ''
          r.on('data', (d: Buffer) => (b += d.toString()))
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }))
        },
      )
      req.on('error', reject)
      req.end()
    })
    assert.equal(res.status, 200, res.body)
    assert.equal(res.body, 'revenue,1\n')
  })

  void test('SQS send/receive/delete with boto3; another queue is denied with SQS errors', async () => {
    const env = clientEnv(reader, f.gateway.url)
    const [url] = await boto(env, [['sqs', 'get_queue_url', { QueueName: 'jobs' }]])
    const queueUrl = (url?.data as { QueueUrl: string }).QueueUrl
    assert.equal(queueUrl, `${f.gateway.url}/${ACCOUNT}/jobs`)
    const [sent, received] = await boto(env, [
      ['sqs', 'send_message', { QueueUrl: queueUrl, MessageBody: 'hello' }],
      ['sqs', 'receive_message', { QueueUrl: queueUrl, WaitTimeSeconds: 1 }],
    ])
    assert.ok(sent?.ok, JSON.stringify(sent))
    const messages = (received?.data as { Messages: { Body: string; ReceiptHandle: string }[] })
      .Messages
    assert.equal(messages[0]?.Body, 'hello')
    const [deleted, denied] = await boto(env, [
      ['sqs', 'delete_message', { QueueUrl: queueUrl, ReceiptHandle: messages[0]?.ReceiptHandle }],
      [
        'sqs',
        'send_message',
        { QueueUrl: `${f.gateway.url}/${ACCOUNT}/other`, MessageBody: 'nope' },
      ],
    ])
    assert.ok(deleted?.ok, JSON.stringify(deleted))
    assert.equal(denied?.code, 'AccessDenied')
    assert.equal(
      denied?.message,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/gw-reader/gw-e2e is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:${ACCOUNT}:other because no identity-based policy allows the sqs:sendmessage action`,
    )
  })

  void test('every decision is a CloudTrail data event in the audit log', async () => {
    await f.gateway.flushAudit()
    const rows = await f.s.server.ctx.db.all<{ event: string }>('SELECT event FROM audit_events')
    const events = rows
      .map((r) => JSON.parse(r.event) as Record<string, unknown>)
      .filter((e) => e['eventCategory'] === 'Data')
    const denied = events.find(
      (e) => e['eventName'] === 'PutObject' && e['errorCode'] === 'AccessDenied',
    )
    assert.ok(denied, 'a denied PutObject is audited')
    assert.equal(denied['eventSource'], 's3.amazonaws.com')
    assert.deepEqual(denied['resources'], [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::data/reports/new.csv' },
    ])
    const detail = (denied['additionalEventData'] as { policyDecision: { explicitDeny: boolean } })
      .policyDecision
    assert.equal(detail.explicitDeny, false)
    assert.ok(
      events.some(
        (e) => e['eventSource'] === 'sqs.amazonaws.com' && e['eventName'] === 'SendMessage',
      ),
    )
    assert.ok(!rows.some((r) => r.event.includes(reader.secretAccessKey)))
  })
})
