/**
 * @module store/postgres
 * The PostgreSQL engine (`pg` pool). Placeholders are rewritten from `?` to `$n`; BIGINT (int8) and
 * NUMERIC counts come back as JavaScript numbers, like SQLite's, so repositories see one row shape.
 * An optional schema (`search_path`) isolates test runs and lets several stacks share one database.
 *
 * Connections come and go (failover, restart, a pooler's recycle, `pg_terminate_backend`): every pooled and
 * every checked-out client has an 'error' listener, a client that failed is released with its error so the
 * pool discards it, and connection-class failures surface as `StoreError('STORE_UNAVAILABLE')`, which every
 * protocol answers with its retryable 503. The next query opens a fresh connection, so service resumes by
 * itself when the database is back.
 */
import pg from 'pg'
import { createAsyncScope } from './async-scope.ts'
import type { Db, Queryable, RunResult, SqlValue } from './db.ts'
import { StoreError } from './errors.ts'
import { isSafeIdentifier, rewritePlaceholders } from './sql.ts'

export interface PostgresOptions {
  /** `postgres://user@host:port/db`; a `schema` query parameter selects the schema. */
  url: string
  /** Schema for every table (created when missing); overrides the URL's `schema` parameter. */
  schema?: string
  /** Pool size (default 10). */
  maxConnections?: number
  /** How long a query waits for a connection, in ms (default 5000; 0 = forever). */
  connectTimeoutMs?: number
  /** Server-side `statement_timeout` in ms (default 30000; 0 = none). */
  statementTimeoutMs?: number
  /** `application_name` of podtrust's connections (default `podtrust`); the URL's parameter wins. */
  applicationName?: string
  /** Called with each connection error (idle or checked out): logging and metrics, never a crash. */
  onConnectionError?: (err: Error) => void
  /** Called after each statement with its duration in seconds and whether it succeeded. */
  onQuery?: (seconds: number, ok: boolean) => void
}

export const DEFAULT_POOL_SIZE = 10
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000

/** SQLSTATE classes that mean "the database is not usable right now; try again" (PostgreSQL appendix A). */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0.|57014|40001|40P01)$/
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
const TRANSIENT_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|is not queryable|Query read timeout/i

/** Whether a `pg` error is the connection (not the statement) failing. */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  if (e === null || typeof e !== 'object') return false
  if (
    typeof e.code === 'string' &&
    (TRANSIENT_SQLSTATE.test(e.code) || TRANSIENT_ERRNO.has(e.code))
  )
    return true
  return typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)
}

function classify(err: unknown): unknown {
  if (err instanceof StoreError || !isConnectionFailure(err)) return err
  return new StoreError('STORE_UNAVAILABLE', 'the PostgreSQL store is unavailable', {
    cause: err,
    hint: 'the request can be retried; check that PostgreSQL is up and reachable',
  })
}

const INT8_OID = 20

