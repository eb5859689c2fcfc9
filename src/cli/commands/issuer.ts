/**
 * @module cli/commands/issuer
 * `podtrust issuer show|set-url`: the default issuer's URL is a deployment-wide setting stored in the store;
 * replica starts never change an explicitly set URL (see src/server/identity-settings.ts), this command does.
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { DEFAULT_ISSUER, ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import type { Command } from '../command.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust issuer show [--data-dir DIR] [--store URL]
  podtrust issuer set-url URL [--data-dir DIR] [--store URL]

The default issuer's URL (the \`iss\` of every token podtrust signs, and its discovery document) is stored
once for the whole deployment. \`set-url\` changes it for every replica: tokens signed for the old URL stop
verifying, so restart the replicas with the same --issuer-url and re-issue tokens.

Options:
${storeUsage}
`

export const issuerCommand: Command = {
  name: 'issuer',
  summary: "Show or change the deployment's default issuer URL",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...storeArgOptions },
    })
    const [sub, url, extra] = positionals
    if (sub !== 'show' && sub !== 'set-url')
      throw new UsageError('expected `show` or `set-url URL`')
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
    if (sub === 'set-url' && url === undefined) throw new UsageError('set-url needs the new URL')
    if (sub === 'show' && url !== undefined) throw new UsageError(`unexpected argument '${url}'`)
    const db = await openStore(values, io)
    try {
      if (sub === 'show') {
        io.stdout.write(`${(await getIssuer(db, DEFAULT_ISSUER))?.url ?? '(not set)'}\n`)
        return 0
      }
      const before = (await getIssuer(db, DEFAULT_ISSUER))?.url
      const after = (await ensureIssuer(db, DEFAULT_ISSUER, { url: url!, now: new Date() })).url
      io.stdout.write(
        before === after
          ? `issuer URL unchanged: ${after}\n`
          : `issuer URL changed from ${before ?? '(not set)'} to ${after}\n`,
      )
      return 0
    } finally {
      await db.close()
    }
  },
}
