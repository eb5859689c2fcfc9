/**
 * The trivial backend of `npm run bench:gateway`, in its own process: a minimal node:http server answering
 * fixed S3 responses — GET /BUCKET/obj-1k and /BUCKET/obj-1m return 1 KiB / 1 MiB bodies, PUT drains the body
 * and answers 200 with an ETag. What HTTP + Node cost when the object store does nothing.
 * Usage: node --import tsx bench/gateway/backend.ts  → prints {"port":N}
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

const bodies: Record<string, Buffer> = {
  'obj-1k': Buffer.alloc(1024, 'k'),
  'obj-1m': Buffer.alloc(1024 * 1024, 'm'),
}
const server = http.createServer((req, res) => {
  const key = (req.url ?? '/').split('?')[0]?.split('/').pop() ?? ''
  if (req.method === 'PUT') {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, {
        etag: '"d41d8cd98f00b204e9800998ecf8427e"',
        'content-length': 0,
        'x-amz-request-id': 'BENCH',
      })
      res.end()
    })
    return
  }
  req.resume()
  const body = bodies[key]
  if (body === undefined) {
    res.writeHead(404, { 'content-type': 'application/xml', 'content-length': 0 })
    res.end()
    return
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': body.length,
    etag: '"0123456789abcdef0123456789abcdef"',
    'last-modified': 'Sun, 06 Dec 2026 00:00:00 GMT',
    'x-amz-request-id': 'BENCH',
  })
  res.end(body)
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })),
)
process.on('SIGTERM', () => server.close(() => process.exit(0)))