export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const { connectionString, schema } = splitUrl(options.url, options.schema)
  const types = {
    getTypeParser(oid: number, format?: string) {
      // Epoch milliseconds and counts fit in a double; returning strings would split row shapes by engine.
      if (oid === INT8_OID) return (value: string) => Number(value)
      return pg.types.getTypeParser(oid, format as 'text')
    },
  }
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    application_name: options.applicationName ?? 'podtrust',
    keepAlive: true,
    types: types as pg.CustomTypesConfig,
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  })
  const connectionError = (err: Error): void => {
    try {
      options.onConnectionError?.(err)
    } catch {
      /* a failing observer must not turn a lost connection into a crash */
    }
  }
  // An idle client's connection error must not crash the process; the pool drops it, the next query reconnects.
  pool.on('error', connectionError)
  try {
    const client = await pool.connect()
    client.on('error', connectionError)
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    } finally {
      client.release()
      client.off('error', connectionError)
    }
  } catch (err) {
    await pool.end().catch(() => {})
    throw new StoreError('STORE_OPEN_FAILED', 'cannot connect to the PostgreSQL store', {
      cause: err,
      hint: 'check that PostgreSQL answers at the --store URL (host, port, database, user)',
    })
  }

  const inTx = createAsyncScope<{ active: boolean; q: Queryable }>()
  const query = async (
    runner: pg.Pool | pg.PoolClient,
    sql: string,
    params: readonly SqlValue[],
  ): Promise<pg.QueryResult> => {
    const start = performance.now()
    try {
      const res = await runner.query(rewritePlaceholders(sql), bind(params))
      options.onQuery?.((performance.now() - start) / 1000, true)
      return res
    } catch (err) {
      options.onQuery?.((performance.now() - start) / 1000, false)
      throw classify(err)
    }
  }
  const on = (runner: pg.Pool | pg.PoolClient): Queryable => ({
    engine: 'postgres',
    async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
      return (await query(runner, sql, params)).rows as Row[]
    },
    async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
      return (await query(runner, sql, params)).rows[0] as Row | undefined
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
      return { changes: (await query(runner, sql, params)).rowCount ?? 0 }
    },
  })
  const poolQ = on(pool)
  const current = (): Queryable => {
    const tx = inTx.getStore()
    return tx !== undefined && tx.active ? tx.q : poolQ
  }
  let closed = false

  /** A transaction on a connection of its own, whatever the async context holds. */
  const newTransaction = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (err) {
      throw classify(err)
    }
    // A checked-out client has no pool listener: without this one, a backend terminated mid-transaction
    // emits an unhandled 'error' and takes the process down.
    let lost: Error | undefined
    const onClientError = (err: Error): void => {
      lost ??= err
      connectionError(err)
    }
    client.on('error', onClientError)
    const state = { active: true, q: on(client) }
    let broken = false
    try {
      await query(client, 'BEGIN', [])
      try {
        const result = await inTx.run(state, () => fn(state.q))
        state.active = false
        await query(client, 'COMMIT', [])
        return result
      } catch (err) {
        state.active = false
        if (isConnectionFailure(err) || lost !== undefined) broken = true
        else
          await client.query('ROLLBACK').catch(() => {
            broken = true
          })
        throw classify(err)
      }
    } catch (err) {
      if (
        isConnectionFailure(err) ||
        (err instanceof StoreError && err.code === 'STORE_UNAVAILABLE')
      )
        broken = true
      throw err
    } finally {
      // Released with its error, the pool destroys the client instead of handing it out again. Such a
      // client keeps our listener: a late socket error after the release must still find one.
      const failure = lost ?? (broken ? new Error('connection broken') : undefined)
      client.release(failure)
      if (failure === undefined) client.off('error', onClientError)
    }
  }

  return {
    engine: 'postgres',
    all: (sql, params) => current().all(sql, params),
    get: (sql, params) => current().get(sql, params),
    run: (sql, params) => current().run(sql, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const outer = inTx.getStore()
      if (outer !== undefined && outer.active) return fn(outer.q)
      return newTransaction(fn)
    },
    async insertMany(sql, rows) {
      if (rows.length === 0) return
      // Always its own transaction: an append never joins the caller's.
      await newTransaction(async (tx) => {
        for (const row of rows) await tx.run(sql, row)
      })
    },
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}

function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (typeof p === 'bigint' ? p.toString() : p))
}

/** Separates podtrust's own `schema` parameter from what `pg` understands. */
export function splitUrl(
  url: string,
  schemaOption: string | undefined,
): { connectionString: string; schema: string | undefined } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (err) {
    throw new StoreError('STORE_URL_INVALID', 'the store URL is not a valid URL', {
      cause: err,
      hint: 'use postgres://USER@HOST:PORT/DATABASE',
    })
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StoreError(
      'STORE_URL_INVALID',
      `unsupported store URL scheme \`${parsed.protocol}\``,
      {
        hint: 'use postgres://USER@HOST:PORT/DATABASE, or omit --store for the embedded SQLite store',
      },
    )
  }
  const fromUrl = parsed.searchParams.get('schema') ?? undefined
  parsed.searchParams.delete('schema')
  const schema = schemaOption ?? fromUrl
  if (schema !== undefined && !isSafeIdentifier(schema)) {
    throw new StoreError('STORE_URL_INVALID', `invalid schema name \`${schema}\``, {
      hint: 'a schema name is letters, digits and underscores, starting with a letter',
    })
  }
  return { connectionString: parsed.toString(), schema }
}
