/**
 * @module server/start
 * The composition root: opens the store, builds the AppContext (clock, randomness, audit, token verifier,
 * settings, logger, metrics), applies config files (and the demo seed), mounts the route table and starts
 * the listeners: plain HTTP, and TLS with a certificate from podtrust's CA when `httpsPort` is given.
 *
 * @example
 * const server = await startServer({ dataDir: tmp, port: 0, httpsPort: 0 })
 * // server.baseUrl === 'http://127.0.0.1:54321'; server.close() when done
 */
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Writable } from 'node:stream'
import { createServer as createHttpServer, type RequestListener } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { createAuditLog } from '../audit/log.ts'
import type { AuditLog } from '../audit/log.ts'
import { applyConfig } from '../config/apply.ts'
import type { ConfigSection } from '../config/section.ts'
import { demoConfigText } from '../config/demo.ts'
import { createPooledRandomBytes } from './random.ts'
import { ConfigError, inConfigFile } from '../config/errors.ts'
import type { Db, Migration } from '../store/db.ts'
import { openDb } from '../store/open.ts'
import { DEFAULT_HTTPS_PORT } from '../tokens/issuer.ts'
import { settleAccountId, settleIssuerUrl } from './identity-settings.ts'
import { createTokenVerifier } from '../tokens/verify.ts'
import { createIdentityPorts } from './ports.ts'
import { createIamRepo } from '../aws/iam/repo.ts'
import { createUsageRecorder, type UsageRecorder } from '../aws/iam/usage.ts'
import { createApp } from './app.ts'
import type { AppContext, Logger, ServerSettings } from '../app/context.ts'
import { createLogger } from './logger.ts'
import type { LogLevel } from './logger.ts'
import { createMetrics } from './metrics.ts'
import type { ServerMetrics } from './metrics.ts'
import { closeServer, displayHost, listen, ServerError, startTlsListener } from './listeners.ts'
import { createHttpObserver } from './http-observer.ts'
import { createNodeListener } from './node-listener.ts'
import { meteredAuditSink } from './audit-metrics.ts'
import { startAuditMaintenance } from '../audit/maintenance.ts'
import { createAuditExporter, exportingAuditSink } from '../audit/export.ts'
import type { AuditRetentionOptions } from '../audit/maintenance.ts'
import { createRateLimiter } from './rate-limit.ts'
import {
  appConfigSections,
  appMigrations,
  collectAdminCredentials,
  collectConfigSections,
  collectMigrations,
  collectStartupHooks,
  createProtocolModules,
} from './modules.ts'
import type { ProtocolModule } from '../app/module.ts'

export const DEFAULT_PORT = 7070
export const DEFAULT_REGION = 'us-east-1'
export const DEFAULT_ACCOUNT_ID = '000000000000'

export interface StartServerOptions {
  /** Data directory (SQLite file, CA). */
  dataDir: string
  /** `postgres://…` for PostgreSQL; default the SQLite file in dataDir. */
  store?: string
  /**
   * SQLite commit durability (default `FULL`: a committed audit event survives power loss; `NORMAL`: it
   * survives a process crash, and the last commits may be lost with the machine). docs/sts.md#benchmark
   * measures both.
   */
  sqliteSynchronous?: 'FULL' | 'NORMAL'
  /** Listen address (default 127.0.0.1). */
  host?: string
  /** Plain HTTP port (default 7070; 0 = ephemeral). */
  port?: number
  /** TLS port (0 = ephemeral); no TLS listener when undefined. */
  httpsPort?: number
  /** When `httpsPort` is busy, listen on an ephemeral port instead of failing (`up` without --https-port). */
  httpsPortFallback?: boolean
  /** The default issuer's URL (default `https://127.0.0.1:<https port or 7443>`). */
  issuerUrl?: string
  region?: string
  accountId?: string
  now?: () => Date
  /** YAML config files applied at start, in order. */
  configFiles?: string[]
  /** Apply the bundled demo seed. */
  demo?: boolean
  /** Dev: let the verifier fetch issuers on loopback over plain http. */
  allowHttpLoopbackIssuers?: boolean
  /** Let the verifier fetch issuers on private/link-local networks. */
  allowPrivateNetworkIssuers?: boolean
  /** How often noted RoleLastUsed / AccessKeyLastUsed are written (ms, default 5000). */
  usageFlushMs?: number
  /** Log destination and level (default stderr, info); tests pass `level: 'silent'`. */
  logStream?: Writable
  logLevel?: LogLevel
  /**
   * The protocol modules (default: the app's, src/server/modules.ts). Tests pass their own; the app's
   * migrations and config sections stay in force beside theirs.
   */
  modules?: readonly ProtocolModule[]
  /** Injected randomness (default crypto.randomBytes). */
  randomBytes?: (size: number) => Uint8Array
  /** Extra names (DNS or IP) for the serving certificate: the Service's DNS name, a load balancer's. */
  tlsNames?: string[]
  /** A directory holding the CA as files (`ca.pem`, `ca-key.pem`; a mounted Secret), instead of the store's. */
  caDir?: string
  /** Runs after the store, hooks and config, before readiness is announced (extra listeners: the agent). */
  beforeReady?: (ctx: AppContext) => Promise<void>
  /** PostgreSQL pool size and timeouts (`--store-pool-size`, `--store-connect-timeout`, …). */
  storePool?: StorePoolOptions
  /** Per-source limit on failing and unauthenticated requests (none unless given; `up` defaults to 10/s, bursts of 100). */
  rateLimit?: { ratePerSecond: number; burst: number }
  /** Log every request at info (default: only ≥ 500). */
  logRequests?: boolean
  /** Audit retention by age and count, pruned in the background; and a JSON Lines export directory. */
  auditRetention?: AuditRetentionOptions
  auditExportDir?: string
}

