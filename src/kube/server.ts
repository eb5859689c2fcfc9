/**
 * @module kube/server
 * The webhook's listeners: HTTPS (node:https, keep-alive, as kube-apiserver reuses connections) serving
 * `POST /mutate` (aws), `POST /mutate-v1-pod` (azure), `/healthz` and `/readyz`; and a plain-HTTP metrics
 * listener serving `/metrics`. Bodies are bounded (`MAX_ADMISSION_BODY_BYTES`): a larger one is answered
 * 413 (a 413 review on the Azure path, as controller-runtime) and counted, and its connection closed.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import {
  type HttpAnswer,
  MAX_ADMISSION_BODY_BYTES,
  goHttpError,
  reviewAnswer,
} from './admission.ts'
import type { AdmissionHandler } from './admission-handler.ts'
import { WebhookError } from './errors.ts'
import { errorText, type WebhookLogger } from './log.ts'
import type { AdmissionEndpoint, WebhookMetrics } from './metrics.ts'
import type { TlsMaterial } from './tls.ts'
import type { TlsMinVersion } from './flags.ts'

export interface WebhookServerOptions {
  port: number
  metricsPort: number
  /** Listen address (default: all interfaces, as the reference). */
  host?: string
  tls: TlsMaterial
  tlsMinVersion: TlsMinVersion
  handle: AdmissionHandler
  metrics: WebhookMetrics
  log: WebhookLogger
  /** `/readyz`: true once the ServiceAccount source has synced. */
  isReady?: () => boolean
  maxBodyBytes?: number
}

export interface RunningWebhookServer {
  port: number
  metricsPort: number
  /** Replaces the serving certificate for new connections. */
  setTls(material: TlsMaterial): void
  close(): Promise<void>
}

const ROUTES: Readonly<Record<string, AdmissionEndpoint>> = {
  '/mutate': 'aws',
  '/mutate-v1-pod': 'azure',
}

function tooLarge(endpoint: AdmissionEndpoint, limit: number): HttpAnswer {
  const message = `request entity is too large; limit is ${limit} bytes`
  return endpoint === 'aws'
    ? goHttpError(413, message)
    : reviewAnswer(
        { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' },
        { uid: '', allowed: false, status: { message, code: 413 } },
      )
}

function send(res: http.ServerResponse, answer: HttpAnswer, close = false): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-length': Buffer.byteLength(answer.body),
    ...(close ? { connection: 'close' } : {}),
  })
  res.end(answer.body)
}

/** Answers before the body is read, then drops the connection (the rest of the body is not wanted). */
function rejectBody(req: http.IncomingMessage, res: http.ServerResponse, answer: HttpAnswer): void {
  res.once('finish', () => req.destroy())
  send(res, answer, true)
}

function listen(server: http.Server, port: number, host: string | undefined, what: string) {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new WebhookError(
          'LISTEN_FAILED',
          `cannot listen on ${what} port ${port}: ${err.code ?? err.message}`,
          {
            cause: err,
            ...(err.code === 'EADDRINUSE' ? { hint: 'another process uses this port' } : {}),
            ...(err.code === 'EACCES'
              ? { hint: 'ports below 1024 need privileges; use --port 8443' }
              : {}),
          },
        ),
      )
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
    // In-flight admissions get a moment; then connections are cut (the API server retries elsewhere).
    setTimeout(() => server.closeAllConnections(), 2000).unref()
  })
}

export async function startWebhookServer(
  options: WebhookServerOptions,
): Promise<RunningWebhookServer> {
  const limit = options.maxBodyBytes ?? MAX_ADMISSION_BODY_BYTES
  const { log, metrics } = options

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path === '/healthz')
      return send(res, {
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'ok',
      })
    if (path === '/readyz') {
      const ready = options.isReady?.() ?? true
      return send(res, {
        status: ready ? 200 : 503,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: ready ? 'ok' : 'not ready: ServiceAccounts not synced',
      })
    }
    const endpoint = ROUTES[path]
    if (endpoint === undefined) {
      req.resume()
      return send(res, goHttpError(404, '404 page not found'))
    }
    const declared = Number(req.headers['content-length'] ?? 0)
    if (Number.isFinite(declared) && declared > limit) {
      metrics.malformed(endpoint, 'too_large')
      metrics.admission(endpoint, 'malformed', 0)
      log.warn('admission.malformed', { endpoint, reason: 'too_large', bytes: declared })
      rejectBody(req, res, tooLarge(endpoint, limit))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let aborted = false
    req.on('data', (chunk: Buffer) => {
      if (aborted) return
      size += chunk.length
      if (size > limit) {
        aborted = true
        metrics.malformed(endpoint, 'too_large')
        metrics.admission(endpoint, 'malformed', 0)
        log.warn('admission.malformed', { endpoint, reason: 'too_large', bytes: size })
        rejectBody(req, res, tooLarge(endpoint, limit))
        return
      }
      chunks.push(chunk)
    })
    req.on('error', () => {
      aborted = true
    })
    req.on('end', () => {
      if (aborted) return
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
      options
        .handle(endpoint, req.headers['content-type'], body)
        .then((answer) => send(res, answer))
        .catch((err: unknown) => {
          log.error('admission.failed', { endpoint, error: errorText(err) })
          send(res, goHttpError(500, 'internal error'))
        })
    })
  }

  const tlsServer = https.createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      minVersion: options.tlsMinVersion,
      // kube-apiserver keeps connections open between admissions.
      keepAlive: true,
    },
    onRequest,
  )
  tlsServer.keepAliveTimeout = 65_000
  tlsServer.headersTimeout = 66_000
  tlsServer.requestTimeout = 30_000
  // A bad handshake or a client speaking garbage costs the socket only.
  tlsServer.on('tlsClientError', (_err, socket) => socket.destroy())
  tlsServer.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  const metricsServer = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') return send(res, goHttpError(404, '404 page not found'))
    metrics.registry
      .metrics()
      .then((body) =>
        send(res, { status: 200, headers: { 'content-type': metrics.registry.contentType }, body }),
      )
      .catch((err: unknown) => send(res, goHttpError(500, errorText(err))))
  })
  metricsServer.on('clientError', (_err, socket) => socket.destroy())

  let port: number
  let metricsPort: number
  try {
    port = await listen(tlsServer, options.port, options.host, 'HTTPS')
    metricsPort = await listen(metricsServer, options.metricsPort, options.host, 'metrics')
  } catch (err) {
    tlsServer.close()
    metricsServer.close()
    throw err
  }
  return {
    port,
    metricsPort,
    setTls(material) {
      tlsServer.setSecureContext({
        cert: material.certPem,
        key: material.keyPem,
        minVersion: options.tlsMinVersion,
      })
    },
    async close() {
      await Promise.all([close(tlsServer), close(metricsServer)])
    },
  }
}
