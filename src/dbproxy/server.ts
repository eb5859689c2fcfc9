/**
 * @module dbproxy/server
 * The database proxy's listener: accepts TCP connections on one port and serves the PostgreSQL protocol
 * (and MySQL, when MySQL instances are declared) with TLS from podtrust's CA (or given certificate files).
 * Each connect decision goes through `iam.ts`; backend passwords come from the instance's configured
 * sources (a mounted Secret file or an environment variable), read per connection so a rotated Secret applies
 * without a restart. `close()` stops accepting and drains open sessions (then cuts them after `drainMs`).
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { ServerTls } from './wire.ts'
import type { AppContext } from '../app/context.ts'
import { caDir, issueServerCertificate, loadOrCreateCa } from '../certs/ca.ts'
import { createCancelRegistry } from './cancel.ts'
import { DbProxyError } from './errors.ts'
import { auditRefusal, decideAndAudit } from './iam.ts'
import { type BackendUrl, type DbInstance, parseBackendUrl, splitEndpoint } from './instances.ts'
import { createDbInstanceRepo } from './repo.ts'
import type { BackendTarget } from './pg/backend.ts'
import { servePgClient } from './pg/session.ts'
import { serveMysqlClient } from './mysql/session.ts'

export interface DbProxyOptions {
  host?: string
  port: number
  /** PEM certificate and key; default: a certificate from podtrust's CA in the data directory. */
  tls?: { certPem: string; keyPem: string }
  /** Extra DNS names / IPs for the CA-issued certificate (the instances' endpoint hosts are added). */
  tlsNames?: string[]
  authTimeoutMs?: number
  idleTimeoutMs?: number
  drainMs?: number
  /** How long a connection may stay silent before the proxy decides it is a MySQL client (default 150 ms). */
  mysqlSniffMs?: number
}

export interface RunningDbProxy {
  port: number
  host: string
  /** The CA file clients trust (when the certificate comes from podtrust's CA). */
  caFile?: string
  close(): Promise<void>
}

/** The backend password of `dbUser`: its own source, else `*`, else the URL's password for its user. */
export function backendPassword(
  instance: DbInstance,
  dbUser: string,
  env: NodeJS.ProcessEnv = process.env,
  url: BackendUrl = parseBackendUrl(instance.backend),
): string | undefined {
  const source = instance.backendPasswords?.[dbUser] ?? instance.backendPasswords?.['*']
  if (source?.file !== undefined) return readFileSync(source.file, 'utf8').replace(/\r?\n$/, '')
  if (source?.env !== undefined) return env[source.env]
  return url.user === dbUser ? url.password : undefined
}

/**
 * Parsed backend URLs by their text: a connect parses its instance's URL once instead of twice per
 * connection (WHATWG URL parsing showed in the -C profile). Bounded: cleared when it outgrows any sane
 * number of declared instances.
 */