export interface StorePoolOptions {
  maxConnections?: number
  connectTimeoutMs?: number
  statementTimeoutMs?: number
}

export interface RunningServer {
  baseUrl: string
  httpsBaseUrl?: string
  /** The CA certificate file clients trust for the TLS listener. */
  caFile?: string
  ctx: AppContext
  /** Set when this start changed the stored default issuer URL (single-node automatic URL). */
  issuerChangedFrom?: string
  /** Re-applies the config files given at start (SIGHUP). */
  reloadConfig(): Promise<void>
  /**
   * Stops: /readyz answers 503 at once; after `delayMs` (still serving, default 0) the listeners stop
   * accepting, in-flight requests finish for at most `drainTimeoutMs` (default 0: reset them now), then the
   * audit log flushes and the store closes.
   */
  /** The administrator's access key for IAM calls, from the first module that has one. */
  adminCredentials(): Promise<{ accessKeyId: string; secretAccessKey?: string } | undefined>
  close(options?: { drainTimeoutMs?: number; delayMs?: number }): Promise<void>
}

export { ServerError } from './listeners.ts'
export type { ServerErrorCode } from './listeners.ts'

/** `base`, then what `extra` adds (by `key`): a test's own modules beside the app's. */
function withExtra<T>(base: readonly T[], extra: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set(base.map(key))
  return [...base, ...extra.filter((t) => !seen.has(key(t)))]
}

/** The store, its pool metered and its connection errors logged. */
function openAppStore(
  options: StartServerOptions,
  migrations: Migration[],
  metrics: ServerMetrics,
  log: Logger,
): Promise<Db> {
  return openDb({
    dataDir: options.dataDir,
    ...(options.store === undefined ? {} : { url: options.store }),
    ...(options.sqliteSynchronous === undefined ? {} : { synchronous: options.sqliteSynchronous }),
    migrations,
    postgres: {
      ...options.storePool,
      onConnectionError: (err) => {
        metrics.storeConnectionErrors.inc()
        log.warn('store.connection_error', { error: err })
      },
      onQuery: (seconds, ok) => metrics.storeQueryDuration.observe({ ok: String(ok) }, seconds),
    },
  })
}

/** The audit log in the store, metered, and mirrored to JSON Lines files when an export dir is given. */
function openAppAudit(
  db: Db,
  options: StartServerOptions,
  metrics: ServerMetrics,
  log: Logger,
): AuditLog {
  const recorded = meteredAuditSink(
    createAuditLog(db, { onOmitted: () => metrics.auditDroppedOversize.inc() }),
    metrics,
  )
  if (options.auditExportDir === undefined) return recorded
  return exportingAuditSink(
    recorded,
    createAuditExporter(options.auditExportDir, {
      onError: (err) => log.warn('audit.export_failed', { error: err }),
    }),
  )
}

