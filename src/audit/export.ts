/**
 * @module audit/export
 * Exports audit events to files a log shipper (Fluent Bit, Vector, the CloudWatch agent…) tails: every event
 * this replica records is appended, after it is committed to the store, as one JSON line to
 * `<dir>/audit-YYYY-MM-DD.jsonl` (UTC day; a new file each day, so shippers and logrotate see plain
 * append-only files). The store stays the durable copy: the export is best effort, and a failed append is
 * logged and counted, never fails the request. Each replica exports what it recorded; with several
 * replicas, ship every replica's directory.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { join } from 'node:path'
import type { AuditEvent, AuditSink, RecordMeta } from './types.ts'
import { normalizeEvent } from './log.ts'

export interface AuditExporter {
  append(event: AuditEvent): void
  close(): Promise<void>
}

export function createAuditExporter(
  dir: string,
  options: { onError?: (err: unknown) => void } = {},
): AuditExporter {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  let day = ''
  let stream: WriteStream | undefined
  const open = (d: string): WriteStream => {
    if (d === day && stream !== undefined) return stream
    stream?.end()
    day = d
    stream = createWriteStream(join(dir, `audit-${d}.jsonl`), { flags: 'a', mode: 0o600 })
    stream.on('error', (err) => options.onError?.(err))
    return stream
  }
  return {
    append(event) {
      open(event.eventTime.slice(0, 10)).write(`${JSON.stringify(event)}\n`)
    },
    close() {
      return new Promise((resolve) => {
        if (stream === undefined) resolve()
        else stream.end(() => resolve())
      })
    },
  }
}

/** A sink that records to `sink` and, once committed, appends the (normalized) event to the exporter. */
export function exportingAuditSink<S extends AuditSink>(sink: S, exporter: AuditExporter): S {
  return new Proxy(sink, {
    get(target, prop, receiver) {
      if (prop === 'record')
        return async (event: AuditEvent, meta?: RecordMeta) => {
          await target.record(event, meta)
          exporter.append(normalizeEvent(event))
        }
      if (prop === 'close')
        return async () => {
          await (target as unknown as { close?: () => Promise<void> }).close?.()
          await exporter.close()
        }
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
}
