import type { Queryable } from '../store/db.ts'

/**
 * One top-level key of podtrust's declarative YAML config (`roles`, `oidcProviders`, `clusters`, `azure`,
 * `gcp`, …). The owning module validates and applies its section idempotently and can export it back, so
 * `podtrust apply FILE` and `podtrust export` round-trip. Sections apply in registry order in one transaction.
 */
export interface ConfigSection<T = unknown> {
  key: string
  /** Validates the raw YAML value; throws a `ConfigError` naming the path (`roles[2].name …`). */
  parse(value: unknown, path: string): T
  apply(tx: Queryable, value: T, env: ConfigEnv): Promise<void>
  export(db: Queryable, env: ConfigEnv): Promise<T | undefined>
}

export interface ConfigEnv {
  accountId: string
  region: string
  now: Date
}
