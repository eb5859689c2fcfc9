// The SQLite batch writer's thread (src/store/sqlite-writer.ts). Plain JavaScript: worker threads do not
// inherit the tsx loader. It owns one connection to the store file and runs each batch as one transaction,
// so the commit's fsync blocks this thread, not the server's event loop.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ file: string, synchronous: 'FULL' | 'NORMAL' }} */
const { file, synchronous } = workerData
const db = new Database(file)
db.pragma('journal_mode = WAL')
db.pragma(`synchronous = ${synchronous}`)
db.pragma('busy_timeout = 5000')

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map()
const insertAll = db.transaction((/** @type {string} */ sql, /** @type {unknown[][]} */ rows) => {
  let stmt = statements.get(sql)
  if (stmt === undefined) {
    stmt = db.prepare(sql)
    if (statements.size > 100) statements.clear()
    statements.set(sql, stmt)
  }
  for (const row of rows) stmt.run(...row)
})

parentPort?.on(
  'message',
  (/** @type {{ id: number, sql?: string, rows?: unknown[][], close?: boolean }} */ m) => {
    if (m.close === true) {
      db.close()
      parentPort?.postMessage({ id: m.id })
      parentPort?.close()
      return
    }
    try {
      insertAll(m.sql, m.rows)
      parentPort?.postMessage({ id: m.id })
    } catch (err) {
      parentPort?.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) })
    }
  },
)
