import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import {
  createHttpObserver,
  exemptFromLimit,
  sourceAddress,
} from '../../../src/server/http-observer.ts'
import { createLogger } from '../../../src/server/logger.ts'
import { createMetrics } from '../../../src/server/metrics.ts'
import { createRateLimiter } from '../../../src/server/rate-limit.ts'

function observed(logRequests: boolean) {
  const stream = new PassThrough()
  let logged = ''
  stream.on('data', (c: Buffer) => (logged += c.toString()))
  const metrics = createMetrics({ defaultMetrics: false })
  const observer = createHttpObserver({
    metrics,
    log: createLogger({ stream, level: 'info' }),
    rateLimiter: createRateLimiter({ ratePerSecond: 0.001, burst: 2 }),
    logRequests,
  })
  return { observer, metrics, logs: () => logged }
}

const request = {
  method: 'POST',
  path: '/',
  source: '10.0.0.1',
  limited: true,
  unauthenticated: true,
  startedAt: process.hrtime.bigint(),
}

void describe('http observer', () => {
  void it('exempts probes, metrics and public keys from the limit; unwraps IPv4-mapped sources', () => {
    assert.equal(exemptFromLimit('/healthz'), true)
    assert.equal(exemptFromLimit('/issuers/a/.well-known/openid-configuration'), true)
    assert.equal(exemptFromLimit('/openid/v1/jwks'), true)
    assert.equal(exemptFromLimit('/'), false)
    assert.equal(sourceAddress('::ffff:10.1.2.3'), '10.1.2.3')
    assert.equal(sourceAddress(undefined), 'unknown')
  })

  void it('charges failures in full and anonymous successes a fifth', () => {
    const { observer } = observed(false)
    assert.equal(observer.limits('/'), true)
    assert.equal(observer.limits('/healthz'), false)
    for (let i = 0; i < 4; i++) observer.finish({ ...request, status: 200 })
    assert.equal(
      observer.retryAfter('10.0.0.1'),
      0,
      'four anonymous successes cost 0.8 of a burst of 2',
    )
    observer.finish({ ...request, status: 400 })
    assert.ok(observer.retryAfter('10.0.0.1') > 0)
    // 503 is the server's fault: never charged.
    const other = observed(false).observer
    other.finish({ ...request, status: 503 })
    assert.equal(other.retryAfter('10.0.0.1'), 0)
  })

  void it('counts every request, logs failures always and the rest only when asked', async () => {
    const quiet = observed(false)
    quiet.observer.finish({ ...request, status: 200 })
    quiet.observer.finish({ ...request, status: 200 })
    quiet.observer.finish({ ...request, path: '/x/y', status: 502 })
    quiet.observer.throttled(true)
    const text = await quiet.metrics.registry.metrics()
    assert.match(text, /podtrust_http_requests_total\{method="POST",route="\/",status="200"\} 2/)
    assert.match(text, /podtrust_http_requests_total\{method="POST",route="other",status="502"\} 1/)
    assert.match(text, /podtrust_http_request_duration_seconds_count\{method="POST",route="\/"\} 2/)
    assert.match(text, /podtrust_throttled_requests_total\{reason="unauthenticated"\} 1/)
    const lines = quiet.logs().trim().split('\n')
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /"level":"warn".*"path":"\/x\/y".*"status":502/)
    const chatty = observed(true)
    chatty.observer.finish({ ...request, status: 200 })
    assert.match(chatty.logs(), /"level":"info".*"http.request"/)
  })
})
