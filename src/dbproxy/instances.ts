/**
 * @module dbproxy/instances
 * Database instances behind the proxy, as RDS describes them: an identifier, a `DbiResourceId` (the id in
 * `arn:aws:rds-db:REGION:ACCOUNT:dbuser:DBI_RESOURCE_ID/DB_USER`), the endpoint clients dial (the host:port
 * their IAM auth tokens are signed for), the backend URL the proxy connects to, and which database users may
 * sign in with IAM (RDS: members of `rds_iam`; absent = every user). Pure validation; no I/O.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
 */
import { randomBytes } from 'node:crypto'
import { DbProxyError } from './errors.ts'

export type DbEngine = 'postgres' | 'mysql'

/** Where the password for one backend database user comes from (a mounted Secret file or a variable). */
export interface BackendPasswordSource {
  file?: string
  env?: string
}

export interface DbInstance {
  /** DBInstanceIdentifier: 1–63 letters, digits and hyphens, starting with a letter. */
  name: string
  /**
   * DbiResourceId: `db-` (or Aurora's `cluster-`) and letters or digits. RDS issues 26 upper-case characters;
   * the IAM docs' examples use shorter ones (`db-ABCDEFGHIJKL01234`), so any length up to 64 is accepted.
   */
  resourceId: string
  engine: DbEngine
  /** The endpoint clients dial and sign tokens for, `host:port` (host lower-cased). */
  endpoint: string
  /** `postgres://USER[:PASSWORD]@HOST:PORT/DB[?sslmode=…]` or `mysql://…`. */
  backend: string
  /** Database users allowed to authenticate with IAM; undefined = all. */
  iamUsers?: string[]
  /** Backend passwords per database user (`*` = any user without its own entry). */
  backendPasswords?: Record<string, BackendPasswordSource>
  region?: string
  accountId?: string
}

const NAME = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/
const RESOURCE_ID = /^(db|cluster)-[A-Za-z0-9]{1,64}$/
const DB_USER = /^[A-Za-z0-9_][A-Za-z0-9_$.@-]{0,62}$/

function invalid(message: string, hint?: string): DbProxyError {
  return new DbProxyError('DB_INSTANCE_INVALID', message, hint === undefined ? {} : { hint })
}

/** A new DbiResourceId, `db-` + 26 characters from A–Z and 0–9, as RDS issues them. */
export function newResourceId(random: (n: number) => Uint8Array = randomBytes): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const bytes = random(26)
  let out = 'db-'
  for (let i = 0; i < 26; i++) out += alphabet[bytes[i]! & 31]
  return out
}

export function validateName(name: string): string {
  if (!NAME.test(name) || name.endsWith('-'))
    throw invalid(
      `\`${name}\` is not a valid DB instance identifier`,
      '1–63 letters, digits or hyphens; starts with a letter; no trailing or double hyphen',
    )
  return name
}

export function validateResourceId(id: string): string {
  if (!RESOURCE_ID.test(id))
    throw invalid(
      `\`${id}\` is not a DbiResourceId`,
      'the form is db- (or cluster-) followed by letters or digits, e.g. db-ABCDEFGHIJKL01234',
    )
  return id
}

/** `host:port` → normalized (`[v6]:port` kept bracketed; host lower-cased). */
export function normalizeEndpoint(text: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim())
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw invalid(`\`${text}\` is not an endpoint`, 'give HOST:PORT, the address clients dial')
  return `${m[1]!.toLowerCase()}:${Number(m[2])}`
}

export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':')
  return { host: endpoint.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(i + 1)) }
}

export interface BackendUrl {
  engine: DbEngine
  user: string | undefined
  password: string | undefined
  host: string
  port: number
  database: string | undefined
  sslMode: 'disable' | 'require' | 'verify-full'
  /**
   * PostgreSQL over a Unix-domain socket (`DIR/.s.PGSQL.PORT`), when the host is a directory, as in libpq:
   * `postgres://USER@%2Fvar%2Frun%2Fpostgresql:5432/DB` or `postgres:///DB?host=/var/run/postgresql`.
   * https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS
   */
  socketPath?: string
}

