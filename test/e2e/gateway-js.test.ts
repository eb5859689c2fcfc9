/**
 * The gateway with the AWS SDK for JavaScript v3: @aws-sdk/client-s3 (plain, aws-chunked streaming with a
 * trailing CRC32, and a 50 MiB multipart upload through @aws-sdk/lib-storage) and @aws-sdk/client-sqs (the
 * JSON protocol), with IRSA credentials, against moto.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Readable } from 'node:stream'
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  HeadObjectCommand,
  CreateBucketCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  CreateQueueCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { irsaTrust, pythonHas } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import { irsaCredentials, type Creds } from './gateway-clients.ts'

const ACCOUNT = '111122223333'
const skip = !(await pythonHas('moto.server')) ? 'moto (python3 -m moto.server) is required' : false

void describe('gateway with the AWS SDK for JavaScript v3', { skip }, () => {
  let f: GatewayFixture
  let writer: Creds
  let reader: Creds
  const s3 = (c: Creds) =>
    new S3Client({
      endpoint: f.gateway.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: c,
      maxAttempts: 1,
    })
  const sqs = (c: Creds) =>
    new SQSClient({ endpoint: f.gateway.url, region: 'us-east-1', credentials: c, maxAttempts: 1 })

  before(async () => {
    f = await startGatewayFixture()
    const provider = await f.s.addOidcProvider(f.s.issuerUrl)
    const trust = irsaTrust(provider, f.s.providerUrl, 'system:serviceaccount:default:js')
    const writerArn = await f.s.addRole('js-writer', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:*'],
            Resource: ['arn:aws:s3:::js-bucket', 'arn:aws:s3:::js-bucket/*'],
          },
          { Effect: 'Allow', Action: 'sqs:*', Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:js-*` },
        ],
      },
    })
    const readerArn = await f.s.addRole('js-reader', trust, {
      inline: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::js-bucket/public/*' },
          {
            Effect: 'Allow',
            Action: ['sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
            Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:js-q`,
          },
        ],
      },
    })
    const token = await f.s.token({ namespace: 'default', serviceAccount: 'js' })
    writer = await irsaCredentials(f.s.server.baseUrl, writerArn, token)
    reader = await irsaCredentials(f.s.server.baseUrl, readerArn, token)
    await s3(writer).send(new CreateBucketCommand({ Bucket: 'js-bucket' }))
  })
  after(async () => f?.close())

  void test('PutObject, a streamed PutObject (aws-chunked + trailing CRC32) and GetObject', async () => {
    const client = s3(writer)
    await client.send(
      new PutObjectCommand({ Bucket: 'js-bucket', Key: 'public/hello.txt', Body: 'hello from js' }),
    )
    await client.send(
      new PutObjectCommand({
        Bucket: 'js-bucket',
        Key: 'public/stream.txt',
        Body: Readable.from([Buffer.from('chunk-one '), Buffer.from('chunk-two')]),
        ContentLength: 19,
      }),
    )
    // The SDK streamed the Readable as aws-chunked with a trailing checksum (what the gateway verified).
    await f.gateway.flushAudit()
    const rows = await f.s.server.ctx.db.all<{ event: string }>(
      "SELECT event FROM audit_events WHERE event_name = 'PutObject'",
    )
    const streamed = rows
      .map(
        (r) =>
          JSON.parse(r.event) as {
            requestParameters: { key?: string }
            additionalEventData: Record<string, string>
          },
      )
      .find((e) => e.requestParameters.key === 'public/stream.txt')
    assert.equal(
      streamed?.additionalEventData['x-amz-content-sha256'],
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    )
    const got = await s3(reader).send(
      new GetObjectCommand({ Bucket: 'js-bucket', Key: 'public/stream.txt' }),
    )
    assert.equal(await got.Body?.transformToString(), 'chunk-one chunk-two')
    const hello = await s3(reader).send(
      new GetObjectCommand({ Bucket: 'js-bucket', Key: 'public/hello.txt' }),
    )
    assert.equal(await hello.Body?.transformToString(), 'hello from js')
  })

  void test('a denied PutObject is S3 AccessDenied (403) in the SDK', async () => {
    await assert.rejects(
      s3(reader).send(
        new PutObjectCommand({ Bucket: 'js-bucket', Key: 'public/x.txt', Body: 'x' }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, 'AccessDenied')
        assert.equal(err.$metadata?.httpStatusCode, 403)
        assert.match(
          err.message,
          /is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::js-bucket\/public\/x.txt"/,
        )
        return true
      },
    )
  })

  void test('50 MiB multipart upload with @aws-sdk/lib-storage', async () => {
    const size = 50 * 1024 * 1024
    const part = Buffer.alloc(1024 * 1024, 'z')
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < size / part.length; i++) yield part
      })(),
    )
    const upload = new Upload({
      client: s3(writer),
      params: { Bucket: 'js-bucket', Key: 'big/js.bin', Body: body },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    })
    const out = await upload.done()
    assert.match(out.ETag ?? '', /-7"$/)
    const head = await s3(writer).send(
      new HeadObjectCommand({ Bucket: 'js-bucket', Key: 'big/js.bin' }),
    )
    assert.equal(head.ContentLength, size)
  })

  void test('SQS JSON protocol: send, receive, delete; denied for the reader', async () => {
    const w = sqs(writer)
    await w.send(new CreateQueueCommand({ QueueName: 'js-q' }))
    const { QueueUrl } = await w.send(new GetQueueUrlCommand({ QueueName: 'js-q' }))
    assert.equal(QueueUrl, `${f.gateway.url}/${ACCOUNT}/js-q`)
    await w.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hi from js' }))
    const r = await sqs(reader).send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }))
    assert.equal(r.Messages?.[0]?.Body, 'hi from js')
    await assert.rejects(
      sqs(reader).send(
        new DeleteMessageCommand({ QueueUrl, ReceiptHandle: r.Messages?.[0]?.ReceiptHandle }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, 'AccessDenied')
        assert.equal(err.$metadata?.httpStatusCode, 403)
        return true
      },
    )
    await w.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: r.Messages?.[0]?.ReceiptHandle }),
    )
  })
})
