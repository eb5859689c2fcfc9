/**
 * @module cli/commands/audit
 * `podtrust audit tail`: the newest audit events (CloudTrail field names), one JSON object per line;
 * `--follow` keeps printing new ones.
 */
import { parseArgs } from 'node:util'
import { createAuditLog } from '../../audit/log.ts'
import { UsageError } from '../../errors.ts'
import type { Command } from '../command.ts'
import { intFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust audit tail [-n COUNT] [--event NAME] [--failed] [--follow] [--data-dir DIR] [--store URL]

Prints audit events (CloudTrail field names), oldest first, one JSON object per line.

Options:
  -n, --lines COUNT  how many of the newest events (default 20, 1..10000)
  --event NAME       only this eventName (e.g. AssumeRoleWithWebIdentity)
  --failed           only events with an errorCode
  --follow           keep printing new events (poll every second) until interrupted
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
        ...storeArgOptions,
      },
    })
    const [sub, ...extra] = positionals
    if (sub !== 'tail') {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        "use 'audit tail'",
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
