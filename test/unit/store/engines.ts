/**
 * Test helper shared by every module that tests against both store engines: a fresh SQLite file in a temp
 * dir, or a fresh PostgreSQL schema (unique per call, dropped on cleanup) at $PODTRUST_TEST_POSTGRES_URL
 * (default postgres://postgres@127.0.0.1:5432/test). When the variable is unset and nothing answers there,
 * `postgresSkipReason()` says why PostgreSQL cases skip.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Db, Migration } from '../../../src/store/db.ts'
import { openDb } from '../../../src/server/store.ts'

export type Engine = 'sqlite' | 'postgres'
export const engines: Engine[] = ['sqlite', 'postgres']

export const postgresUrl =
  process.env['PODTRUST_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test'

let probe: Promise<string | undefined> | undefined

/** undefined when PostgreSQL answers (or the variable is set: then a failure is a failure, not a skip). */
export function postgresSkipReason(): Promise<string | undefined> {
  probe ??= (async () => {
    if (process.env['PODTRUST_TEST_POSTGRES_URL'] !== undefined) return undefined
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.end()
      return undefined
    } catch {
      return `PostgreSQL not reachable at ${postgresUrl} and PODTRUST_TEST_POSTGRES_URL is unset`
    }
  })()
  return probe
}

export interface TestDb {
  db: Db
  dataDir: string
  /** The store URL for this engine (undefined for SQLite) and the schema, to reopen the same store. */
  url: string | undefined
  schema: string | undefined
  cleanup(): Promise<void>
}

export async function openTestDb(
  engine: Engine,
  options: { migrations?: readonly Migration[] } = {},
): Promise<TestDb> {
  const dataDir = mkdtempSync(join(tmpdir(), 'podtrust-store-'))
  const schema =
    engine === 'postgres' ? `t_${process.pid}_${randomBytes(6).toString('hex')}` : undefined
  const url = engine === 'postgres' ? postgresUrl : undefined
  const db = await openDb({
    dataDir,
    ...(url === undefined ? {} : { url }),
    ...(schema === undefined ? {} : { schema }),
    ...(options.migrations === undefined ? {} : { migrations: options.migrations }),
  })
  return {
    db,
    dataDir,
    url,
    schema,
    async cleanup() {
      await db.close()
      if (schema !== undefined) {
        const client = new pg.Client({ connectionString: postgresUrl })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await client.end()
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
