/**
 * @module audit/maintenance
 * Audit retention: events older than `maxAgeDays`, and all but the newest `maxEvents`, are deleted in the
 * background, in small batches with a yield between them, so pruning never holds a request (or the SQLite
 * connection) for long. Several replicas may prune the same store at once: deletes are idempotent.
 */
import type { Db } from '../store/db.ts'

export interface AuditRetentionOptions {
  maxAgeDays?: number
  maxEvents?: number
}

export interface AuditMaintenanceOptions extends AuditRetentionOptions {
  now?: () => Date
  /** How often to prune (default 60 s); the first pass runs after `firstDelayMs` (default 5 s). */
  intervalMs?: number
  firstDelayMs?: number
  /** Rows per DELETE (default 1000). */
  batchSize?: number
  log?: {
    info(e: string, f?: Record<string, unknown>): void
    warn(e: string, f?: Record<string, unknown>): void
  }
}

/** Deletes what retention allows, batch by batch; returns how many events were deleted. */
export async function pruneAudit(
  db: Db,
  options: AuditRetentionOptions & { now: Date; batchSize?: number },
): Promise<number> {
  const batch = options.batchSize ?? 1000
  let deleted = 0
  let bound = -1
  if (options.maxAgeDays !== undefined) {
    const cutoff = options.now.getTime() - options.maxAgeDays * 86_400_000
    const row = await db.get<{ seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM audit_events WHERE event_time < ?',
      [cutoff],
    )
    if (row?.seq !== null && row?.seq !== undefined) bound = Math.max(bound, Number(row.seq))
  }
  if (options.maxEvents !== undefined) {
    const row = await db.get<{ seq: number }>(
      `SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1 OFFSET ${Math.floor(options.maxEvents)}`,
    )
    if (row !== undefined) bound = Math.max(bound, Number(row.seq))
  }
  if (bound < 0) return 0
  for (;;) {
    const r = await db.run(
      `DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_events WHERE seq <= ? ORDER BY seq LIMIT ${batch})`,
      [bound],
    )
    deleted += r.changes
    if (r.changes < batch) return deleted
    // Let requests in between batches.
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Starts periodic pruning when a retention is configured; returns a stop function. */
export function startAuditMaintenance(
  db: Db,
  options: AuditMaintenanceOptions,
): (() => Promise<void>) | undefined {
  if (options.maxAgeDays === undefined && options.maxEvents === undefined) return undefined
  const now = options.now ?? (() => new Date())
  let running: Promise<void> | undefined
  let stopped = false
  const pass = (): void => {
    if (running !== undefined || stopped) return
    running = pruneAudit(db, { ...options, now: now() })
      .then((n) => {
        if (n > 0) options.log?.info('audit.pruned', { events: n })
      })
      .catch((err: unknown) => options.log?.warn('audit.prune_failed', { error: err }))
      .finally(() => {
        running = undefined
      })
  }
  const first = setTimeout(pass, options.firstDelayMs ?? 5000)
  const timer = setInterval(pass, options.intervalMs ?? 60_000)
  first.unref()
  timer.unref()
  return async () => {
    stopped = true
    clearTimeout(first)
    clearInterval(timer)
    await running
  }
}
