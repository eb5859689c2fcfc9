/**
 * @module store/postgres
 * The PostgreSQL engine (`pg` pool). Placeholders are rewritten from `?` to `$n`; BIGINT (int8) and
 * NUMERIC counts come back as JavaScript numbers, like SQLite's, so repositories see one row shape.
 * An optional schema (`search_path`) isolates test runs and lets several stacks share one database.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import pg from 'pg'
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
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    types: types as pg.CustomTypesConfig,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  })
  // An idle client's connection error must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  try {
    const client = await pool.connect()
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    } finally {
      client.release()
    }
  } catch (err) {
    await pool.end().catch(() => {})
    throw new StoreError('STORE_OPEN_FAILED', 'cannot connect to the PostgreSQL store', {
      cause: err,
      hint: 'check that PostgreSQL answers at the --store URL (host, port, database, user)',
    })
  }

  const inTx = new AsyncLocalStorage<{ active: boolean; q: Queryable }>()
  const on = (runner: pg.Pool | pg.PoolClient): Queryable => ({
    async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
      const res = await runner.query(rewritePlaceholders(sql), bind(params))
      return res.rows as Row[]
    },
    async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
      const res = await runner.query(rewritePlaceholders(sql), bind(params))
      return res.rows[0] as Row | undefined
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
      const res = await runner.query(rewritePlaceholders(sql), bind(params))
      return { changes: res.rowCount ?? 0 }
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
    const client = await pool.connect()
    const state = { active: true, q: on(client) }
    let broken = false
    try {
      await client.query('BEGIN')
      try {
        const result = await inTx.run(state, () => fn(state.q))
        state.active = false
        await client.query('COMMIT')
        return result
      } catch (err) {
        state.active = false
        await client.query('ROLLBACK').catch(() => {
          broken = true
        })
        throw err
      }
    } finally {
      client.release(broken)
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
