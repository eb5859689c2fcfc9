/**
 * The baseline of `npm run bench:webhook`, in its own process: a trivial node:https handler that reads the
 * request body and answers fixed bytes (the webhook's own answer to the same AdmissionReview), with the
 * same certificate and keep-alive settings. What TLS + HTTP + Node cost when the handler does nothing.
 * Usage: node --import tsx bench/webhook/trivial.ts CERT.pem KEY.pem BODY.json  → prints {"port":N}
 */
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'

const [certFile, keyFile, bodyFile] = process.argv.slice(2)
if (certFile === undefined || keyFile === undefined || bodyFile === undefined) {
  throw new Error('usage: trivial.ts CERT KEY BODY')
}
const body = readFileSync(bodyFile)
const server = https.createServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    minVersion: 'TLSv1.2',
    keepAlive: true,
  },
  (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      res.end(body)
    })
  },
)
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
