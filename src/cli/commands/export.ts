/**
 * @module cli/commands/export
 * `podtrust export`: writes the current state as a config document that `podtrust apply` accepts.
 */
import { renameSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import { exportConfig } from '../../server/config.ts'
import { UsageError } from '../../errors.ts'
import { stateToCloudFormation, stateToTerraform } from '../../generate/from-state.ts'
import { writeGeneratedFiles } from '../../generate/write.ts'
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
  podtrust export [--format yaml|terraform|cloudformation] [--out PATH] [--account-id A] [--region R]
                  [--data-dir DIR] [--store URL]

Prints the current configuration (every registered section) as YAML, or writes it to --out FILE.
--format terraform|cloudformation writes the same state as infrastructure as code (docs/iac.md): main.tf, or
one template.json per AWS account; with --out DIR the files go under DIR.

Options:
  --format F         yaml (default), terraform or cloudformation
  --out PATH         write to PATH (a file for yaml, a directory otherwise) instead of stdout
  --account-id A     default account (default ${DEFAULT_ACCOUNT_ID})
  --region R         default region (default ${DEFAULT_REGION})
${storeUsage}
`

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write the current configuration as YAML',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string' },
        format: { type: 'string' },
        'account-id': { type: 'string' },
        region: { type: 'string' },
        ...storeArgOptions,
      },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const format = values.format ?? 'yaml'
    if (!['yaml', 'terraform', 'cloudformation'].includes(format)) {
      throw new UsageError(`unknown format '${format}'`, 'one of yaml, terraform, cloudformation')
    }
    const env = {
      accountId: accountFlag(values['account-id']) ?? DEFAULT_ACCOUNT_ID,
      region: regionFlag(values.region) ?? DEFAULT_REGION,
      now: new Date(),
    }
    const db = await openStore(values, io)
    try {
      const yaml = await exportConfig(db, env)
      if (format !== 'yaml') {
        const state = (parse(yaml) ?? {}) as Record<string, unknown>
        const files =
          format === 'terraform'
            ? stateToTerraform(state, env.accountId, env.region)
            : stateToCloudFormation(state, env.accountId)
        if (values.out === undefined) {
          for (const f of files)
            io.stdout.write(files.length > 1 ? `# ---- ${f.path}\n${f.content}` : f.content)
        } else {
          for (const path of writeGeneratedFiles(resolve(io.cwd, values.out), files))
            io.stderr.write(`wrote ${path}\n`)
        }
        return 0
      }
      if (values.out === undefined) io.stdout.write(yaml)
      else {
        const file = resolve(io.cwd, values.out)
        writeFileSync(`${file}.tmp`, yaml, { mode: 0o600 })
        renameSync(`${file}.tmp`, file)
      }
      return 0
    } finally {
      await db.close()
    }
  },
}
