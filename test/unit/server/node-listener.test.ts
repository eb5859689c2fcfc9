import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import type { AppContext } from '../../../src/app/context.ts'
import type { NodeRoute } from '../../../src/app/module.ts'
import { createHttpObserver } from '../../../src/server/http-observer.ts'
import { createLogger } from '../../../src/server/logger.ts'
import { createMetrics } from '../../../src/server/metrics.ts'
import { createNodeListener } from '../../../src/server/node-listener.ts'
import { createRateLimiter } from '../../../src/server/rate-limit.ts'
import { startServer } from '../../../src/server/start.ts'
import { StoreError } from '../../../src/store/errors.ts'

interface Raw {
  status: number
  headers: string[]
  body: string
}

function post(port: number, path: string, body: string, type: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.rawHeaders, body: text }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g
/** Header names in order and values, with request ids and the date masked. */
function shape(r: Raw): Raw {
  const headers = r.headers.map((h, i) =>
    i % 2 === 1 && r.headers[i - 1] === 'Date' ? 'DATE' : h.replace(UUID, 'ID'),
  )
  return { status: r.status, headers, body: r.body.replace(UUID, 'ID') }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  )
}

void describe('node listener', () => {
  void it('answers an awsQuery form POST to / exactly as the route table does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-node-listener-'))
    const server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' })
    try {
      const port = Number(new URL(server.baseUrl).port)
      const form = 'application/x-www-form-urlencoded; charset=utf-8'
      const bodies = [
        'Version=2011-06-15',
        'Action=Nope&Version=2011-06-15',
        'Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/x&RoleSessionName=s&WebIdentityToken=abcd.efgh.ijkl',
        'Action=ListRoles&Version=2010-05-08',
      ]
      for (const body of bodies) {
        // `/` takes the plain node:http route; `/?` (same path, empty query) the Hono route table.
        const fast = shape(await post(port, '/', body, form))
        const table = shape(await post(port, '/?', body, form))
        assert.ok(fast.status >= 400, `${body}: ${fast.status}`)
        assert.deepEqual(fast, table, body)
      }
      // Not a form: the route table's 404, whichever path.
      const json = await post(port, '/', '{}', 'application/json')
      assert.equal(json.status, 404)
      const metrics = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text())
      assert.match(
        metrics,
        /podtrust_http_requests_total\{method="POST",route="\/",status="400"\} 6/,
      )
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('sends throttled and unmatched requests to the route table, and answers thrown errors', async () => {
    const logs = new PassThrough()
    let logged = ''
    logs.on('data', (c: Buffer) => (logged += c.toString()))
    const log = createLogger({ stream: logs, level: 'info' })
    const metrics = createMetrics({ defaultMetrics: false })
    let failWith: unknown
    const route: NodeRoute = {
      matches: (req: IncomingMessage) => req.url === '/fast',
      async handle(req) {
        req.resume()
        if (failWith !== undefined) throw failWith
        return { status: 400, headers: { 'content-type': 'text/xml' }, body: '<Error/>' }
      },
    }
    const observer = createHttpObserver({
      metrics,
      log,
      rateLimiter: createRateLimiter({ ratePerSecond: 0.001, burst: 2 }),
    })
    const fallbackPaths: string[] = []
    const listener = createNodeListener({
      ctx: { log } as unknown as AppContext,
      routes: [route],
      observer,
      fallback: (req, res) => {
        fallbackPaths.push(req.url ?? '')
        res.writeHead(429, { 'content-type': 'text/plain' })
        res.end('table')
      },
    })
    const server = createServer(listener)
    const port = await listen(server)
    try {
      const other = await post(port, '/other', 'x', 'text/plain')
      assert.equal(other.body, 'table')
      const fast = await post(port, '/fast', 'x', 'text/plain')
      assert.equal(fast.status, 400)
      assert.deepEqual(fast.headers.slice(0, 4), [
        'content-type',
        'text/xml',
        'Content-Length',
        '8',
      ])
      assert.equal(fast.body, '<Error/>')
      // The failure charged the bucket (burst 2): the next one is refused, by the route table.
      failWith = new Error('kaput')
      const failed = await post(port, '/fast', 'x', 'text/plain')
      assert.equal(failed.status, 500)
      const body = JSON.parse(failed.body) as { error: string; errorId: string }
      assert.equal(body.error, 'InternalError')
      assert.match(logged, new RegExp(`"errorId":"${body.errorId}"`))
      const throttled = await post(port, '/fast', 'x', 'text/plain')
      assert.equal(throttled.body, 'table')
      assert.deepEqual(fallbackPaths, ['/other', '/fast'])
      const text = await metrics.registry.metrics()
      assert.match(
        text,
        /podtrust_http_requests_total\{method="POST",route="other",status="500"\} 1/,
      )
      assert.match(
        text,
        /podtrust_http_requests_total\{method="POST",route="other",status="400"\} 1/,
      )
    } finally {
      server.close()
    }
  })

  void it('answers the protocol 503 when the store is unavailable', async () => {
    const log = createLogger({ level: 'silent' })
    const listener = createNodeListener({
      ctx: { log } as unknown as AppContext,
      routes: [
        {
          matches: () => true,
          handle: () => Promise.reject(new StoreError('STORE_UNAVAILABLE', 'down')),
        },
      ],
      observer: createHttpObserver({ metrics: createMetrics({ defaultMetrics: false }), log }),
      fallback: () => assert.fail('no fallback expected'),
    })
    const server = createServer(listener)
    const port = await listen(server)
    try {
      const r = await post(
        port,
        '/',
        'Action=GetCallerIdentity',
        'application/x-www-form-urlencoded',
      )
      assert.equal(r.status, 503)
      assert.match(r.body, /<Code>ServiceUnavailable<\/Code>/)
      // Header names in the order the route table's adapter sends this answer.
      assert.deepEqual(r.headers.filter((_, i) => i % 2 === 0).slice(0, 4), [
        'retry-after',
        'x-amzn-requestid',
        'content-type',
        'Content-Length',
      ])
    } finally {
      server.close()
    }
  })
})
