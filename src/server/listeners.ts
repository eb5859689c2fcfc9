/**
 * @module server/listeners
 * The app's sockets: binding a listener with a typed error, draining it on close, and the TLS listener
 * with a serving certificate from podtrust's CA for every name a client may dial.
 */
import type { RequestListener, Server } from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { caDir, issueServerCertificate } from '../certs/ca.ts'
import { loadDeploymentCa } from '../certs/shared.ts'
import { PodtrustError } from '../errors.ts'
import type { Logger } from '../app/context.ts'
import type { Db } from '../store/db.ts'

export type ServerErrorCode = 'SERVER_LISTEN_FAILED' | 'SERVER_CONFIG_FAILED'
export class ServerError extends PodtrustError<ServerErrorCode> {}

/** The host a client dials for a listener bound to `host` (wildcards answer on loopback). */
export function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** Binds `server`; resolves with the port it got, or rejects with SERVER_LISTEN_FAILED and a hint. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new ServerError(
          'SERVER_LISTEN_FAILED',
          `cannot listen on ${host}:${port}: ${err.code ?? err.message}`,
          {
            cause: err,
            hint:
              err.code === 'EADDRINUSE'
                ? 'another process uses this port; pick another with --port / --https-port'
                : undefined,
          } as { cause: unknown; hint?: string },
        ),
      )
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Stops accepting; lets in-flight requests finish for up to `drainMs`, then resets what is left. */
export function closeServer(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve()
      return
    }
    const timer = setTimeout(() => server.closeAllConnections(), drainMs)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    // Keep-alive connections with no request in flight would hold close() open: end them now.
    server.closeIdleConnections()
    if (drainMs <= 0) server.closeAllConnections()
  })
}

const isIpLiteral = (host: string): boolean => /^[\d.]+$|:/.test(host)

/**
 * The DNS names and IP addresses the serving certificate covers: loopback always, the bound host unless it
 * is a wildcard, and the extra names (the issuer's host, `--tls-name`), each sorted by its kind.
 */
export function certificateSubjects(
  host: string,
  extraNames: readonly string[],
): { dnsNames: string[]; ipAddresses: string[] } {
  const names = new Set(['localhost'])
  const ips = new Set(['127.0.0.1', '::1'])
  const wildcard = host === '0.0.0.0' || host === '::'
  for (const name of [...(wildcard ? [] : [host]), ...extraNames]) {
    const bare = name.replace(/^\[|\]$/g, '')
    if (isIpLiteral(bare)) ips.add(bare)
    else names.add(bare)
  }
  return { dnsNames: [...names], ipAddresses: [...ips] }
}

export interface TlsListenerOptions {
  /** The app's request listener (server/node-listener.ts). */
  listener: RequestListener
  db: Db
  dataDir: string
  /** A directory holding the CA as files, instead of the store's (a mounted Secret). */
  caDir?: string
  host: string
  port: number
  /** Listen on an ephemeral port when `port` is busy instead of failing. */
  portFallback: boolean
  extraNames: readonly string[]
  now: () => Date
  log: Logger
}

/** The TLS listener: the deployment CA (store or files), a fresh serving certificate, then the bind. */
export async function startTlsListener(
  options: TlsListenerOptions,
): Promise<{ server: Server; port: number; caFile: string }> {
  const { ca, replacedLocal } = await loadDeploymentCa(options.db, {
    dataCaDir: caDir(options.dataDir),
    ...(options.caDir === undefined ? {} : { fromDir: options.caDir }),
    now: options.now(),
  })
  if (replacedLocal)
    options.log.warn('ca.replaced_local', {
      caFile: ca.certFile,
      reason: 'the store holds the deployment CA',
    })
  const cert = await issueServerCertificate(ca, {
    ...certificateSubjects(options.host, options.extraNames),
    now: options.now(),
  })
  const server = https.createServer(
    { key: cert.keyPem, cert: cert.certPem },
    options.listener,
  ) as unknown as Server
  let port: number
  try {
    port = await listen(server, options.port, options.host)
  } catch (err) {
    if (!options.portFallback || options.port === 0) throw err
    options.log.warn('server.https_port_busy', { port: options.port })
    port = await listen(server, 0, options.host)
  }
  return { server, port, caFile: ca.certFile }
}
