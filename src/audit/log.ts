/**
 * @module audit/log
 * The durable audit log. `record(event)` resolves once the event is committed; events recorded while a
 * commit is in flight are written together by the next one (group commit), so one fsync serves many
 * requests and durability does not serialize them.
 */
import { randomUUID } from 'node:crypto'
import type { Db } from '../store/db.ts'
import { boundEvent } from './bounds.ts'
import { redact } from './redact.ts'
import type { AuditEvent, AuditSink } from './types.ts'

export interface AuditLogOptions {
  /** Most events in one commit (default 500). */
  maxBatch?: number
  /** Called for each event cut to the per-event bound (metrics). */
  onOmitted?: () => void
}

export interface StoredAuditEvent {
  /** Monotonic position in the log, for `tail --follow`. */
  seq: number
  event: AuditEvent
}

export interface TailOptions {
  /** The newest `limit` events (default 20), oldest first. */
  limit?: number
  /** Only events after this position (then the oldest `limit` after it). */
  afterSeq?: number
  eventName?: string
  /** Only events with an errorCode (true) or without (false). */
  failed?: boolean
}

export interface AuditLog extends AuditSink {
  tail(options?: TailOptions): Promise<StoredAuditEvent[]>
  /** Resolves when everything recorded so far is durable. */
  flush(): Promise<void>
  /** Flushes, then refuses new events. Does not close the Db. */
  close(): Promise<void>
}

interface Pending {
  event: AuditEvent
  resolve: () => void
  reject: (err: unknown) => void
}

/** Ensures the CloudTrail identity fields every event has, strips secrets and bounds its size. */
export function normalizeEvent(event: AuditEvent): AuditEvent {
  // redact() returns a copy, so the result is ours to complete in place.
  const clean = boundEvent(redact(event) as AuditEvent)
  if (!clean.eventID) clean.eventID = randomUUID()
  clean.eventVersion = '1.08'
  return clean
}

/** The role an event is about: the session's issuer, else the requested role. */
export function roleArnOf(e: AuditEvent): string | null {
  const issuer = (
    e.userIdentity['sessionContext'] as { sessionIssuer?: { arn?: unknown } } | undefined
  )?.sessionIssuer?.arn
  if (typeof issuer === 'string') return issuer
  const requested = e.requestParameters?.['roleArn']
  if (typeof requested === 'string') return requested
  const assumed = (e.responseElements?.['assumedRoleUser'] as { arn?: unknown } | undefined)?.arn
  return typeof assumed === 'string' ? assumed : null
}

export function createAuditLog(db: Db, options: AuditLogOptions = {}): AuditLog {
  const maxBatch = options.maxBatch ?? 500
  let queue: Pending[] = []
  let writing: Promise<void> | undefined
  let closed = false

  const writeBatch = (batch: Pending[]): Promise<void> =>
    db.insertMany(
      `INSERT INTO audit_events (event_id, event_time, event_source, event_name, error_code, principal_arn, source_ip, role_arn, event)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      batch.map(({ event: e }) => [
        e.eventID,
        Date.parse(e.eventTime) || 0,
        e.eventSource,
        e.eventName,
        e.errorCode ?? null,
        e.userIdentity.arn ?? null,
        e.sourceIPAddress || null,
        roleArnOf(e),
        JSON.stringify(e),
      ]),
    )

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch)
      queue = queue.slice(batch.length)
      try {
        await writeBatch(batch)
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
  }

  const kick = (): void => {
    if (writing !== undefined) return
    // One macrotask of gathering lets concurrent requests join the same commit.
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).finally(() => {
      writing = undefined
      if (queue.length > 0) kick()
    })
  }

  return {
    record(event) {
      if (closed) return Promise.reject(new Error('audit log is closed'))
      const normalized = normalizeEvent(event)
      if (normalized.omitted === true) options.onOmitted?.()
      return new Promise<void>((resolve, reject) => {
        queue.push({ event: normalized, resolve, reject })
        kick()
      })
    },
    async flush() {
      while (writing !== undefined || queue.length > 0) {
        if (writing === undefined) kick()
        await writing
      }
    },
    async close() {
      closed = true
      await this.flush()
    },
    async tail(opts = {}) {
      const limit = Math.max(1, Math.min(opts.limit ?? 20, 10_000))
      const where: string[] = []
      const params: (string | number)[] = []
      if (opts.afterSeq !== undefined) {
        where.push('seq > ?')
        params.push(opts.afterSeq)
      }
      if (opts.eventName !== undefined) {
        where.push('event_name = ?')
        params.push(opts.eventName)
      }
      if (opts.failed !== undefined)
        where.push(opts.failed ? 'error_code IS NOT NULL' : 'error_code IS NULL')
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
      // Without a cursor: the newest `limit`; with one: the next `limit` after it. Both returned oldest first.
      const order = opts.afterSeq === undefined ? 'DESC' : 'ASC'
      const rows = await db.all<{ seq: number; event: string }>(
        `SELECT seq, event FROM audit_events ${clause} ORDER BY seq ${order} LIMIT ${limit}`,
        params,
      )
      const out = rows.map((r) => ({
        seq: Number(r.seq),
        event: JSON.parse(r.event) as AuditEvent,
      }))
      return order === 'DESC' ? out.reverse() : out
    },
  }
}

/** RFC 3339 UTC with whole seconds, as CloudTrail writes `eventTime`. */
export function auditTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
