/**
 * The gateway's error bodies in each service's wire form (S3 "Error responses",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; SQS JSON errors with
 * x-amzn-query-error, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html),
 * the access-denied sentence per deciding policy type
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html), and the batched
 * data-event writer.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AuditEvent } from '../../../src/audit/types.ts'
import { boundParameters, createDataEventBuffer, dataEvent } from '../../../src/gateway/audit.ts'
import {
  accessDeniedMessage,
  denialPolicy,
  s3ErrorResponse,
  sqsErrorResponse,
} from '../../../src/gateway/errors.ts'

void describe('gateway errors', () => {
  void test('S3 XML with extra elements, RequestId, HostId; HEAD has no body', () => {
    const r = s3ErrorResponse(
      {
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        status: 403,
        extra: [['AWSAccessKeyId', 'AKIA<x>']],
      },
      'REQ1',
      'HOST1',
    )
    assert.equal(r.status, 403)
    assert.equal(r.headers['x-amz-request-id'], 'REQ1')
    assert.equal(
      r.body,
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>AKIA&lt;x&gt;</AWSAccessKeyId><RequestId>REQ1</RequestId><HostId>HOST1</HostId></Error>',
    )
    assert.equal(
      s3ErrorResponse({ code: 'NoSuchKey', message: 'x', status: 404 }, 'R', 'H', true).body,
      '',
    )
  })

  void test('SQS JSON (__type, x-amzn-query-error) and query XML', () => {
    const json = sqsErrorResponse({ code: 'AccessDenied', message: 'no', status: 403 }, 'json', 'R')
    assert.equal(json.headers['x-amzn-query-error'], 'AccessDenied;Sender')
    assert.deepEqual(JSON.parse(json.body), {
      __type: 'com.amazon.coral.service#AccessDeniedException',
      message: 'no',
    })
    const fault = sqsErrorResponse(
      { code: 'InternalFailure', message: 'x', status: 500 },
      'json',
      'R',
    )
    assert.equal(fault.headers['x-amzn-query-error'], 'InternalFailure;Receiver')
    const xml = sqsErrorResponse(
      {
        code: 'AWS.SimpleQueueService.NonExistentQueue',
        message: 'The specified queue does not exist.',
        status: 400,
      },
      'query',
      'R',
    )
    assert.match(
      xml.body,
      /<Type>Sender<\/Type><Code>AWS.SimpleQueueService.NonExistentQueue<\/Code>/,
    )
  })

  void test('the deciding policy type in the access-denied sentence', () => {
    const m = (policyType: string, effect: 'Allow' | 'Deny') => ({ policyType, effect })
    assert.equal(
      denialPolicy(
        { decision: 'ExplicitlyDenied', blockedBy: [], matched: [m('resource', 'Deny')] },
        false,
      ),
      'resource-based policy',
    )
    assert.equal(
      denialPolicy(
        { decision: 'ExplicitlyDenied', blockedBy: [], matched: [m('inline', 'Deny')] },
        false,
      ),
      'identity-based policy',
    )
    assert.equal(
      denialPolicy(
        { decision: 'ImplicitlyDenied', blockedBy: ['pb'], matched: [m('inline', 'Allow')] },
        false,
      ),
      'permissions boundary',
    )
    assert.equal(
      denialPolicy(
        { decision: 'ImplicitlyDenied', blockedBy: [], matched: [m('inline', 'Allow')] },
        true,
      ),
      'session policy',
    )
    assert.equal(
      denialPolicy({ decision: 'ImplicitlyDenied', blockedBy: [], matched: [] }, true),
      'identity-based policy',
    )
    assert.equal(
      accessDeniedMessage({
        principalArn: 'arn:aws:iam::1:user/u',
        action: 's3:GetObject',
        resource: '"arn:aws:s3:::b/k"',
        explicit: true,
        policy: 'identity-based policy',
      }),
      'User: arn:aws:iam::1:user/u is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" with an explicit deny in an identity-based policy',
    )
  })
})

void describe('gateway data events', () => {
  const event = () =>
    dataEvent({
      now: new Date('2026-12-06T10:00:00.123Z'),
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      region: 'us-east-1',
      sourceIp: '127.0.0.1',
      userAgent: 'ua',
      userIdentity: { type: 'IAMUser' },
      requestParameters: {
        bucketName: 'b',
        key: 'k'.repeat(1000),
        token: 'secret',
        n: 3,
        obj: { a: 1 },
      },
      resources: [{ type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::b/k' }],
      requestId: 'R',
      eventId: 'E',
      readOnly: true,
      recipientAccountId: '111122223333',
    })

  void test('CloudTrail data-event shape, bounded and redacted parameters', () => {
    const e = event()
    assert.equal(e.eventCategory, 'Data')
    assert.equal(e.managementEvent, false)
    assert.equal(e.eventTime, '2026-12-06T10:00:00Z')
    const p = e.requestParameters as Record<string, unknown>
    assert.equal((p['key'] as string).length, 257)
    assert.notEqual(p['token'], 'secret')
    assert.equal(p['obj'], '[omitted]')
    assert.equal(
      Object.keys(
        boundParameters(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))),
      ).length,
      16,
    )
  })

  void test('allowed-call events are written together, and flush() waits for them', async () => {
    const recorded: AuditEvent[][] = []
    let tick: AuditEvent[] = []
    const sink = {
      record: (ev: AuditEvent) => {
        tick.push(ev)
        if (tick.length === 1)
          queueMicrotask(() => {
            recorded.push(tick)
            tick = []
          })
        return Promise.resolve()
      },
    }
    const buffer = createDataEventBuffer(sink, () => assert.fail('no error expected'), {
      delayMs: 10_000,
      max: 3,
    })
    buffer.add(event())
    buffer.add(event())
    assert.equal(recorded.length, 0, 'held until the window or the batch size')
    buffer.add(event())
    await buffer.flush()
    assert.deepEqual(
      recorded.map((b) => b.length),
      [3],
    )
    buffer.add(event())
    await buffer.flush()
    assert.deepEqual(
      recorded.map((b) => b.length),
      [3, 1],
    )
  })
})
