/**
 * @module cli/commands/admin-credentials
 * `podtrust admin-credentials`: prints the bootstrap administrator's access key (creating the user and key
 * on first use, exactly as `podtrust up` does on first start), so a shell can `eval` it:
 *
 * @example
 * eval "$(npx podtrust admin-credentials --data-dir .podtrust --env)"
 */
import { parseArgs } from 'node:util'
import type { Command } from '../command.ts'
import { accountFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'
import { UsageError } from '../../errors.ts'
import { DEFAULT_ACCOUNT_ID } from '../../server/start.ts'
import {
  BOOTSTRAP_ADMIN_USER,
  ensureBootstrapAdmin,
  getBootstrapAdmin,
} from '../../aws/iam/bootstrap.ts'
import { createIamRepo } from '../../aws/iam/repo.ts'

const usage = `Usage:
  podtrust admin-credentials [--env] [--account-id A] [--data-dir DIR] [--store URL]

Prints the access key of the bootstrap administrator (IAM user \`${BOOTSTRAP_ADMIN_USER}\`, AdministratorAccess),
creating it when the store has none yet (\`podtrust up\` creates it on first start).

Options:
  --env              print \`export AWS_ACCESS_KEY_ID=…\` / \`export AWS_SECRET_ACCESS_KEY=…\` lines
  --account-id A     the account (default: the account that holds ${BOOTSTRAP_ADMIN_USER}, else ${DEFAULT_ACCOUNT_ID})
${storeUsage}
`

export const adminCredentialsCommand: Command = {
  name: 'admin-credentials',
  summary: 'Print the bootstrap administrator access key',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { env: { type: 'boolean' }, 'account-id': { type: 'string' }, ...storeArgOptions },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const explicit = accountFlag(values['account-id'])
    const db = await openStore(values, io)
    try {
      let accountId = explicit
      if (accountId === undefined) {
        const repo = createIamRepo(db)
        for (const a of await repo.listAccounts()) {
          if ((await repo.getUser(a.accountId, BOOTSTRAP_ADMIN_USER)) !== undefined) {
            accountId = a.accountId
            break
          }
        }
      }
      accountId ??= DEFAULT_ACCOUNT_ID
      const creds =
        (await getBootstrapAdmin(db, accountId)) ?? (await ensureBootstrapAdmin(db, { accountId }))
      if (values.env === true) {
        io.stdout.write(
          `export AWS_ACCESS_KEY_ID=${creds.accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}\n`,
        )
      } else {
        io.stdout.write(
          `user: ${creds.userArn}\nAWS_ACCESS_KEY_ID=${creds.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}\n`,
        )
      }
      return 0
    } finally {
      await db.close()
    }
  },
}
