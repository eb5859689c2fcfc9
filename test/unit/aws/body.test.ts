/**
 * readBody over a real @hono/node-server listener (the IncomingMessage fast path) and through
 * `app.request` (the Web API path): bodies arrive whole, and an oversized one is refused without reading
 * it all, declared or chunked, leaving the server able to answer.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { serve } from '@hono/node-server'
import type { ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { BodyTooLargeError, readBody } from '../../../src/aws/body.ts'

const LIMIT = 1024

function app(): Hono {
  const a = new Hono()
  a.post('/echo', async (c) => {
    try {
      const body = await readBody(c, LIMIT)
      return c.text(`${body.length}:${Buffer.from(body).toString('utf8').slice(0, 8)}`)
    } catch (err) {
      if (err instanceof BodyTooLargeError) return c.text(`too large (${err.limit})`, 413)
      throw err
    }
  })
  return a
}

function post(
  port: number,
  body: string | string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/echo', method: 'POST', headers },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    for (const chunk of Array.isArray(body) ? body : [body]) req.write(chunk)
    req.end()
  })
}

void describe('aws/body: readBody', () => {
  let server: ServerType
  let port = 0
  before(async () => {
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app().fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())
    })
    port = (server.address() as AddressInfo).port
  })
  after(() => new Promise<void>((r) => server.close(() => r())))

  void it('reads a body in one or many chunks (node fast path)', async () => {
    assert.deepEqual(await post(port, 'Action=GetCallerIdentity'), {
      status: 200,
      text: '24:Action=G',
    })
    assert.deepEqual(await post(port, ['a'.repeat(500), 'b'.repeat(524)]), {
      status: 200,
      text: '1024:aaaaaaaa',
    })
    assert.deepEqual(await post(port, ''), { status: 200, text: '0:' })
  })

  void it('refuses a declared oversize before reading, and a chunked one mid-stream', async () => {
    assert.deepEqual(await post(port, 'x'.repeat(LIMIT + 1)), {
      status: 413,
      text: `too large (${LIMIT})`,
    })
    const chunked = await post(
      port,
      Array.from({ length: 40 }, () => 'y'.repeat(100)),
      {
        'transfer-encoding': 'chunked',
      },
    )
    assert.equal(chunked.status, 413)
    // The server still answers afterwards.
    assert.equal((await post(port, 'ok')).status, 200)
  })

  void it('the Web API path (app.request) enforces the same bound', async () => {
    const a = app()
    assert.equal(
      await (await a.request('/echo', { method: 'POST', body: 'hello' })).text(),
      '5:hello',
    )
    const big = await a.request('/echo', { method: 'POST', body: 'z'.repeat(LIMIT + 1) })
    assert.equal(big.status, 413)
  })
})
