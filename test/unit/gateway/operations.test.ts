/**
 * S3 REST and SQS requests → IAM action, resource and condition keys, as the Service Authorization Reference
 * lists them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html) and the S3 API
 * reference names each call's method and sub-resource.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { S3MappingError } from '../../../src/gateway/s3-operations.ts'
import {
  mapS3Request,
  parseCopySource,
  parseTaggingXml,
} from '../../../src/gateway/s3-operations.ts'
import type { SqsMappingError } from '../../../src/gateway/sqs-operations.ts'
import { parseSqsRequest, queueFromUrl } from '../../../src/gateway/sqs-operations.ts'

function s3(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  host = '127.0.0.1:9000',
) {
  const q = target.indexOf('?')
  const query = q === -1 ? '' : target.slice(q + 1)
  return mapS3Request({
    method,
    path: q === -1 ? target : target.slice(0, q),
    query:
      query === ''
        ? []
        : query.split('&').map((p) => {
            const eq = p.indexOf('=')
            return (
              eq === -1
                ? [decodeURIComponent(p), '']
                : [decodeURIComponent(p.slice(0, eq)), decodeURIComponent(p.slice(eq + 1))]
            ) as [string, string]
          }),
    headers: new Map(Object.entries(headers)),
    host,
    baseHosts: ['localhost', 's3.example.test'],
  })
}

const checks = (op: ReturnType<typeof s3>) => op.checks.map((c) => [c.action, c.resource])

void describe('S3 REST → IAM', () => {
  const table: [string, string, string, [string, string][], Record<string, string>?][] = [
    ['GET', '/', 'ListBuckets', [['s3:ListAllMyBuckets', '*']]],
    [
      'GET',
      '/bkt?list-type=2&prefix=dir%2F&delimiter=%2F&max-keys=10',
      'ListObjectsV2',
      [['s3:ListBucket', 'arn:aws:s3:::bkt']],
    ],
    ['GET', '/bkt/', 'ListObjects', [['s3:ListBucket', 'arn:aws:s3:::bkt']]],
    ['HEAD', '/bkt', 'HeadBucket', [['s3:ListBucket', 'arn:aws:s3:::bkt']]],
    ['PUT', '/bkt', 'CreateBucket', [['s3:CreateBucket', 'arn:aws:s3:::bkt']]],
    ['DELETE', '/bkt', 'DeleteBucket', [['s3:DeleteBucket', 'arn:aws:s3:::bkt']]],
    [
      'GET',
      '/bkt/dir/k.txt?x-id=GetObject',
      'GetObject',
      [['s3:GetObject', 'arn:aws:s3:::bkt/dir/k.txt']],
    ],
    ['GET', '/bkt/k?versionId=v1', 'GetObject', [['s3:GetObjectVersion', 'arn:aws:s3:::bkt/k']]],
    ['HEAD', '/bkt/k', 'HeadObject', [['s3:GetObject', 'arn:aws:s3:::bkt/k']]],
    ['PUT', '/bkt/mpu%20key', 'PutObject', [['s3:PutObject', 'arn:aws:s3:::bkt/mpu key']]],
    ['DELETE', '/bkt/k', 'DeleteObject', [['s3:DeleteObject', 'arn:aws:s3:::bkt/k']]],
    ['POST', '/bkt/k?uploads', 'CreateMultipartUpload', [['s3:PutObject', 'arn:aws:s3:::bkt/k']]],
    ['POST', '/bkt/k?uploads=', 'CreateMultipartUpload', [['s3:PutObject', 'arn:aws:s3:::bkt/k']]],
    [
      'PUT',
      '/bkt/k?partNumber=1&uploadId=u',
      'UploadPart',
      [['s3:PutObject', 'arn:aws:s3:::bkt/k']],
    ],
    [
      'POST',
      '/bkt/k?uploadId=u',
      'CompleteMultipartUpload',
      [['s3:PutObject', 'arn:aws:s3:::bkt/k']],
    ],
    [
      'DELETE',
      '/bkt/k?uploadId=u',
      'AbortMultipartUpload',
      [['s3:AbortMultipartUpload', 'arn:aws:s3:::bkt/k']],
    ],
    [
      'GET',
      '/bkt/k?uploadId=u',
      'ListParts',
      [['s3:ListMultipartUploadParts', 'arn:aws:s3:::bkt/k']],
    ],
    [
      'GET',
      '/bkt?uploads',
      'ListMultipartUploads',
      [['s3:ListBucketMultipartUploads', 'arn:aws:s3:::bkt']],
    ],
    ['PUT', '/bkt/k?tagging', 'PutObjectTagging', [['s3:PutObjectTagging', 'arn:aws:s3:::bkt/k']]],
    ['GET', '/bkt/k?tagging', 'GetObjectTagging', [['s3:GetObjectTagging', 'arn:aws:s3:::bkt/k']]],
    [
      'GET',
      '/bkt/k?tagging&versionId=v',
      'GetObjectTagging',
      [['s3:GetObjectVersionTagging', 'arn:aws:s3:::bkt/k']],
    ],
    [
      'DELETE',
      '/bkt/k?tagging',
      'DeleteObjectTagging',
      [['s3:DeleteObjectTagging', 'arn:aws:s3:::bkt/k']],
    ],
    ['PUT', '/bkt?policy', 'PutBucketPolicy', [['s3:PutBucketPolicy', 'arn:aws:s3:::bkt']]],
    ['GET', '/bkt?policy', 'GetBucketPolicy', [['s3:GetBucketPolicy', 'arn:aws:s3:::bkt']]],
    [
      'DELETE',
      '/bkt?policy',
      'DeleteBucketPolicy',
      [['s3:DeleteBucketPolicy', 'arn:aws:s3:::bkt']],
    ],
    ['GET', '/bkt?location', 'GetBucketLocation', [['s3:GetBucketLocation', 'arn:aws:s3:::bkt']]],
    [
      'PUT',
      '/dst/k2',
      'CopyObject',
      [
        ['s3:PutObject', 'arn:aws:s3:::dst/k2'],
        ['s3:GetObject', 'arn:aws:s3:::src/a b'],
      ],
      { 'x-amz-copy-source': '/src/a%20b' },
    ],
    [
      'PUT',
      '/dst/k2?partNumber=2&uploadId=u',
      'UploadPartCopy',
      [
        ['s3:PutObject', 'arn:aws:s3:::dst/k2'],
        ['s3:GetObjectVersion', 'arn:aws:s3:::src/a'],
      ],
      { 'x-amz-copy-source': 'src/a?versionId=3' },
    ],
  ]
  for (const [method, target, name, expected, headers] of table)
    void test(`${method} ${target} → ${name}`, () => {
      const op = s3(method, target, headers)
      assert.equal(op.name, name)
      assert.deepEqual(checks(op), expected)
    })

  void test('list condition keys s3:prefix, s3:delimiter, s3:max-keys', () => {
    const op = s3('GET', '/bkt?list-type=2&prefix=dir%2F&delimiter=%2F&max-keys=10')
    assert.deepEqual(op.checks[0]?.context, {
      's3:prefix': 'dir/',
      's3:delimiter': '/',
      's3:max-keys': '10',
    })
    assert.deepEqual(s3('GET', '/bkt?list-type=2').checks[0]?.context, {})
  })

  void test('PutObject condition keys from headers: SSE, ACL, s3:RequestObjectTag/*', () => {
    const op = s3('PUT', '/bkt/k', {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-acl': 'private',
      'x-amz-tagging': 'team=blue&cost%20center=42',
    })
    assert.deepEqual(op.checks[0]?.context, {
      's3:x-amz-server-side-encryption': 'aws:kms',
      's3:x-amz-acl': 'private',
      's3:RequestObjectTag/team': 'blue',
      's3:RequestObjectTag/cost center': '42',
      's3:RequestObjectTagKeys': ['team', 'cost center'],
    })
  })

  void test('object checks carry the object for s3:ExistingObjectTag/*', () => {
    assert.deepEqual(s3('GET', '/bkt/k?versionId=7').checks[0]?.object, {
      bucket: 'bkt',
      key: 'k',
      versionId: '7',
    })
    assert.equal(s3('PUT', '/bkt/k').checks[0]?.object, undefined)
  })

  void test('virtual-hosted style: bucket from Host', () => {
    const op = s3('GET', '/dir/k', {}, 'my-bucket.s3.example.test:9000')
    assert.equal(op.name, 'GetObject')
    assert.equal(op.virtualHosted, true)
    assert.deepEqual(checks(op), [['s3:GetObject', 'arn:aws:s3:::my-bucket/dir/k']])
    assert.deepEqual(checks(s3('GET', '/?list-type=2', {}, 'logs.localhost:9000')), [
      ['s3:ListBucket', 'arn:aws:s3:::logs'],
    ])
  })

  void test('unsupported sub-resources answer NotImplemented (501); bad names InvalidBucketName', () => {
    assert.throws(
      () => s3('GET', '/bkt?website'),
      (e: S3MappingError) => e.code === 'NotImplemented' && e.status === 501,
    )
    assert.throws(
      () => s3('GET', '/bkt/k?torrent'),
      (e: S3MappingError) => e.code === 'NotImplemented',
    )
    assert.throws(
      () => s3('GET', '/B*d/k'),
      (e: S3MappingError) => e.code === 'InvalidBucketName',
    )
    assert.throws(
      () => s3('POST', '/'),
      (e: S3MappingError) => e.code === 'MethodNotAllowed',
    )
  })

  void test('copy source and tagging parsers', () => {
    assert.deepEqual(parseCopySource('bucket/dir%2Fa.txt?versionId=x'), {
      bucket: 'bucket',
      key: 'dir/a.txt',
      versionId: 'x',
    })
    assert.throws(() => parseCopySource('/onlybucket'))
    assert.deepEqual(
      parseTaggingXml(
        '<Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>1</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>',
      ),
      [
        ['a&b', '1'],
        ['c', ''],
      ],
    )
  })
})

void describe('SQS → IAM', () => {
  const base = { path: '/', query: '', region: 'us-east-1', defaultAccount: '111122223333' }
  const json = (op: string, body: object) =>
    parseSqsRequest({ ...base, target: `AmazonSQS.${op}`, body: JSON.stringify(body) })
  const q = (body: string, path = '/') =>
    parseSqsRequest({ ...base, target: undefined, body, path })
  const url = 'http://127.0.0.1:4567/111122223333/jobs'

  const table: [string, object, string, string][] = [
    [
      'SendMessage',
      { QueueUrl: url, MessageBody: 'x' },
      'sqs:SendMessage',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'SendMessageBatch',
      { QueueUrl: url, Entries: [] },
      'sqs:SendMessage',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'ReceiveMessage',
      { QueueUrl: url },
      'sqs:ReceiveMessage',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'DeleteMessage',
      { QueueUrl: url, ReceiptHandle: 'r' },
      'sqs:DeleteMessage',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'DeleteMessageBatch',
      { QueueUrl: url, Entries: [] },
      'sqs:DeleteMessage',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'ChangeMessageVisibilityBatch',
      { QueueUrl: url, Entries: [] },
      'sqs:ChangeMessageVisibility',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'GetQueueAttributes',
      { QueueUrl: url },
      'sqs:GetQueueAttributes',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'SetQueueAttributes',
      { QueueUrl: url, Attributes: {} },
      'sqs:SetQueueAttributes',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    ['ListQueues', {}, 'sqs:ListQueues', '*'],
    [
      'CreateQueue',
      { QueueName: 'new.fifo' },
      'sqs:CreateQueue',
      'arn:aws:sqs:us-east-1:111122223333:new.fifo',
    ],
    [
      'DeleteQueue',
      { QueueUrl: url },
      'sqs:DeleteQueue',
      'arn:aws:sqs:us-east-1:111122223333:jobs',
    ],
    [
      'GetQueueUrl',
      { QueueName: 'jobs', QueueOwnerAWSAccountId: '444455556666' },
      'sqs:GetQueueUrl',
      'arn:aws:sqs:us-east-1:444455556666:jobs',
    ],
  ]
  for (const [op, body, action, resource] of table)
    void test(`JSON ${op} → ${action} on ${resource}`, () => {
      const r = json(op, body)
      assert.equal(r.protocol, 'json')
      assert.equal(r.action, action)
      assert.equal(r.resource, resource)
    })

  void test('query protocol: Action= form, queue from QueueUrl or from the path', () => {
    const a = q(
      `Action=SendMessage&QueueUrl=${encodeURIComponent(url)}&MessageBody=hi&Version=2012-11-05`,
    )
    assert.deepEqual(
      [a.protocol, a.action, a.resource],
      ['query', 'sqs:SendMessage', 'arn:aws:sqs:us-east-1:111122223333:jobs'],
    )
    const b = q('Action=ReceiveMessage&Version=2012-11-05', '/111122223333/jobs')
    assert.equal(b.resource, 'arn:aws:sqs:us-east-1:111122223333:jobs')
  })

  void test('CreateQueue tags are aws:RequestTag/*', () => {
    assert.deepEqual(json('CreateQueue', { QueueName: 'q', tags: { team: 'a' } }).requestTags, [
      { key: 'team', value: 'a' },
    ])
    assert.deepEqual(q('Action=CreateQueue&QueueName=q&Tag.1.Key=team&Tag.1.Value=b').requestTags, [
      { key: 'team', value: 'b' },
    ])
  })

  void test('unknown operations, malformed JSON and missing queue URLs are refused', () => {
    assert.throws(
      () => json('PurgeEverything', {}),
      (e: SqsMappingError) => e.code === 'UnknownOperationException',
    )
    assert.throws(
      () => parseSqsRequest({ ...base, target: 'AmazonSQS.SendMessage', body: '[' }),
      (e: SqsMappingError) => e.code === 'SerializationException',
    )
    assert.throws(
      () => json('SendMessage', { MessageBody: 'x' }),
      (e: SqsMappingError) => e.code === 'MissingParameter',
    )
    assert.throws(
      () => json('SendMessage', { QueueUrl: 'http://x/notanaccount/q' }),
      (e: SqsMappingError) => e.code === 'InvalidAddress',
    )
    assert.equal(
      queueFromUrl('https://sqs.us-east-1.amazonaws.com/123456789012/q-1'.replace('q-1', 'q_1'))
        ?.name,
      'q_1',
    )
  })
})
