/**
 * @module cli/commands/audit
 * `podtrust audit tail`: the newest audit events (CloudTrail field names), one JSON object per line;
 * `--follow` keeps printing new ones. `podtrust audit query`: filtered events (time range, principal, role,
 * action, decision, source address) as JSON Lines or CSV; `podtrust audit prune`: apply a retention now.
 */
import { parseArgs } from 'node:util'
import { createAuditLog, roleArnOf } from '../../audit/log.ts'
import { pruneAudit } from '../../audit/maintenance.ts'
import {
  AuditQueryError,
  CSV_COLUMNS,
  MAX_PAGE_SIZE,
  csvRow,
  parseTimeBound,
  queryAudit,
} from '../../audit/query.ts'
import type { AuditFilter } from '../../audit/query.ts'
import { UsageError } from '../../errors.ts'
import type { CliIo, Command } from '../command.ts'
import { intFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust audit tail [-n COUNT] [--event NAME] [--failed] [--follow] [--data-dir DIR] [--store URL]

  podtrust audit query [--since T] [--until T] [--principal ARN] [--role ARN] [--action NAME]
                       [--decision allow|deny|CODE] [--source-ip IP] [--event-source S]
                       [--format jsonl|csv] [--limit N] [--data-dir DIR] [--store URL]
  podtrust audit prune [--older-than D] [--keep N] [--data-dir DIR] [--store URL]

tail prints the newest audit events (CloudTrail field names), oldest first, one JSON object per line.
query prints every event matching all the filters given, oldest first (T: RFC 3339 or a duration ago such
as 15m, 12h, 7d); --format csv writes a header and the columns of docs/operations.md.
prune deletes events older than D days and/or all but the newest N, in small batches.

Options:
  -n, --lines COUNT  how many of the newest events (default 20, 1..10000)
  --event NAME       only this eventName (e.g. AssumeRoleWithWebIdentity)
  --failed           only events with an errorCode
  --follow           keep printing new events (poll every second) until interrupted
  --limit N          query: at most N events (default: all)
${storeUsage}
`

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Show the audit log (audit tail)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        lines: { type: 'string', short: 'n' },
        event: { type: 'string' },
        failed: { type: 'boolean' },
        follow: { type: 'boolean' },
        since: { type: 'string' },
        until: { type: 'string' },
        principal: { type: 'string' },
        role: { type: 'string' },
        action: { type: 'string' },
        decision: { type: 'string' },
        'source-ip': { type: 'string' },
        'event-source': { type: 'string' },
        format: { type: 'string' },
        limit: { type: 'string' },
        'older-than': { type: 'string' },
        keep: { type: 'string' },
        ...storeArgOptions,
      },
    })
    const [sub, ...extra] = positionals
    if (sub === 'query' || sub === 'prune') {
      if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
      return sub === 'query' ? runQuery(values, io) : runPrune(values, io)
    }
    if (sub !== 'tail') {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        "use 'audit tail', 'audit query' or 'audit prune'",
      )
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    const limit = intFlag('lines', values.lines, 1, 10_000) ?? 20
    if (values.event !== undefined && !/^[A-Za-z0-9.:_-]{1,128}$/.test(values.event)) {
      throw new UsageError(`invalid --event '${values.event}'`)
    }
    const db = await openStore(values, io)
    try {
      const log = createAuditLog(db)
      const filter = {
        ...(values.event === undefined ? {} : { eventName: values.event }),
        ...(values.failed === true ? { failed: true } : {}),
      }
      let last = 0
      for (const e of await log.tail({ limit, ...filter })) {
        io.stdout.write(`${JSON.stringify(e.event)}\n`)
        last = e.seq
      }
      if (values.follow !== true) return 0
      if (last === 0) last = (await log.tail({ limit: 1 }))[0]?.seq ?? 0
      // Until SIGINT or SIGTERM; both listeners go when the loop ends, however it ends.
      let stop = false
      let wake: (() => void) | undefined
      const onSignal = (): void => {
        stop = true
        wake?.()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      try {
        while (!stop) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 1000)
            wake = () => {
              clearTimeout(timer)
              resolve()
            }
          })
          if (stop) break
          for (const e of await log.tail({ afterSeq: last, limit: 1000, ...filter })) {
            io.stdout.write(`${JSON.stringify(e.event)}\n`)
            last = e.seq
          }
        }
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
      return 0
    } finally {
      await db.close()
    }
  },
}

type QueryValues = Record<string, string | boolean | undefined> & {
  'data-dir'?: string
  store?: string
}

async function runQuery(values: QueryValues, io: CliIo): Promise<number> {
  const str = (k: string): string | undefined => {
    const v = values[k]
    return typeof v === 'string' ? v : undefined
  }
  const format = str('format') ?? 'jsonl'
  if (format !== 'jsonl' && format !== 'csv')
    throw new UsageError(`--format must be jsonl or csv, got '${format}'`)
  const limit = intFlag('limit', str('limit'), 1, 1e9)
  const now = new Date()
  let filter: AuditFilter
  try {
    filter = {
      ...(str('since') === undefined
        ? {}
        : { since: parseTimeBound(str('since')!, now, '--since') }),
      ...(str('until') === undefined
        ? {}
        : { until: parseTimeBound(str('until')!, now, '--until') }),
      ...(str('principal') === undefined ? {} : { principal: str('principal')! }),
      ...(str('role') === undefined ? {} : { role: str('role')! }),
      ...(str('action') === undefined ? {} : { action: str('action')! }),
      ...(str('decision') === undefined ? {} : { decision: str('decision')! }),
      ...(str('source-ip') === undefined ? {} : { sourceIp: str('source-ip')! }),
      ...(str('event-source') === undefined ? {} : { eventSource: str('event-source')! }),
    }
  } catch (err) {
    if (err instanceof AuditQueryError) throw new UsageError(err.message)
    throw err
  }
  const db = await openStore(values, io)
  try {
    if (format === 'csv') io.stdout.write(`${CSV_COLUMNS.join(',')}\n`)
    let written = 0
    let nextToken: string | undefined
    do {
      const want = limit === undefined ? MAX_PAGE_SIZE : Math.min(MAX_PAGE_SIZE, limit - written)
      const page = await queryAudit(db, filter, {
        limit: want,
        ...(nextToken === undefined ? {} : { nextToken }),
      })
      for (const e of page.events) {
        io.stdout.write(
          format === 'csv' ? `${csvRow(e, roleArnOf(e))}\n` : `${JSON.stringify(e)}\n`,
        )
      }
      written += page.events.length
      nextToken = page.nextToken
    } while (nextToken !== undefined && (limit === undefined || written < limit))
    return 0
  } finally {
    await db.close()
  }
}

async function runPrune(values: QueryValues, io: CliIo): Promise<number> {
  const olderThan = typeof values['older-than'] === 'string' ? values['older-than'] : undefined
  const keep = intFlag(
    'keep',
    typeof values['keep'] === 'string' ? values['keep'] : undefined,
    1,
    1e12,
  )
  const days = olderThan === undefined ? undefined : Number(olderThan.replace(/d$/, ''))
  if (days !== undefined && !(days > 0))
    throw new UsageError(
      `--older-than must be a number of days (e.g. 90 or 90d), got '${olderThan}'`,
    )
  if (days === undefined && keep === undefined)
    throw new UsageError('give --older-than and/or --keep')
  const db = await openStore(values, io)
  try {
    const n = await pruneAudit(db, {
      now: new Date(),
      ...(days === undefined ? {} : { maxAgeDays: days }),
      ...(keep === undefined ? {} : { maxEvents: keep }),
    })
    io.stdout.write(`pruned ${n} audit events\n`)
    return 0
  } finally {
    await db.close()
  }
}
