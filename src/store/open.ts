/**
 * @module store/open
 * Opens the store the server and the CLI share: the SQLite file `<dataDir>/podtrust.db` (WAL) by default,
 * PostgreSQL when `url` is a `postgres://` URL; runs the given migrations before returning (the app's list
 * is assembled by the composition root: src/server/store.ts).
 *
 * @example
 * const db = await openDb({ dataDir: '.podtrust' })
 * const db2 = await openDb({ dataDir: '.podtrust', url: 'postgres://postgres@127.0.0.1:5432/test' })
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Db, Migration } from './db.ts'
import { StoreError } from './errors.ts'
import { runMigrations } from './migrate.ts'
import { openPostgres } from './postgres.ts'
import type { PostgresOptions } from './postgres.ts'
import { openSqlite } from './sqlite.ts'

export interface OpenDbOptions {
  /** Data directory: holds the SQLite file (created with mode 0700 when missing). */
  dataDir: string
  /** `postgres://…` selects PostgreSQL; `sqlite:` / `sqlite:PATH` or undefined selects SQLite. */
  url?: string
  /** PostgreSQL schema (tests use one per run); also settable as the URL's `schema` parameter. */
  schema?: string
  /** The migrations to run (the app's list: src/server/store.ts; a module's own: its tests). */
  migrations: readonly Migration[]
  /** SQLite durability (default `FULL`). */
  synchronous?: 'FULL' | 'NORMAL'
  /** PostgreSQL pool settings and observers (pool size, timeouts, connection errors, query latency). */
  postgres?: Omit<PostgresOptions, 'url' | 'schema'>
}

export const SQLITE_FILE_NAME = 'podtrust.db'

export async function openDb(options: OpenDbOptions): Promise<Db> {
  const db = await openEngine(options)
  try {
    await runMigrations(db, options.migrations)
  } catch (err) {
    await db.close()
    throw err
  }
  return db
}

async function openEngine(options: OpenDbOptions): Promise<Db> {
  const url = options.url
  if (url !== undefined && /^postgres(ql)?:/i.test(url)) {
    return openPostgres({
      ...options.postgres,
      url,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
    })
  }
  let file = join(options.dataDir, SQLITE_FILE_NAME)
  if (url !== undefined && url !== '' && url !== 'sqlite' && url !== 'sqlite:') {
    if (!url.startsWith('sqlite:')) {
      throw new StoreError('STORE_URL_INVALID', 'unsupported store URL', {
        hint: 'use postgres://USER@HOST:PORT/DATABASE, sqlite:PATH, or omit --store for the embedded store',
      })
    }
    file = url.slice('sqlite:'.length)
  }
  try {
    if (file !== ':memory:') {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
      restrictToOwner(file)
    }
    return openSqlite({
      file,
      ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    })
  } catch (err) {
    throw new StoreError('STORE_OPEN_FAILED', `cannot open the SQLite store at \`${file}\``, {
      cause: err,
      hint: 'check that the data directory exists and is writable (--data-dir or $PODTRUST_HOME)',
    })
  }
}

/**
 * The store holds secrets (access keys, the session keyring, signing keys): the file is created 0600, and an
 * existing file readable by others is narrowed to 0600. SQLite gives its -wal and -shm files the main
 * file's mode.
 */
function restrictToOwner(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600))
  // Siblings left by a crash or an earlier version keep their own mode: narrow them too.
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  }
}
