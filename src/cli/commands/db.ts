/**
 * @module cli/commands/db
 * `podtrust db add|list|remove`: the database instances the IAM-auth database proxy serves (the same
 * store as the `databases:` config section). See docs/databases.md.
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../../errors.ts'
import { DbProxyError } from '../../dbproxy/errors.ts'
import {
  type BackendPasswordSource,
  type DbInstance,
  newResourceId,
  parseBackendUrl,
  redactUrl,
  validateInstance,
} from '../../dbproxy/instances.ts'
import { createDbInstanceRepo } from '../../dbproxy/repo.ts'
import type { CliIo, Command } from '../command.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust db add NAME --backend URL --endpoint HOST:PORT [--resource-id db-…] [--iam-users U1,U2]
                  [--backend-password-file USER=FILE]... [--backend-password-env USER=VAR]...
                  [--region R] [--account-id A] [--json] [--data-dir DIR] [--store URL]
  podtrust db list [--json] [--data-dir DIR] [--store URL]
  podtrust db remove NAME [--data-dir DIR] [--store URL]

Declares the database instances the IAM-auth database proxy (podtrust dbproxy, podtrust up
--db-proxy-port) serves. Clients sign their IAM auth token for the endpoint (HOST:PORT they dial);
policies allow rds-db:connect on arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/DB_USER.

Options:
  --backend URL                 the real database: postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB
                                (?sslmode=require|verify-full for TLS to a PostgreSQL backend)
  --endpoint HOST:PORT          the address clients dial (and sign tokens for)
  --resource-id db-…            the DbiResourceId (default: a new one; kept when NAME exists)
  --iam-users U1,U2             database users that may sign in with IAM (default: every user)
  --backend-password-file U=F   the backend password of user U (or *) is in file F (a mounted Secret)
  --backend-password-env U=V    the backend password of user U (or *) is in variable V of the proxy
  --region R, --account-id A    the instance's region and account (default: the server's)
  --json                        print JSON
${storeUsage}
`

function sources(
  values: string[] | undefined,
  kind: 'file' | 'env',
  into: Record<string, BackendPasswordSource>,
): void {
  for (const v of values ?? []) {
    const eq = v.indexOf('=')
    if (eq <= 0 || eq === v.length - 1)
      throw new UsageError(
        `--backend-password-${kind} must be USER=${kind === 'file' ? 'FILE' : 'VARIABLE'}, got '${v}'`,
      )
    into[v.slice(0, eq)] = { [kind]: v.slice(eq + 1) }
  }
}

function describe(i: DbInstance & { createdAt?: Date }) {
  return {
    name: i.name,
    resourceId: i.resourceId,
    engine: i.engine,
    endpoint: i.endpoint,
    backend: redactUrl(i.backend),
    iamUsers: i.iamUsers ?? null,
    ...(i.region === undefined ? {} : { region: i.region }),
    ...(i.accountId === undefined ? {} : { accountId: i.accountId }),
    ...(i.createdAt === undefined ? {} : { createdAt: i.createdAt.toISOString() }),
  }
}

export const dbCommand: Command = {
  name: 'db',
  summary: 'Declare the database instances the IAM-auth database proxy serves',
  usage,
  async run(argv, io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        backend: { type: 'string' },
        endpoint: { type: 'string' },
        'resource-id': { type: 'string' },
        'iam-users': { type: 'string' },
        'backend-password-file': { type: 'string', multiple: true },
        'backend-password-env': { type: 'string', multiple: true },
        region: { type: 'string' },
        'account-id': { type: 'string' },
        json: { type: 'boolean' },
        ...storeArgOptions,
      },
    })
    const [sub, name, ...extra] = positionals
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    if (sub === 'list') {
      if (name !== undefined) throw new UsageError(`unexpected argument '${name}'`)
      const db = await openStore(values, io)
      try {
        const rows = (await createDbInstanceRepo(db).list()).map(describe)
        if (values.json === true) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
        else if (rows.length === 0)
          io.stdout.write('no database instances (add one with podtrust db add)\n')
        else
          for (const r of rows)
            io.stdout.write(
              `${r.name}  ${r.resourceId}  ${r.engine}  ${r.endpoint} → ${r.backend}  iam users: ${r.iamUsers?.join(',') ?? '(all)'}\n`,
            )
        return 0
      } finally {
        await db.close()
      }
    }
    if (sub === 'remove') {
      if (name === undefined) throw new UsageError('db remove needs the instance NAME')
      const db = await openStore(values, io)
      try {
        if (!(await createDbInstanceRepo(db).remove(name)))
          throw new DbProxyError('DB_INSTANCE_NOT_FOUND', `no database instance \`${name}\``, {
            hint: 'podtrust db list shows them',
          })
        io.stdout.write(`removed ${name}\n`)
        return 0
      } finally {
        await db.close()
      }
    }
    if (sub !== 'add')
      throw new UsageError(
        sub === undefined
          ? 'give a subcommand: add, list or remove'
          : `unknown subcommand '${sub}'`,
      )
    if (name === undefined) throw new UsageError('db add needs the instance NAME')
    if (values.backend === undefined) throw new UsageError('db add needs --backend URL')
    if (values.endpoint === undefined)
      throw new UsageError(
        'db add needs --endpoint HOST:PORT',
        'the address clients dial: the proxy, e.g. 127.0.0.1:5433',
      )
    const passwords: Record<string, BackendPasswordSource> = {}
    sources(values['backend-password-file'], 'file', passwords)
    sources(values['backend-password-env'], 'env', passwords)
    const db = await openStore(values, io)
    try {
      const repo = createDbInstanceRepo(db)
      const existing = await repo.get(name)
      const instance = validateInstance({
        name,
        resourceId: values['resource-id'] ?? existing?.resourceId ?? newResourceId(),
        engine: parseBackendUrl(values.backend).engine,
        endpoint: values.endpoint,
        backend: values.backend,
        ...(values['iam-users'] === undefined
          ? {}
          : {
              iamUsers: values['iam-users']
                .split(',')
                .map((u) => u.trim())
                .filter((u) => u !== ''),
            }),
        ...(Object.keys(passwords).length === 0 ? {} : { backendPasswords: passwords }),
        ...(values.region === undefined ? {} : { region: values.region }),
        ...(values['account-id'] === undefined ? {} : { accountId: values['account-id'] }),
      })
      await repo.put(instance, new Date())
      if (values.json === true) io.stdout.write(`${JSON.stringify(describe(instance), null, 2)}\n`)
      else
        io.stdout.write(
          `${existing === undefined ? 'added' : 'updated'} ${instance.name}  ${instance.resourceId}  ${instance.endpoint} → ${redactUrl(instance.backend)}\n`,
        )
      return 0
    } finally {
      await db.close()
    }
  },
}