/** Applies the config files given at start, in order (again on SIGHUP); errors name the file. */
function configFileApplier(
  db: Db,
  files: readonly string[],
  env: { accountId: string; region: string },
  sections: readonly ConfigSection[],
): (at: Date) => Promise<void> {
  return async (at) => {
    for (const file of files) {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (err) {
        throw new ServerError('SERVER_CONFIG_FAILED', `cannot read config file \`${file}\``, {
          cause: err,
        })
      }
      try {
        await applyConfig(db, text, { ...env, now: at }, sections)
      } catch (err) {
        throw err instanceof ConfigError ? inConfigFile(err, file) : err
      }
    }
  }
}

/** Every host name the app answers to as itself (loopback, the bound host, the issuer's, `--tls-name`). */
function publicHostsOf(host: string, issuerUrl: string, tlsNames: readonly string[]): string[] {
  const hosts = ['127.0.0.1', 'localhost', '::1', host, new URL(issuerUrl).hostname, ...tlsNames]
  return [...new Set(hosts.map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()))]
}

/** The AppContext of one app instance: the domain's ports, audit, token verifier, settings, log, metrics. */
function createAppContext(
  db: Db,
  options: StartServerOptions,
  parts: {
    settings: ServerSettings
    audit: AuditLog
    usage: UsageRecorder
    log: Logger
    metrics: ServerMetrics
    now: () => Date
  },
): AppContext {
  const { now } = parts
  return {
    db,
    // The identity domain's ports (lookups, keyring, clock, randomness), one set per app instance.
    ...createIdentityPorts(db, {
      now,
      randomBytes: options.randomBytes ?? createPooledRandomBytes(),
      usage: parts.usage,
    }),
    audit: parts.audit,
    tokens: createTokenVerifier({
      db,
      now,
      allowHttpLoopback: options.allowHttpLoopbackIssuers ?? false,
      allowPrivateNetworks: options.allowPrivateNetworkIssuers ?? false,
    }),
    settings: parts.settings,
    log: parts.log,
    metrics: parts.metrics.registry,
  }
}

interface Lifecycle {
  readonly servers: Server[]
  ready: boolean
  draining: boolean
  close(options?: { drainTimeoutMs?: number; delayMs?: number }): Promise<void>
}

/**
 * Readiness, draining and the one shutdown: /readyz answers 503 at once; after `delayMs` (still serving,
 * while load balancers notice) the listeners stop accepting and drain, then `release` frees the rest.
 */
function createLifecycle(release: () => Promise<void>): Lifecycle {
  let closing: Promise<void> | undefined
  const life: Lifecycle = {
    servers: [],
    ready: false,
    draining: false,
    close(options = {}) {
      closing ??= (async () => {
        life.draining = true
        life.ready = false
        if ((options.delayMs ?? 0) > 0) await new Promise((r) => setTimeout(r, options.delayMs))
        await Promise.all(life.servers.map((s) => closeServer(s, options.drainTimeoutMs ?? 0)))
        await release()
      })()
      return closing
    },
  }
  return life
}

/**
 * The plain HTTP listener, and the TLS one when `httpsPort` is given; records the bound ports and base URLs
 * in `settings` and returns the CA file clients trust for TLS.
 */
