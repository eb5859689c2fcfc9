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