function backendUrlCache(): (text: string) => BackendUrl {
  const parsed = new Map<string, BackendUrl>()
  return (text) => {
    let url = parsed.get(text)
    if (url === undefined) {
      url = Object.freeze(parseBackendUrl(text))
      if (parsed.size >= 1024) parsed.clear()
      parsed.set(text, url)
    }
    return url
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

async function certificateFor(
  ctx: AppContext,
  options: DbProxyOptions,
  host: string,
  instances: () => Promise<DbInstance[]>,
): Promise<{ tls: ServerTls; caFile?: string }> {
  if (options.tls !== undefined) {
    try {
      return {
        tls: {
          secureContext: createSecureContext({
            cert: options.tls.certPem,
            key: options.tls.keyPem,
          }),
        },
      }
    } catch (err) {
      throw new DbProxyError(
        'DB_PROXY_TLS',
        'the database proxy TLS certificate or key is invalid',
        { cause: err },
      )
    }
  }
  const ca = await loadOrCreateCa(caDir(ctx.settings.dataDir), ctx.now())
  const names = new Set<string>(['localhost'])
  const ips = new Set<string>(['127.0.0.1', '::1'])
  const hosts = [
    ...(await createDbInstanceRepo(ctx.db).list()).map((i) => splitEndpoint(i.endpoint).host),
    ...(options.tlsNames ?? []),
    ...(host === '0.0.0.0' || host === '::' ? [] : [host]),
  ]
  for (const h of hosts) (isIpLiteral(h) ? ips : names).add(h)
  const cert = await issueServerCertificate(ca, {
    dnsNames: [...names],
    ipAddresses: [...ips],
    now: ctx.now(),
  })
  const secureContext = createSecureContext({ cert: cert.certPem, key: cert.keyPem })
  // An instance declared after start with a new endpoint host gets its own certificate on first use (SNI).
  const issued = new Map<string, Promise<SecureContext>>()
  const SNICallback = (
    servername: string,
    callback: (err: Error | null, c?: SecureContext) => void,
  ) => {
    const name = servername.toLowerCase()
    if (names.has(name) || isIpLiteral(name)) return callback(null, secureContext)
    instances()
      .then((list) => {
        if (!list.some((i) => splitEndpoint(i.endpoint).host === name)) return secureContext
        let pending = issued.get(name)
        if (pending === undefined) {
          pending = issueServerCertificate(ca, {
            dnsNames: [name],
            ipAddresses: [],
            now: ctx.now(),
          }).then((c) => createSecureContext({ cert: c.certPem, key: c.keyPem }))
          pending.catch(() => issued.delete(name))
          issued.set(name, pending)
        }
        return pending
      })
      .then(
        (c) => callback(null, c),
        () => callback(null, secureContext),
      )
  }
  return { tls: { secureContext, SNICallback }, caFile: ca.certFile }
}

export async function startDbProxy(
  ctx: AppContext,
  options: DbProxyOptions,
): Promise<RunningDbProxy> {
  const host = options.host ?? '127.0.0.1'
  const cancelKeys = createCancelRegistry<BackendTarget>()
  const sessions = new Set<Promise<void>>()
  const sockets = new Set<Socket>()
  const repo = createDbInstanceRepo(ctx.db)
  // Instances are read at most once a second (a `db add` applies within a second, without a restart).
  let cached: { at: number; list: Promise<DbInstance[]> } | undefined
  const instances = (): Promise<DbInstance[]> => {
    const now = Date.now()
    if (cached === undefined || now - cached.at > 1000) {
      const list = repo.list()
      cached = { at: now, list }
      list.catch(() => (cached = undefined))
    }
    return cached.list
  }
  const { tls, caFile } = await certificateFor(ctx, options, host, instances)
  const byEndpoint = async (endpoint: string) =>
    (await instances()).filter((i) => i.endpoint === endpoint)
  const common = {
    tls,
    decide: (attempt: Parameters<typeof decideAndAudit>[1]) =>
      decideAndAudit(ctx, attempt, byEndpoint),
    auditRefusal: (attempt: Parameters<typeof auditRefusal>[1], reason: string) =>
      auditRefusal(ctx, attempt, reason),
    authTimeoutMs: options.authTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 0,
    log: ctx.log,
    onSession(done: Promise<void>) {
      sessions.add(done)
      void done.finally(() => sessions.delete(done))
    },
  }
  const backendUrl = backendUrlCache()
  const pgDeps = {
    ...common,
    cancelKeys,
    backendFor(instance: DbInstance, dbUser: string) {
      const url = backendUrl(instance.backend)
      return {
        target: {
          host: url.host,
          port: url.port,
          sslMode: url.sslMode,
          ...(url.socketPath === undefined ? {} : { socketPath: url.socketPath }),
        } satisfies BackendTarget,
        password: backendPassword(instance, dbUser, process.env, url),
      }
    },
  }
  const mysqlDeps = {
    ...common,
    backendFor(instance: DbInstance, dbUser: string) {
      const url = backendUrl(instance.backend)
      return { url, password: backendPassword(instance, dbUser, process.env, url) }
    },
  }
  const sniffMs = options.mysqlSniffMs ?? 150

  /** PostgreSQL clients speak first; MySQL clients wait for the server's greeting. */
  async function dispatch(socket: Socket): Promise<void> {
    const engines = new Set((await instances()).map((i) => i.engine))
    if (!engines.has('mysql')) return servePgClient(socket, pgDeps)
    if (!engines.has('postgres')) return serveMysqlClient(socket, mysqlDeps)
    const first = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        socket.off('data', onData)
        socket.pause()
        resolve(undefined)
      }, sniffMs)
      const onData = (chunk: Buffer): void => {
        clearTimeout(timer)
        socket.pause()
        resolve(chunk)
      }
      socket.once('data', onData)
    })
    if (first === undefined) return serveMysqlClient(socket, mysqlDeps)
    return servePgClient(socket, pgDeps, first)
  }

  const server: Server = createServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    dispatch(socket).catch((err: unknown) => {
      ctx.log.warn('dbproxy.connection_error', {
        error: err instanceof Error ? err.message : String(err),
      })
      socket.destroy()
    })
  })
  server.on('error', (err) => ctx.log.error('dbproxy.listener_error', { error: err.message }))
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(
        new DbProxyError(
          'DB_PROXY_LISTEN',
          `cannot listen on ${host}:${options.port}: ${err.code ?? err.message}`,
          {
            hint:
              err.code === 'EADDRINUSE'
                ? 'another process uses this port; pick another with --db-proxy-port / --port'
                : undefined,
          } as { hint?: string },
        ),
      )
    server.once('error', onError)
    server.listen(options.port, host, () => {
      server.off('error', onError)
      const address = server.address()
      resolve(typeof address === 'object' && address !== null ? address.port : options.port)
    })
  })
  ctx.log.info('dbproxy.started', { host, port })
  return {
    port,
    host,
    ...(caFile === undefined ? {} : { caFile }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      const drained = Promise.allSettled([...sessions])
      const drainMs = options.drainMs ?? 10_000
      let timer: NodeJS.Timeout | undefined
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, drainMs)))])
      clearTimeout(timer)
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}
