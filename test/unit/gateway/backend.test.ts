/**
 * The gateway's backend leg: the signature it puts on forwarded requests verifies with the shared SigV4
 * verifier (folded header whitespace, repeated headers, a query, the date changing with the second), and
 * `relay` hands a backend answer to its sink as it arrives — with backpressure, abort, and failures before
 * the answer starts rejected (the request body destroyed, as undici's own `request` does).
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { verifyWithPayloadHash } from '../../../src/aws/sigv4/chunked.ts'
import { parseSignature } from '../../../src/aws/sigv4/sigv4.ts'
import {
  createBackendClient,
  signBackendRequest,
  type ResponseSink,
} from '../../../src/gateway/backend.ts'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const target = (port: number) => ({
  url: new URL(`http://127.0.0.1:${port}`),
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: SECRET,
  region: 'us-east-1',
})

void describe('signBackendRequest', () => {
  const sign = (now: Date, headers: [string, string][], query = '') =>
    signBackendRequest({
      method: 'PUT',
      path: '/bucket/a%20b/c~d',
      query,
      headers,
      host: 'backend.example:9000',
      payloadHash: 'UNSIGNED-PAYLOAD',
      service: 's3',
      target: target(9000),
      now,
    })
  const verify = (signed: [string, string][], query = '', secret = SECRET) => {
    const raw = {
      method: 'PUT',
      path: '/bucket/a%20b/c~d',
      query,
      headers: signed,
      body: new Uint8Array(),
    }
    const parsed = parseSignature(raw)
    assert.ok(parsed !== undefined)
    return verifyWithPayloadHash(raw, parsed, secret, 'UNSIGNED-PAYLOAD', { normalizePath: false })
  }

  void test('verifies with the shared verifier, whitespace folded and repeated headers joined', () => {
    const signed = sign(new Date('2026-12-06T10:00:00.250Z'), [
      ['content-type', '  text/plain;   charset=utf-8 '],
      ['x-amz-meta-a', 'one\ttwo'],
      ['x-amz-meta-a', 'three'],
      ['x-amz-tagging', 'k=v'],
      ['range', 'bytes=0-9'],
    ])
    assert.ok(verify(signed).seedSignature.length === 64)
    const auth = signed.find(([n]) => n === 'authorization')?.[1] ?? ''
    assert.match(
      auth,
      /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-tagging,/,
    )
    assert.throws(() => verify(signed, '', 'another secret'))
  })

  void test('a query is signed in canonical order', () => {
    const query = 'uploads=&prefix=a%2Fb&max-keys=2'
    assert.ok(verify(sign(new Date(), [], query), query).seedSignature.length === 64)
    assert.throws(() => verify(sign(new Date(), [], query), 'uploads=&prefix=a%2Fc&max-keys=2'))
  })

  void test('x-amz-date follows the clock second by second', () => {
    const date = (d: Date) => sign(d, []).find(([n]) => n === 'x-amz-date')?.[1]
    assert.equal(date(new Date('2026-12-06T10:00:00.100Z')), '20261206T100000Z')
    assert.equal(date(new Date('2026-12-06T10:00:00.900Z')), '20261206T100000Z')
    assert.equal(date(new Date('2026-12-06T10:00:01.000Z')), '20261206T100001Z')
    assert.equal(date(new Date('2026-12-07T00:00:00.000Z')), '20261207T000000Z')
  })
})

void describe('BackendClient.relay', () => {
  const big = Buffer.alloc(4 * 1024 * 1024, 'b')
  let server: http.Server
  let port = 0
  const uploads: number[] = []
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/hang') return // never answers
      let size = 0
      req.on('data', (c: Buffer) => (size += c.length))
      req.on('end', () => {
        uploads.push(size)
        const body = req.url === '/big' ? big : Buffer.from(`got ${size}`)
        res.writeHead(201, { 'x-amz-request-id': 'R1', 'content-length': body.length })
        res.end(body)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  const collect = () => {
    const chunks: Buffer[] = []
    const events: string[] = []
    let head: { status: number; headers: string[] } | undefined
    let finished!: () => void
    const done = new Promise<void>((r) => (finished = r))
    const sink: ResponseSink = {
      start(status, headers) {
        head = { status, headers }
        events.push('start')
      },
      data(chunk) {
        chunks.push(chunk)
        return true
      },
      end() {
        events.push('end')
        finished()
      },
      fail(err) {
        events.push(`fail ${err.message}`)
        finished()
      },
    }
    return { sink, chunks, events, done, head: () => head }
  }

  void test('status, raw headers and body reach the sink; a streamed upload reaches the backend', async () => {
    const client = createBackendClient(target(port))
    const upload = new PassThrough()
    const c = collect()
    const started = client.relay(
      { method: 'PUT', path: '/put', query: '', headers: [['content-length', '5']], body: upload },
      c.sink,
    )
    upload.end('hello')
    await started
    await c.done
    assert.equal(c.head()?.status, 201)
    assert.deepEqual(c.head()?.headers.slice(0, 2), ['x-amz-request-id', 'R1'])
    assert.equal(Buffer.concat(c.chunks).toString(), 'got 5')
    assert.deepEqual(c.events, ['start', 'end'])
    await client.close()
  })

  void test('a sink that returns false pauses the backend leg until resumed', async () => {
    const client = createBackendClient(target(port))
    let resume: (() => void) | undefined
    let received = 0
    let pausedAt = -1
    let finished!: () => void
    const done = new Promise<void>((r) => (finished = r))
    await client.relay(
      { method: 'GET', path: '/big', query: '', headers: [] },
      {
        start(_s, _h, r) {
          resume = r
        },
        data(chunk) {
          received += chunk.length
          if (pausedAt === -1) {
            pausedAt = received
            return false
          }
          return true
        },
        end: () => finished(),
        fail: () => finished(),
      },
    )
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(received, pausedAt, 'nothing more arrives while paused')
    assert.ok(received < big.length)
    resume?.()
    await done
    assert.equal(received, big.length)
    await client.close()
  })

  void test('abort ends the backend request after the start; the sink hears of it', async () => {
    const client = createBackendClient(target(port))
    let abort: ((err: Error) => void) | undefined
    const events: string[] = []
    let finished!: () => void
    const done = new Promise<void>((r) => (finished = r))
    await client.relay(
      { method: 'GET', path: '/big', query: '', headers: [] },
      {
        start(_s, _h, _r, a) {
          abort = a
        },
        data: () => false,
        end() {
          events.push('end')
          finished()
        },
        fail(err) {
          events.push(`fail ${err.message}`)
          finished()
        },
      },
    )
    abort?.(new Error('client went away'))
    await done
    assert.deepEqual(events, ['fail client went away'])
    await client.close()
  })

  void test('a failure before the answer rejects, never calls the sink, and destroys the upload', async () => {
    const unreachable = createBackendClient(target(1))
    const upload = new PassThrough()
    const c = collect()
    await assert.rejects(
      unreachable.relay(
        { method: 'PUT', path: '/x', query: '', headers: [['content-length', '3']], body: upload },
        c.sink,
      ),
    )
    assert.deepEqual(c.events, [])
    assert.equal(upload.destroyed, true)
    await unreachable.close()

    const client = createBackendClient(target(port))
    const failing = new PassThrough()
    const pending = client.relay(
      {
        method: 'PUT',
        path: '/hang',
        query: '',
        headers: [['content-length', '10']],
        body: failing,
      },
      collect().sink,
    )
    failing.write('abc')
    failing.destroy(new Error('body did not verify'))
    await assert.rejects(pending, /body did not verify/)
    await client.close()
  })
})
