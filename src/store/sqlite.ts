/**
 * @module store/sqlite
 * The embedded engine: one better-sqlite3 connection in WAL mode. better-sqlite3 is synchronous; the async
 * `Db` surface lets PostgreSQL share the interface. Transactions hold a mutex so statements of concurrent
 * requests never run inside another request's transaction; statements issued through the `Db` from inside a
 * transaction callback (same async context) join that transaction instead of deadlocking on the mutex.
 */
import Database from 'better-sqlite3'
import type { Db, Queryable, RunResult, SqlValue } from './db.ts'
import { createAsyncScope } from './async-scope.ts'
import { createMutex } from './lock.ts'
import { createSqliteBatchWriter } from './sqlite-writer.ts'

type BetterDb = InstanceType<typeof Database>

export interface SqliteOptions {
  /** File path, or `:memory:`. */
  file: string
  /**
   * `FULL` (default) makes every commit durable across power loss; group commit in the audit log keeps
   * that affordable. `NORMAL` is durable across process crashes only.
   */
  synchronous?: 'FULL' | 'NORMAL'
}

export function openSqlite(options: SqliteOptions): Db {
  const raw: BetterDb = new Database(options.file)
  raw.pragma('journal_mode = WAL')
  raw.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
  raw.pragma('foreign_keys = ON')
  // Another process (the CLI while the server runs) may hold the write lock briefly.
  raw.pragma('busy_timeout = 5000')
  const mutex = createMutex()
  // The open transaction of the current async context; `active` turns false at commit/rollback, so work
  // scheduled from inside a transaction (timers, background flushes) does not bypass the mutex later.
  const inTx = createAsyncScope<{ active: boolean }>()
  const cache = new Map<string, Database.Statement>()
  let closed = false
  // An in-memory database exists on this connection only: its batches commit here.
  const writer =
    options.file === ':memory:'
      ? undefined
      : createSqliteBatchWriter({ file: options.file, synchronous: options.synchronous ?? 'FULL' })

  const prepare = (sql: string): Database.Statement => {
    let stmt = cache.get(sql)
    if (stmt === undefined) {
      stmt = raw.prepare(sql)
      if (cache.size > 500) cache.clear()
      cache.set(sql, stmt)
    }
    return stmt
  }

  const direct: Queryable = {
    async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
      return prepare(sql).all(...bind(params)) as Row[]
    },
    async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
      return prepare(sql).get(...bind(params)) as Row | undefined
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
      const stmt = prepare(sql)
      // A statement that returns rows (RETURNING) must be stepped with all().
      if (stmt.reader) {
        const rows = stmt.all(...bind(params))
        return { changes: rows.length }
      }
      return { changes: stmt.run(...bind(params)).changes }
    },
  }

  /** Runs a statement outside any transaction once no transaction holds the connection. */
  const guarded = async <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => {
    if (inTx.getStore()?.active === true) return fn(direct)
    if (!mutex.locked) return fn(direct)
    const release = await mutex.acquire()
    try {
      return await fn(direct)
    } finally {
      release()
    }
  }

  return {
    engine: 'sqlite',
    all: (sql, params) => guarded((q) => q.all(sql, params)),
    get: (sql, params) => guarded((q) => q.get(sql, params)),
    run: (sql, params) => guarded((q) => q.run(sql, params)),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      if (inTx.getStore()?.active === true) return fn(direct)
      const release = await mutex.acquire()
      const state = { active: true }
      try {
        raw.exec('BEGIN IMMEDIATE')
        try {
          const result = await inTx.run(state, () => fn(direct))
          state.active = false
          raw.exec('COMMIT')
          return result
        } catch (err) {
          state.active = false
          if (raw.inTransaction) raw.exec('ROLLBACK')
          throw err
        }
      } finally {
        release()
      }
    },
    async insertMany(sql, rows) {
      if (writer !== undefined) return writer.insertMany(sql, rows)
      await this.transaction(async (tx) => {
        for (const row of rows) await tx.run(sql, row)
      })
    },
    async close() {
      if (closed) return
      closed = true
      await writer?.close()
      const release = await mutex.acquire()
      try {
        cache.clear()
        raw.close()
      } finally {
        release()
      }
    },
  }
}

/** better-sqlite3 binds Buffers, not bare Uint8Arrays. */
function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) =>
    p instanceof Uint8Array && !Buffer.isBuffer(p)
      ? Buffer.from(p.buffer, p.byteOffset, p.byteLength)
      : p,
  )
}
