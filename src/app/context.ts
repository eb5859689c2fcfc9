/**
 * @module app/context
 * The `AppContext`: what the composition root (`src/server/`) hands every protocol module, built once per
 * app instance. It lives below the adapters so they (and the domain's callers) import it without reaching up
 * into `server/`. It extends the identity domain's ports (`src/identity/ports.ts`), so any function that
 * needs only ports accepts the context as is. Modules take what they need from here and never build their
 * own store, clock, verifier or repository. Fields may be added; none is renamed or removed.
 */
import type { Registry } from 'prom-client'
import type { AuditSink } from '../audit/types.ts'
import type { IdentityPorts } from '../identity/ports.ts'
import type { Db } from '../store/db.ts'
import type { TokenVerifier } from '../tokens/types.ts'

export interface AppContext extends IdentityPorts {
  db: Db
  audit: AuditSink
  tokens: TokenVerifier
  settings: ServerSettings
  log: Logger
  /** The server's Prometheus registry (served at /metrics): modules register their own metrics here. */
  metrics?: Registry
}

export interface ServerSettings {
  /** Data directory (SQLite file, CA, keys): `./.podtrust` or `$PODTRUST_HOME`. */
  dataDir: string
  host: string
  port: number
  httpsPort: number | undefined
  /** Public base URL of the plain listener, e.g. `http://127.0.0.1:4566`. */
  baseUrl: string
  /** Public base URL of the TLS listener, when there is one. */
  httpsBaseUrl: string | undefined
  /** The default region (`us-east-1` unless configured). */
  region: string
  /** The default account id for the local stack (`000000000000` style, 12 digits). */
  accountId: string
  /**
   * Host names this server is configured to be reached at (loopback names, --host, the issuer URL's host,
   * --tls-names). Endpoints that echo their own URL (Entra's authority) use the request's Host only when it
   * is one of these, never an arbitrary Host header.
   */
  publicHosts?: string[]
}

/** Structured logger: one JSON object per line. Never pass a token, secret or session token. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}
