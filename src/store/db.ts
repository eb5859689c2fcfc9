/**
 * The one query layer every module's repository uses. Two engines implement it: SQLite (WAL, the embedded
 * default, better-sqlite3) and PostgreSQL (`pg`). SQL is written once in the portable subset both accept:
 * `?` placeholders (the PostgreSQL engine rewrites them to `$n`), TEXT / INTEGER / BIGINT / REAL columns,
 * times stored as epoch milliseconds in BIGINT, JSON stored as TEXT, `ON CONFLICT … DO UPDATE` upserts.
 */
export type SqlValue = string | number | bigint | null | Uint8Array

export interface RunResult {
  changes: number
}

export interface Queryable {
  /** The engine behind this handle (a transaction's too), for the few engine-specific statements (locks). */
  readonly engine?: 'sqlite' | 'postgres'
  all<Row = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
  get<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlValue[],
  ): Promise<Row | undefined>
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>
}

export interface Db extends Queryable {
  readonly engine: 'sqlite' | 'postgres'
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /**
   * Runs `sql` once per row in one transaction and resolves when it is durably committed, without holding
   * the event loop for the commit (SQLite commits on a writer thread). For append-only writes (the audit
   * log): it does not join an enclosing `transaction`.
   */
  insertMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void>
  /** Connection pool occupancy (PostgreSQL; metrics). */
  poolStats?(): { total: number; idle: number; waiting: number }
  close(): Promise<void>
}

/**
 * A versioned schema change owned by one module. `id` is globally unique and sortable within its module
 * (`iam-0001-roles`); migrations run once each, in list order, at start, recorded in `schema_migrations`.
 */
export interface Migration {
  id: string
  sql: string[]
}

/**
 * Runs `fn` in a transaction holding a store-wide lock named `name`, so that check-then-create sequences
 * (an issuer's first signing key, the deployment's CA) happen once even when several replicas start at the
 * same moment. PostgreSQL: a transaction-scoped advisory lock; SQLite: the transaction's write lock
 * (BEGIN IMMEDIATE) already serializes writers. Inside a caller's transaction it joins that transaction.
 */
export async function withStoreLock<T>(
  db: Queryable & { transaction?: Db['transaction'] },
  name: string,
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const locked = async (tx: Queryable): Promise<T> => {
    if ((tx.engine ?? db.engine) === 'postgres')
      await tx.get('SELECT pg_advisory_xact_lock(hashtext(CAST(? AS TEXT))) AS locked', [
        `podtrust:${name}`,
      ])
    return fn(tx)
  }
  return db.transaction === undefined ? locked(db) : db.transaction(locked)
}
