/**
 * The request facts every signed API authorizes with: the source address is the socket's, never a header a
 * client can set (aws:SourceIp must not be spoofable), TLS is the socket's, the User-Agent is the header's.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { requestFacts } from '../../../src/aws/request-facts.ts'
import type { RequestFacts } from '../../../src/identity/context.ts'

void describe('aws/request-facts', () => {
  void it('reads the socket, not X-Forwarded-For, over a real connection', async () => {
    const app = new Hono()
    let seen: RequestFacts | undefined
    app.get('/', (c) => {
      seen = requestFacts(c, 'eu-west-1')
      return c.text('ok')
    })
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    try {
      const port = (server.address() as AddressInfo).port
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/',
            headers: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'aws-cli/1.0' },
          },
          (res) => {
            res.resume()
            res.on('end', resolve)
          },
        )
        req.on('error', reject)
        req.end()
      })
      assert.deepEqual(seen, {
        sourceIp: '127.0.0.1',
        secureTransport: false,
        region: 'eu-west-1',
        userAgent: 'aws-cli/1.0',
      })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  void it('without a socket (in-process app.request): loopback, TLS by the URL scheme', async () => {
    const app = new Hono()
    app.get('/', (c) => c.json(requestFacts(c, 'us-east-1')))
    const res = await app.request('https://podtrust.test/', {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    })
    assert.deepEqual(await res.json(), {
      sourceIp: '127.0.0.1',
      secureTransport: true,
      region: 'us-east-1',
      userAgent: '',
    })
  })
})
