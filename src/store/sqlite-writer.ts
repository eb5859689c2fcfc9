/**
 * @module store/sqlite-writer
 * Durable batch inserts for the SQLite engine, committed on a worker thread with its own connection (WAL
 * lets the server's connection keep reading meanwhile). better-sqlite3 is synchronous, so a commit on the
 * server's connection would block the event loop for the whole fsync; with group-committed audit events
 * that stall was the largest cost of an STS call (profiled: ~10 % of AssumeRoleWithWebIdentity at c=32).
 */
import { Worker } from 'node:worker_threads'
import type { SqlValue } from './db.ts'
import { StoreError } from './errors.ts'

export interface SqliteBatchWriter {
  /** Inserts every row with `sql` in one transaction; resolves once it is committed. */
  insertMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void>
  close(): Promise<void>
}

interface Pending {
  resolve: () => void
  reject: (err: unknown) => void
}

const WORKER_URL = new URL('./sqlite-writer.worker.mjs', import.meta.url)

export function createSqliteBatchWriter(options: {
  file: string
  synchronous: 'FULL' | 'NORMAL'
}): SqliteBatchWriter {
  let worker: Worker | undefined
  let nextId = 1
  const pending = new Map<number, Pending>()
  let closed = false

  const failAll = (err: unknown) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  const start = (): Worker => {
    const w = new Worker(WORKER_URL, { workerData: options })
    w.on('message', (m: { id: number; error?: string }) => {
      const p = pending.get(m.id)
      if (p === undefined) return
      pending.delete(m.id)
      if (m.error === undefined) p.resolve()
      else p.reject(new StoreError('STORE_WRITE_FAILED', `batch insert failed: ${m.error}`))
    })
    w.on('error', (err) => {
      worker = undefined
      failAll(
        new StoreError('STORE_WRITE_FAILED', 'the SQLite writer thread failed', { cause: err }),
      )
    })
    w.on('exit', () => {
      if (worker === w) worker = undefined
      failAll(new StoreError('STORE_WRITE_FAILED', 'the SQLite writer thread exited'))
    })
    // Idle, the thread must not keep the process alive; pending writes ref it again (below).
    w.unref()
    return w
  }

  const send = (message: object): Promise<void> => {
    const w = worker ?? (worker = start())
    const id = nextId++
    return new Promise<void>((resolve, reject) => {
      pending.set(id, {
        resolve: () => {
          if (pending.size === 0) w.unref()
          resolve()
        },
        reject,
      })
      w.ref()
      w.postMessage({ id, ...message })
    })
  }

  return {
    insertMany(sql, rows) {
      if (closed) return Promise.reject(new StoreError('STORE_WRITE_FAILED', 'the store is closed'))
      if (rows.length === 0) return Promise.resolve()
      return send({ sql, rows })
    },
    async close() {
      if (closed) return
      closed = true
      const w = worker
      if (w === undefined) return
      // Messages are handled in order: everything sent before is committed when this answers.
      await send({ close: true }).catch(() => {})
      await w.terminate()
      worker = undefined
    },
  }
}
