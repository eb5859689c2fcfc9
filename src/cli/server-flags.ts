/**
 * @module cli/server-flags
 * The production settings of `podtrust up`: the PostgreSQL pool, shutdown drain, per-source rate limit,
 * request logging and audit retention. Each flag has an environment variable (for container manifests); the
 * flag wins over the variable. Durations are in seconds.
 */
import { UsageError } from '../errors.ts'
import type { StorePoolOptions } from '../server/start.ts'
import type { CliIo } from './command.ts'

export const serverArgOptions = {
  'store-pool-size': { type: 'string' },
  'store-connect-timeout': { type: 'string' },
  'store-statement-timeout': { type: 'string' },
  'sqlite-sync': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'shutdown-delay': { type: 'string' },
  'rate-limit': { type: 'string' },
  'log-requests': { type: 'boolean' },
  'audit-retention-days': { type: 'string' },
  'audit-max-events': { type: 'string' },
  'audit-export-dir': { type: 'string' },
  'ca-dir': { type: 'string' },
  'tls-names': { type: 'string' },
} as const

export const serverUsage = `Production settings (each also read from the environment variable shown):
  --store-pool-size N          PostgreSQL connections per replica (default 10; PODTRUST_STORE_POOL_SIZE)
  --store-connect-timeout S    wait at most S s for a store connection (default 5; PODTRUST_STORE_CONNECT_TIMEOUT)
  --store-statement-timeout S  PostgreSQL statement_timeout (default 30, 0 = none; PODTRUST_STORE_STATEMENT_TIMEOUT)
  --sqlite-sync full|normal    SQLite commit durability (default full: every audit event survives power loss;
                               normal: it survives a crash of podtrust, not of the machine, and commits skip
                               the fsync; docs/sts.md#audit-durability; PODTRUST_SQLITE_SYNC)
  --shutdown-delay S           on SIGTERM, answer /readyz 503 but keep serving for S s before closing the
                               listeners (default 0; 5 in Kubernetes; PODTRUST_SHUTDOWN_DELAY)
  --drain-timeout S            then finish in-flight requests for at most S s (default 25; PODTRUST_DRAIN_TIMEOUT)
  --rate-limit R[:B]           per source address: R failing/unauthenticated requests per s, bursts of B
                               (default 10:100; 0 disables; PODTRUST_RATE_LIMIT)
  --log-requests               log every request as a JSON line at info (PODTRUST_LOG_REQUESTS=1)
  --audit-retention-days D     prune audit events older than D days (default: keep; PODTRUST_AUDIT_RETENTION_DAYS)
  --audit-max-events N         keep at most the newest N audit events (default: keep; PODTRUST_AUDIT_MAX_EVENTS)
  --audit-export-dir DIR       also append every audit event to DIR/audit-YYYY-MM-DD.jsonl for a log shipper
                               (PODTRUST_AUDIT_EXPORT_DIR)
  --ca-dir DIR                 the CA as files DIR/ca.pem and DIR/ca-key.pem (a mounted Secret), read-only;
                               default: the deployment CA kept in the store (PODTRUST_CA_DIR)
  --tls-names N,N              extra DNS names / IPs in the serving certificate, e.g. the Service's DNS name
                               (PODTRUST_TLS_NAMES)`

type Values = {
  [K in keyof typeof serverArgOptions]?: (typeof serverArgOptions)[K] extends { type: 'boolean' }
    ? boolean
    : string
}

export interface ServerFlagSettings {
  storePool: StorePoolOptions
  /** Undefined: the store's default (FULL). */
  sqliteSynchronous: 'FULL' | 'NORMAL' | undefined
  drainTimeoutMs: number
  shutdownDelayMs: number
  rateLimit: { ratePerSecond: number; burst: number }
  logRequests: boolean
  auditRetention: { maxAgeDays?: number; maxEvents?: number }
  auditExportDir: string | undefined
  caDir: string | undefined
  tlsNames: string[]
}

export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 25

