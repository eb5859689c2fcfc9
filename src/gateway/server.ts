/**
 * @module gateway/server
 * The data-plane listener: one HTTP server for S3 and SQS, told apart by the request (an `AmazonSQS.*`
 * X-Amz-Target or a SigV4 scope naming `sqs` is SQS; everything else is S3).
 *
 * Raw node:http rather than Hono, on purpose: the gateway streams request and response bodies of any size
 * with backpressure in both directions, answers `Expect: 100-continue`, keeps the request target and header
 * pairs byte-exact for SigV4, and relays raw response headers; a fetch-style Request/Response adapter would
 * re-encode the target and buffer or re-chunk bodies (measured in bench/gateway).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AppContext } from '../app/context.ts'
import {
  createBackendClient,
  DEFAULT_BACKEND_ACCESS_KEY_ID,
  DEFAULT_BACKEND_SECRET,
  parseBackendUrl,
} from './backend.ts'
import { s3ErrorResponse } from './errors.ts'
import { newExchange, sendRendered, type GatewayDeps } from './exchange.ts'
import { createDataEventBuffer } from './audit.ts'
import { createGatewayAuthorizer } from './identity.ts'
import { createResourcePolicyStore } from './resource-policies.ts'
import { handleS3 } from './s3.ts'
import { handleSqs, isSqsRequest } from './sqs.ts'

export interface GatewayOptions {
  port: number
  host?: string
  backendS3: string
  backendSqs: string
  backendAccessKeyId?: string
  backendSecretAccessKey?: string
  backendSessionToken?: string
  /** Region the backends are signed for (default: the gateway's region). */
  backendRegion?: string
  /** The account id the SQS backend puts in queue URLs (default 123456789012, moto's). */
  backendAccountId?: string
  /** Region the gateway answers for (default: the server's region). */
  region?: string
  /** Account that owns the buckets and queues (default: the server's account). */
  resourceAccount?: string
  /** Extra host names for virtual-hosted-style S3 (`bucket.<name>`); `localhost` is always one. */
  virtualHosts?: string[]
}

export interface RunningGateway {
  url: string
  port: number
  /** Writes the queued data events (tests read the audit log after this). */
  flushAudit(): Promise<void>
  close(): Promise<void>
}

export const MOTO_DEFAULT_ACCOUNT = '123456789012'

export async function startGateway(
  ctx: AppContext,
  options: GatewayOptions,
): Promise<RunningGateway> {
  const region = options.region ?? ctx.settings.region
  const target = (text: string, flag: string) => ({
    url: parseBackendUrl(text, flag),
    accessKeyId: options.backendAccessKeyId ?? DEFAULT_BACKEND_ACCESS_KEY_ID,
    secretAccessKey: options.backendSecretAccessKey ?? DEFAULT_BACKEND_SECRET,
    ...(options.backendSessionToken === undefined
      ? {}
      : { sessionToken: options.backendSessionToken }),
    region: options.backendRegion ?? region,
  })
  const s3 = createBackendClient(target(options.backendS3, '--backend-s3'))
  const sqs = createBackendClient(target(options.backendSqs, '--backend-sqs'))
  const host = options.host ?? '127.0.0.1'
  const deps: GatewayDeps = {
    ctx,
    authz: createGatewayAuthorizer(ctx),
    policies: createResourcePolicyStore(ctx.db),
    s3,
    sqs,
    region,
    resourceAccount: options.resourceAccount ?? ctx.settings.accountId,
    backendAccount: options.backendAccountId ?? MOTO_DEFAULT_ACCOUNT,
    baseHosts: ['localhost', ...(options.virtualHosts ?? [])],
    events: createDataEventBuffer(ctx.audit, (err) =>
      ctx.log.error('gateway.audit_failed', {
        error: err instanceof Error ? err.message : String(err),
      }),
    ),
  }
  const server = http.createServer((req, res) => {
    const ex = newExchange(req, res)
    req.on('error', () => res.destroy())
    res.on('error', () => req.destroy())
    const handler = isSqsRequest(ex) ? handleSqs : handleS3
    handler(deps, ex).catch((err: unknown) => {
      ctx.log.error('gateway.failed', { error: err instanceof Error ? err.message : String(err) })
      sendRendered(
        ex,
        s3ErrorResponse(
          {
            code: 'InternalError',
            message: 'We encountered an internal error. Please try again.',
            status: 500,
          },
          ex.requestId,
          ex.hostId,
          ex.method === 'HEAD',
        ),
      )
    })
  })
  // Nagle's algorithm would hold a response's last segment until the client's delayed ACK (measured in
  // bench/gateway: 1 MiB GetObject p50 from ~20 ms to ~2 ms).
  server.on('connection', (socket) => socket.setNoDelay(true))
  // Large uploads legitimately take minutes: no whole-request deadline, but idle sockets are closed.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  server.keepAliveTimeout = 5_000
  server.setTimeout(120_000, (socket) => socket.destroy())
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
  const shown =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}`,
    port,
    flushAudit: () => deps.events.flush(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        // In-flight transfers get a short grace period, then are cut.
        setTimeout(() => server.closeAllConnections(), 2000).unref()
      })
      await deps.events.flush()
      await Promise.all([s3.close(), sqs.close()])
    },
  }
}
