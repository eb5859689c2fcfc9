/**
 * @module store/migrate
 * Runs each registered migration once, in list order, recording it in `schema_migrations`. Concurrent
 * starters (two processes on one PostgreSQL database, the CLI beside the server on one SQLite file) are
 * serialized: PostgreSQL by an advisory transaction lock, SQLite by its write lock (BEGIN IMMEDIATE).
 */
import type { Db, Migration, Queryable } from './db.ts'
import { StoreError } from './errors.ts'
import { ddlForPostgres } from './sql.ts'

/** Arbitrary constant: the advisory-lock key podtrust's migration runner takes on PostgreSQL. */
const PG_MIGRATION_LOCK = 7_070_707

export async function runMigrations(
  db: Db,
  migrations: readonly Migration[],
  now: () => Date = () => new Date(),
): Promise<string[]> {
  checkUnique(migrations)
  const applied: string[] = []
  await db.transaction(async (tx) => {
    if (db.engine === 'postgres')
      await tx.get('SELECT pg_advisory_xact_lock(?)', [PG_MIGRATION_LOCK])
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)',
    )
    const done = new Set(
      (await tx.all<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id),
    )
    for (const m of migrations) {
      if (done.has(m.id)) continue
      await applyOne(tx, db.engine, m)
      await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', [
        m.id,
        now().getTime(),
      ])
      applied.push(m.id)
    }
  })
  return applied
}

async function applyOne(tx: Queryable, engine: Db['engine'], m: Migration): Promise<void> {
  for (const [i, statement] of m.sql.entries()) {
    try {
      await tx.run(engine === 'postgres' ? ddlForPostgres(statement) : statement)
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err)
      throw new StoreError(
        'STORE_MIGRATION_FAILED',
        `migration \`${m.id}\` statement ${i + 1} failed on ${engine}: ${detail}`,
        { cause: err },
      )
    }
  }
}

function checkUnique(migrations: readonly Migration[]): void {
  const seen = new Set<string>()
  for (const m of migrations) {
    if (seen.has(m.id)) {
      throw new StoreError('STORE_MIGRATION_FAILED', `migration id \`${m.id}\` is registered twice`)
    }
    seen.add(m.id)
  }
}