async function startListeners(
  listener: RequestListener,
  db: Db,
  options: StartServerOptions,
  parts: { settings: ServerSettings; life: Lifecycle; now: () => Date; log: Logger },
): Promise<string | undefined> {
  const { settings, life } = parts
  const host = settings.host
  const httpServer = createHttpServer({}, listener) as Server
  life.servers.push(httpServer)
  settings.port = await listen(httpServer, settings.port, host)
  settings.baseUrl = `http://${displayHost(host)}:${settings.port}`
  if (options.httpsPort === undefined) return undefined
  const tls = await startTlsListener({
    listener,
    db,
    dataDir: options.dataDir,
    ...(options.caDir === undefined ? {} : { caDir: options.caDir }),
    host,
    port: options.httpsPort,
    portFallback: options.httpsPortFallback === true,
    extraNames: [
      ...(options.issuerUrl === undefined ? [] : [new URL(options.issuerUrl).hostname]),
      ...(options.tlsNames ?? []),
    ],
    now: parts.now,
    log: parts.log,
  })
  life.servers.push(tls.server)
  settings.httpsPort = tls.port
  settings.httpsBaseUrl = `https://${displayHost(host)}:${tls.port}`
  return tls.caFile
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const now = options.now ?? (() => new Date())
  const host = options.host ?? '127.0.0.1'
  const log: Logger = createLogger({
    ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    level: options.logLevel ?? 'info',
    now,
  })
  // One app instance: its own modules, lists and state (no module-level registries).
  const modules = options.modules ?? createProtocolModules()
  const migrations: Migration[] = withExtra(appMigrations, collectMigrations(modules), (m) => m.id)
  const configSections: ConfigSection[] = withExtra(
    appConfigSections,
    collectConfigSections(modules),
    (s) => s.key,
  )
  const metrics = createMetrics()
  const db = await openAppStore(options, migrations, metrics, log)
  metrics.observePool(db)
  const audit = openAppAudit(db, options, metrics, log)
  // RoleLastUsed / AccessKeyLastUsed, batched off the request path and written before the store closes.
  const usage = createUsageRecorder(createIamRepo(db), {
    ...(options.usageFlushMs === undefined ? {} : { flushMs: options.usageFlushMs }),
    onError: (err) =>
      log.warn('iam.usage_record_failed', {
        error: err instanceof Error ? err.message : String(err),
      }),
  })
  let stopRetention: (() => Promise<void>) | undefined
  const life = createLifecycle(async () => {
    await stopRetention?.().catch(() => {})
    await usage.close().catch(() => {})
    await audit.close().catch(() => {})
    await db.close()
  })

  try {
    const settings: ServerSettings = {
      dataDir: options.dataDir,
      host,
      port: options.port ?? DEFAULT_PORT,
      httpsPort: options.httpsPort,
      baseUrl: '',
      httpsBaseUrl: undefined,
      region: options.region ?? DEFAULT_REGION,
      accountId: await settleAccountId(db, {
        explicit: options.accountId,
        fallback: DEFAULT_ACCOUNT_ID,
      }),
    }
    const ctx = createAppContext(db, options, { settings, audit, usage, log, metrics, now })
    const observer = createHttpObserver({
      metrics,
      log,
      // Off unless asked: `up` asks with its default (10/s, bursts of 100); embedders and tests choose.
      rateLimiter:
        options.rateLimit === undefined ? undefined : createRateLimiter(options.rateLimit),
      logRequests: options.logRequests ?? false,
    })
    const app = createApp(ctx, {
      modules,
      metrics,
      isReady: () => life.ready,
      isDraining: () => life.draining,
      observer,
    })
    // The modules' plain node:http routes first (the hottest requests), the route table for the rest.
    const routeTable = getRequestListener(app.fetch)
    const listener = createNodeListener({
      ctx,
      routes: modules.flatMap((m) => m.nodeRoutes?.(ctx) ?? []),
      observer,
      fallback: (req, res) => void routeTable(req, res),
    })

    const caFile = await startListeners(listener, db, options, { settings, life, now, log })
    const issuer = await settleIssuerUrl(db, {
      explicit: options.issuerUrl,
      automatic: `https://127.0.0.1:${settings.httpsPort ?? DEFAULT_HTTPS_PORT}`,
      now: now(),
      log,
    })
    settings.publicHosts = publicHostsOf(host, issuer.url, options.tlsNames ?? [])
    for (const hook of collectStartupHooks(modules)) await hook(ctx)

    const env = { accountId: settings.accountId, region: settings.region }
    if (options.demo === true) {
      await applyConfig(
        db,
        demoConfigText({ issuerUrl: issuer.url, accountId: settings.accountId }),
        { ...env, now: now() },
        configSections,
      )
    }
    const applyConfigFiles = configFileApplier(db, options.configFiles ?? [], env, configSections)
    await applyConfigFiles(now())
    stopRetention = startAuditMaintenance(db, { ...options.auditRetention, now, log })
    await options.beforeReady?.(ctx)
    life.ready = true
    log.info('server.started', {
      baseUrl: settings.baseUrl,
      httpsBaseUrl: settings.httpsBaseUrl,
      issuer: issuer.url,
      store: db.engine,
    })
    return {
      baseUrl: settings.baseUrl,
      ...(settings.httpsBaseUrl === undefined ? {} : { httpsBaseUrl: settings.httpsBaseUrl }),
      ...(caFile === undefined ? {} : { caFile }),
      ctx,
      ...(issuer.changedFrom === undefined ? {} : { issuerChangedFrom: issuer.changedFrom }),
      reloadConfig: () => applyConfigFiles(now()),
      async adminCredentials() {
        for (const provider of collectAdminCredentials(modules)) {
          const creds = await provider(ctx)
          if (creds !== undefined) return creds
        }
        return undefined
      },
      close: (closeOptions) => life.close(closeOptions),
    }
  } catch (err) {
    await life.close().catch(() => {})
    throw err
  }
}