function number(
  flag: string,
  envName: string,
  value: string | undefined,
  io: CliIo,
  min: number,
  max: number,
): number | undefined {
  const v = value ?? io.env[envName]
  if (v === undefined || v === '') return undefined
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < min || Number(v) > max) {
    const from = value === undefined ? `$${envName}` : `--${flag}`
    throw new UsageError(`${from} must be a number from ${min} to ${max}, got '${v}'`)
  }
  return Number(v)
}

export function serverFlagSettings(values: Values, io: CliIo): ServerFlagSettings {
  const pool = number(
    'store-pool-size',
    'PODTRUST_STORE_POOL_SIZE',
    values['store-pool-size'],
    io,
    1,
    1000,
  )
  const connect = number(
    'store-connect-timeout',
    'PODTRUST_STORE_CONNECT_TIMEOUT',
    values['store-connect-timeout'],
    io,
    0,
    3600,
  )
  const statement = number(
    'store-statement-timeout',
    'PODTRUST_STORE_STATEMENT_TIMEOUT',
    values['store-statement-timeout'],
    io,
    0,
    3600,
  )
  const drain =
    number('drain-timeout', 'PODTRUST_DRAIN_TIMEOUT', values['drain-timeout'], io, 0, 3600) ??
    DEFAULT_DRAIN_TIMEOUT_SECONDS
  const rateText = values['rate-limit'] ?? io.env['PODTRUST_RATE_LIMIT'] ?? '10:100'
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(rateText)
  if (m === null)
    throw new UsageError(
      `--rate-limit must be RATE or RATE:BURST (requests per second, bucket size), got '${rateText}'`,
    )
  const rate = Number(m[1])
  const burst = m[2] === undefined ? Math.max(1, Math.ceil(rate * 10)) : Number(m[2])
  const days = number(
    'audit-retention-days',
    'PODTRUST_AUDIT_RETENTION_DAYS',
    values['audit-retention-days'],
    io,
    0.001,
    36_500,
  )
  const maxEvents = number(
    'audit-max-events',
    'PODTRUST_AUDIT_MAX_EVENTS',
    values['audit-max-events'],
    io,
    1,
    1e12,
  )
  const exportDir = values['audit-export-dir'] ?? io.env['PODTRUST_AUDIT_EXPORT_DIR']
  return {
    sqliteSynchronous: sqliteSync(values['sqlite-sync'], io),
    storePool: {
      ...(pool === undefined ? {} : { maxConnections: pool }),
      ...(connect === undefined ? {} : { connectTimeoutMs: connect * 1000 }),
      ...(statement === undefined ? {} : { statementTimeoutMs: statement * 1000 }),
    },
    drainTimeoutMs: drain * 1000,
    shutdownDelayMs:
      (number('shutdown-delay', 'PODTRUST_SHUTDOWN_DELAY', values['shutdown-delay'], io, 0, 3600) ??
        0) * 1000,
    rateLimit: { ratePerSecond: rate, burst },
    logRequests: values['log-requests'] === true || io.env['PODTRUST_LOG_REQUESTS'] === '1',
    auditRetention: {
      ...(days === undefined ? {} : { maxAgeDays: days }),
      ...(maxEvents === undefined ? {} : { maxEvents }),
    },
    auditExportDir: exportDir === undefined || exportDir === '' ? undefined : exportDir,
    caDir: nonEmpty(values['ca-dir'] ?? io.env['PODTRUST_CA_DIR']),
    tlsNames: (values['tls-names'] ?? io.env['PODTRUST_TLS_NAMES'] ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
  }
}

function sqliteSync(value: string | undefined, io: CliIo): 'FULL' | 'NORMAL' | undefined {
  const v = nonEmpty(value ?? io.env['PODTRUST_SQLITE_SYNC'])
  if (v === undefined) return undefined
  if (v.toLowerCase() === 'full') return 'FULL'
  if (v.toLowerCase() === 'normal') return 'NORMAL'
  const from = value === undefined ? '$PODTRUST_SQLITE_SYNC' : '--sqlite-sync'
  throw new UsageError(
    `${from} must be full or normal, got '${v}'`,
    'full (the default) keeps every committed audit event across power loss; normal only across a crash of podtrust',
  )
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}