export function parseBackendUrl(text: string): BackendUrl {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid(
      `\`${redactUrl(text)}\` is not a URL`,
      'give postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB',
    )
  }
  const scheme = url.protocol.replace(/:$/, '')
  const engine: DbEngine | undefined =
    scheme === 'postgres' || scheme === 'postgresql'
      ? 'postgres'
      : scheme === 'mysql' || scheme === 'mariadb'
        ? 'mysql'
        : undefined
  if (engine === undefined)
    throw invalid(`backend scheme \`${scheme}\` is not supported`, 'use postgres:// or mysql://')
  // libpq: a host that starts with a slash is the directory of a Unix-domain socket.
  const hostParam = url.searchParams.get('host') ?? ''
  let decodedHost = url.hostname
  if (/^%2f/i.test(decodedHost)) {
    try {
      decodedHost = decodeURIComponent(decodedHost)
    } catch {
      throw invalid(`the backend host \`${url.hostname}\` is not a valid socket directory`)
    }
  }
  const socketDir = decodedHost.startsWith('/')
    ? decodedHost
    : url.hostname === '' && hostParam.startsWith('/')
      ? hostParam
      : undefined
  if (url.hostname === '' && socketDir === undefined) throw invalid('the backend URL has no host')
  if (socketDir !== undefined && engine !== 'postgres')
    throw invalid('a Unix-socket backend is supported for PostgreSQL only')
  const sslParam = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode') ?? 'disable'
  const sslMode =
    sslParam === 'disable' || sslParam === 'DISABLED'
      ? 'disable'
      : sslParam === 'require' || sslParam === 'REQUIRED'
        ? 'require'
        : sslParam === 'verify-full' || sslParam === 'VERIFY_IDENTITY'
          ? 'verify-full'
          : undefined
  if (sslMode === undefined)
    throw invalid(
      `backend sslmode \`${sslParam}\` is not supported`,
      'use disable, require or verify-full',
    )
  // PostgreSQL refuses TLS on a Unix socket (it answers SSLRequest with N there): the kernel carries the
  // bytes and the socket file's permissions guard access, so a TLS mode would be a promise not kept.
  if (socketDir !== undefined && sslMode !== 'disable')
    throw invalid(
      `backend sslmode \`${sslParam}\` cannot apply to a Unix socket`,
      'leave sslmode out for a socket directory',
    )
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const portText = url.port !== '' ? url.port : (url.searchParams.get('port') ?? '')
  const port = portText === '' ? (engine === 'postgres' ? 5432 : 3306) : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid(`\`${portText}\` is not a port`)
  return {
    engine,
    user: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    host: socketDir ?? url.hostname.replace(/^\[|\]$/g, ''),
    port,
    database: database === '' ? undefined : database,
    sslMode,
    ...(socketDir === undefined
      ? {}
      : { socketPath: `${socketDir.replace(/\/+$/, '')}/.s.PGSQL.${port}` }),
  }
}

/** The backend URL with any password replaced by `***` (for listings and logs). */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

export function validateDbUser(user: string): string {
  if (!DB_USER.test(user)) throw invalid(`\`${user}\` is not a database user name`)
  return user
}

/** Validates a whole instance (engine taken from the backend URL). */
export function validateInstance(input: DbInstance): DbInstance {
  validateName(input.name)
  validateResourceId(input.resourceId)
  const backend = parseBackendUrl(input.backend)
  if (backend.engine !== input.engine)
    throw invalid(`engine \`${input.engine}\` does not match the backend URL (${backend.engine})`)
  const out: DbInstance = {
    name: input.name,
    resourceId: input.resourceId,
    engine: input.engine,
    endpoint: normalizeEndpoint(input.endpoint),
    backend: input.backend,
  }
  if (input.iamUsers !== undefined) out.iamUsers = [...new Set(input.iamUsers.map(validateDbUser))]
  if (input.backendPasswords !== undefined) {
    out.backendPasswords = {}
    for (const [user, source] of Object.entries(input.backendPasswords)) {
      if (user !== '*') validateDbUser(user)
      if ((source.file === undefined) === (source.env === undefined))
        throw invalid(`backend password for \`${user}\` needs exactly one of file or env`)
      out.backendPasswords[user] = { ...source }
    }
  }
  if (input.region !== undefined) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(input.region))
      throw invalid(`\`${input.region}\` is not a region`)
    out.region = input.region
  }
  if (input.accountId !== undefined) {
    if (!/^\d{12}$/.test(input.accountId)) throw invalid('the account id must be 12 digits')
    out.accountId = input.accountId
  }
  return out
}

/** The ARN `rds-db:connect` is authorized on. */
export function dbUserArn(
  region: string,
  accountId: string,
  resourceId: string,
  dbUser: string,
): string {
  return `arn:aws:rds-db:${region}:${accountId}:dbuser:${resourceId}/${dbUser}`
}
