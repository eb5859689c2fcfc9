/**
 * The reference of `npm run bench:gateway`: a pass-through proxy that does nothing but relay — node:http in
 * front, an undici pool to the backend (what the gateway uses), bodies streamed both ways — with no
 * authentication, policy, audit or re-signing. Through it, the benchmark measures what any Node proxy costs on
 * this machine before doing any of the gateway's work, so the gateway's ratio to direct can be read against
 * the ratio a relay alone reaches (the goals are ratios to direct).
 * Usage: node --import tsx bench/gateway/bare-proxy.ts http://127.0.0.1:BACKEND_PORT  → prints {"port":N}
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

const pool = new Pool(process.argv[2] ?? 'http://127.0.0.1:1', { connections: 64 })

const server = http.createServer((req, res) => {
  const length = req.headers['content-length']
  const hasBody = length !== undefined && length !== '0'
  pool
    .stream(
      {
        method: req.method as 'GET' | 'PUT',
        path: req.url ?? '/',
        headers: length === undefined ? {} : { 'content-length': length },
        ...(hasBody ? { body: req } : {}),
      },
      ({ statusCode, headers }) => {
        const out: Record<string, string> = {}
        for (const name of ['content-length', 'content-type', 'etag', 'last-modified']) {
          const v = headers[name]
          if (typeof v === 'string') out[name] = v
        }
        res.writeHead(statusCode, out)
        return res
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-length': 0 })
      res.end()
    })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })),
)
process.on('SIGTERM', () => server.close(() => process.exit(0)))
