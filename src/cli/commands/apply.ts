/**
 * @module cli/commands/apply
 * `podtrust apply FILE`: validates a YAML config and applies it to the store in one transaction,
 * idempotently. Works whether or not the server runs (the server reads the store on every request).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { applyParsed, parseConfig } from '../../server/config.ts'
import { ConfigError, inConfigFile } from '../../config/errors.ts'
import { UsageError } from '../../errors.ts'
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from '../../server/start.ts'
import type { Command } from '../command.ts'
import {
  accountFlag,
  openStore,
  regionFlag,
  storeArgOptions,
  storeUsage,
} from '../store-options.ts'

const usage = `Usage:
  podtrust apply FILE [--dry-run] [--account-id A] [--region R] [--data-dir DIR] [--store URL]

Applies a declarative YAML config (see docs/config.md); FILE '-' reads stdin. Sections apply in one
transaction: all or nothing. Re-applying the same file changes nothing.

Options:
  --dry-run          validate only; change nothing
  --account-id A     default account for resources without one (default ${DEFAULT_ACCOUNT_ID})
  --region R         default region (default ${DEFAULT_REGION})
${storeUsage}
`

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Apply a declarative YAML config (roles, policies, providers, …)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'dry-run': { type: 'boolean' },
        'account-id': { type: 'string' },
        region: { type: 'string' },
        ...storeArgOptions,
      },
    })
    const [file, ...extra] = positionals
    if (file === undefined) throw new UsageError('missing config FILE')
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    const env = {
      accountId: accountFlag(values['account-id']) ?? DEFAULT_ACCOUNT_ID,
      region: regionFlag(values.region) ?? DEFAULT_REGION,
      now: new Date(),
    }
    let text: string
    try {
      text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(io.cwd, file), 'utf8')
    } catch (err) {
      throw new UsageError(
        `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      )
    }
    let parsed: ReturnType<typeof parseConfig>
    try {
      parsed = parseConfig(text)
    } catch (err) {
      throw err instanceof ConfigError ? inConfigFile(err, file) : err
    }
    const keys = parsed.sections.map((s) => s.section.key)
    if (values['dry-run'] === true) {
      io.stdout.write(`${file}: valid (${keys.join(', ') || 'empty'})\n`)
      return 0
    }
    const db = await openStore(values, io)
    try {
      try {
        await applyParsed(db, parsed, env)
      } catch (err) {
        throw err instanceof ConfigError ? inConfigFile(err, file) : err
      }
      io.stdout.write(`applied ${file}: ${keys.join(', ') || 'nothing to apply'}\n`)
      return 0
    } finally {
      await db.close()
    }
  },
}
