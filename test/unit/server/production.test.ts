/**
 * The production pieces of the server, pure: the per-source token bucket, the retryable answers in each API's
 * wire form (AWS common errors https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html; EKS
 * restJson1 ServiceUnavailableException/ThrottlingException; Entra OAuth errors; google.rpc status codes),
 * the audit event bounds and redaction, the query helpers.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Hono } from 'hono'
import { boundEvent, MAX_FIELD_BYTES } from '../../../src/audit/bounds.ts'
import { csvRow, parseTimeBound } from '../../../src/audit/query.ts'
import { redactParameterValue, redactString } from '../../../src/audit/redact.ts'
import type { AuditEvent } from '../../../src/audit/types.ts'
import { createRateLimiter } from '../../../src/server/rate-limit.ts'
import {
  apiFamilyOf,
  throttledResponse,
  unavailableResponse,
} from '../../../src/server/retryable.ts'

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  eventVersion: '1.08',
  eventTime: '2026-12-06T00:00:00Z',
  eventSource: 'sts.amazonaws.com',
  eventName: 'GetCallerIdentity',
  awsRegion: 'us-east-1',
  sourceIPAddress: '10.0.0.1',
  userAgent: 'ua',
  userIdentity: { type: 'Unknown' },
  requestParameters: null,
  responseElements: null,
  requestID: 'r',
  eventID: 'e',
  readOnly: true,
  eventType: 'AwsApiCall',
  ...over,
})

void describe('rate limiter', () => {
  void it('a source is refused once its bucket is empty and served again as it refills', () => {
    let t = 0
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => t })
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter('a'), 0)
      limiter.charge('a', 1)
    }
    assert.ok(limiter.retryAfter('a') > 0)
    assert.equal(limiter.retryAfter('b'), 0, 'other sources unaffected')
    t += 500
    assert.equal(limiter.retryAfter('a'), 0, 'refilled one token in 0.5 s at 2/s')
  })
  void it('rate 0 disables; the table is bounded', () => {
    const off = createRateLimiter({ ratePerSecond: 0, burst: 1 })
    off.charge('a', 100)
    assert.equal(off.retryAfter('a'), 0)
    const small = createRateLimiter({ ratePerSecond: 1, burst: 1, maxSources: 10 })
    for (let i = 0; i < 100; i++) small.charge(`s${i}`, 1)
    assert.ok(small.size <= 10)
  })
})

void describe('retryable answers', () => {
  void it('routes paths to their API family', () => {
    assert.equal(apiFamilyOf('/'), 'aws-query')
    assert.equal(apiFamilyOf('/sts/v1'), 'aws-query')
    assert.equal(apiFamilyOf('/clusters/c/assume-role-for-pod-identity'), 'aws-rest')
    assert.equal(apiFamilyOf('/tenant-id/oauth2/v2.0/token'), 'entra')
    assert.equal(apiFamilyOf('/v1/token'), 'google')
    assert.equal(apiFamilyOf('/readyz'), 'plain')
  })
  void it('503 in each wire form, with Retry-After', async () => {
    const q = unavailableResponse('/')
    assert.equal(q.status, 503)
    assert.match(await q.text(), /<Type>Receiver<\/Type><Code>ServiceUnavailable<\/Code>/)
    const eks = unavailableResponse('/clusters/x')
    assert.equal(eks.headers.get('x-amzn-errortype'), 'ServiceUnavailableException')
    const entra = (await unavailableResponse('/t/oauth2/v2.0/token').json()) as {
      error: string
      error_codes: number[]
    }
    assert.deepEqual([entra.error, entra.error_codes], ['temporarily_unavailable', [90033]])
    const google = (await unavailableResponse('/v1/token').json()) as {
      error: { status: string; code: number }
    }
    assert.deepEqual(google.error.status, 'UNAVAILABLE')
    assert.equal(q.headers.get('retry-after'), '1')
  })
  void it('throttling in each wire form', async () => {
    const q = throttledResponse('/', 2.2)
    assert.equal(q.status, 400)
    assert.match(
      await q.text(),
      /<Type>Sender<\/Type><Code>Throttling<\/Code><Message>Rate exceeded<\/Message>/,
    )
    assert.equal(q.headers.get('retry-after'), '3')
    assert.equal(
      throttledResponse('/clusters/x', 1).headers.get('x-amzn-errortype'),
      'ThrottlingException',
    )
    assert.equal(throttledResponse('/v1/token', 1).status, 429)
  })
})

void describe('audit bounds and redaction', () => {
  void it('cuts long strings, omits oversize fields, marks the event', () => {
    const small = boundEvent(event({ requestParameters: { a: 'x' } }))
    assert.equal(small.omitted, undefined)
    const long = boundEvent(event({ requestParameters: { a: 'x'.repeat(5000) } }))
    assert.equal(long.omitted, true)
    assert.match(String(long.requestParameters!['a']), /…\[truncated 2952 chars\]$/)
    const many = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`k${i}`, 'y'.repeat(200)]),
    )
    const huge = boundEvent(event({ requestParameters: many }))
    assert.equal(huge.requestParameters!['omitted'], true)
    assert.ok(JSON.stringify(huge).length < MAX_FIELD_BYTES)
    assert.equal(boundEvent(event({ userAgent: 'u'.repeat(5000) })).userAgent.length < 1100, true)
  })
  void it('an event within the bounds is kept whole, whichever path proves it', () => {
    const typical = event({
      requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/app', roleSessionName: 's' },
      responseElements: {
        assumedRoleUser: { arn: 'arn:aws:sts::111122223333:assumed-role/app/s' },
      },
      additionalEventData: { tokenIssueTime: '2026-12-06T00:00:00.000Z' },
    })
    assert.deepEqual(boundEvent(structuredClone(typical)), typical)
    // 7 strings of 2000 characters: 14 KB as JSON, under the field bound, though 6 bytes per character
    // (the cheap upper bound) would exceed it; nothing may be omitted or cut.
    const near = event({
      requestParameters: Object.fromEntries(
        Array.from({ length: 7 }, (_, i) => [`k${i}`, 'z'.repeat(2000)]),
      ),
    })
    const kept = boundEvent(structuredClone(near))
    assert.equal(kept.omitted, undefined)
    assert.deepEqual(kept, near)
    // Escaped characters count as JSON bytes: 3000 control characters become 18 KB of `\u0001`.
    const escaped = boundEvent(
      event({ requestParameters: { a: '\u0001'.repeat(1500), b: '\u0001'.repeat(1500) } }),
    )
    assert.equal(escaped.omitted, true)
    assert.equal(escaped.requestParameters!['omitted'], true)
    // Keys over 256 characters, arrays over 1000 items and depth over 12 are cut as before.
    assert.equal(
      boundEvent(event({ userIdentity: { type: 'x', ['k'.repeat(300)]: 1 } })).omitted,
      true,
    )
    assert.equal(
      boundEvent(event({ requestParameters: { a: Array.from({ length: 1001 }, () => 1) } }))
        .omitted,
      true,
    )
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 14; i++) deep = { d: deep }
    assert.equal(boundEvent(event({ requestParameters: deep })).omitted, true)
    // An absent field is stored as null, as CloudTrail writes it.
    const absent: Partial<AuditEvent> = event()
    delete absent.requestParameters
    assert.equal(boundEvent(absent as AuditEvent).requestParameters, null)
  })
  void it('redacts secret shapes', () => {
    assert.equal(redactParameterValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), '***')
    assert.equal(
      redactParameterValue('arn:aws:iam::111122223333:role/app'),
      'arn:aws:iam::111122223333:role/app',
    )
    assert.equal(redactParameterValue('my-session'), 'my-session')
    assert.equal(redactString(`x PT1${'0'.repeat(12)}${'Q'.repeat(60)} y`), 'x *** y')
    assert.equal(
      redactString('a -----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY----- b'),
      'a *** b',
    )
  })
})

void describe('audit query helpers', () => {
  void it('time bounds: RFC 3339 or a duration ago', () => {
    const now = new Date('2026-12-06T12:00:00Z')
    assert.equal(parseTimeBound('15m', now, '--since').toISOString(), '2026-12-06T11:45:00.000Z')
    assert.equal(
      parseTimeBound('2026-12-01T00:00:00Z', now, '--since').toISOString(),
      '2026-12-01T00:00:00.000Z',
    )
    assert.throws(() => parseTimeBound('yesterday', now, '--since'), /--since must be/)
  })
  void it('CSV: RFC 4180 quoting, formula cells neutralised', () => {
    const row = csvRow(
      event({
        userAgent: 'a,"b"',
        errorCode: 'AccessDenied',
        userIdentity: { type: 'IAMUser', arn: '=cmd()' },
      }),
      null,
    )
    assert.match(row, /,Deny,AccessDenied,'=cmd\(\),,10\.0\.0\.1,"a,""b""",r,e$/)
  })
})

void describe('readiness', () => {
  void it('/readyz follows the store, and answers 503 while draining; a store outage elsewhere is a 503', async () => {
    const { createApp } = await import('../../../src/server/app.ts')
    const { createMetrics } = await import('../../../src/server/metrics.ts')
    const { StoreError } = await import('../../../src/store/errors.ts')
    const { silentLogger } = await import('../../../src/server/logger.ts')
    let down = false
    let draining = false
    const db = {
      engine: 'postgres',
      get: async () => {
        if (down) throw new StoreError('STORE_UNAVAILABLE', 'the PostgreSQL store is unavailable')
        return { ok: 1 }
      },
    }
    const failing = {
      name: 'failing',
      mount(app: Hono) {
        app.get('/v1/projects/p', async () => {
          throw new StoreError('STORE_UNAVAILABLE', 'down')
        })
      },
    }
    const app = createApp({ db, log: silentLogger } as never, {
      modules: [failing] as never,
      metrics: createMetrics({ defaultMetrics: false }),
      isReady: () => true,
      isDraining: () => draining,
    })
    assert.equal((await app.request('/readyz')).status, 200)
    down = true
    assert.equal((await app.request('/readyz')).status, 503)
    down = false
    assert.equal((await app.request('/readyz')).status, 200)
    draining = true
    assert.deepEqual(await (await app.request('/readyz')).json(), { status: 'draining' })
    const google = await app.request('/v1/projects/p')
    assert.equal(google.status, 503)
    assert.equal(
      ((await google.json()) as { error: { status: string } }).error.status,
      'UNAVAILABLE',
    )
  })
})
