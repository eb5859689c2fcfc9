/**
 * @module cli/commands/dbproxy
 * `podtrust dbproxy`: the IAM-auth database proxy on its own (the in-cluster form): PostgreSQL (and MySQL)
 * clients connect with TLS and an IAM auth token as the password; the proxy verifies the token against the
 * store's credentials, authorizes rds-db:connect and relays to the backend. Runs until SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DbProxyError } from '../../dbproxy/errors.ts'
import { startDbProxy, type RunningDbProxy } from '../../dbproxy/server.ts'
import { UsageError } from '../../errors.ts'
import type { LogLevel } from '../../server/logger.ts'
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, startServer } from '../../server/start.ts'
import type { Command } from '../command.ts'
import {
  accountFlag,
  dataDirOf,
  intFlag,
  regionFlag,
  storeArgOptions,
  storeUrlOf,
  storeUsage,
} from '../store-options.ts'

const usage = `Usage:
  podtrust dbproxy --port PORT [--config FILE]... [--host HOST] [--tls-cert FILE --tls-key FILE]
                   [--tls-name NAME]... [--health-port PORT] [--idle-timeout SECONDS]
                   [--region R] [--account-id A] [--log-level LEVEL] [--data-dir DIR] [--store URL]

Serves the database instances of the store (podtrust db add, or 'databases:' in a config file) with
IAM database authentication: TLS required, the password is an IAM auth token (aws rds
generate-db-auth-token), rds-db:connect is authorized by podtrust's policy engine, every decision is
audited. Prints a line with 'ready' once it accepts connections.

Options:
  --port PORT            the proxy's port (0 = any free port)
  --config FILE          apply this YAML config at start; repeatable (see docs/databases.md)
  --host HOST            listen address (default 127.0.0.1)
  --tls-cert FILE        serving certificate (PEM); default: one issued by podtrust's CA (DIR/ca/ca.pem)
  --tls-key FILE         its private key (PEM)
  --tls-name NAME        extra DNS name or IP for the CA-issued certificate; repeatable
  --health-port PORT     /healthz, /readyz and /metrics on 127.0.0.1:PORT (default: any free port)
  --idle-timeout SECONDS close sessions idle this long (default: never)
  --region R             default region of instances (default ${DEFAULT_REGION})
  --account-id A         default account of instances (default ${DEFAULT_ACCOUNT_ID})
  --log-level LEVEL      info, warn, error or silent (default info)
${storeUsage}
`

export const dbproxyCommand: Command = {
  name: 'dbproxy',
  summary: 'Run the IAM-auth database proxy (PostgreSQL, MySQL) in front of real databases',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        config: { type: 'string', multiple: true },
        host: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-name': { type: 'string', multiple: true },
        'health-port': { type: 'string' },
        'idle-timeout': { type: 'string' },
        region: { type: 'string' },
        'account-id': { type: 'string' },
        'log-level': { type: 'string' },
        ...storeArgOptions,
      },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const port = intFlag('port', values.port, 0, 65_535)
    if (port === undefined) throw new UsageError('dbproxy needs --port PORT')
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
      throw new UsageError('give --tls-cert and --tls-key together')
    const logLevel = values['log-level'] ?? 'info'
    if (!['info', 'warn', 'error', 'silent'].includes(logLevel))
      throw new UsageError(`--log-level must be info, warn, error or silent, got '${logLevel}'`)
    const idle = intFlag('idle-timeout', values['idle-timeout'], 0, 7 * 86_400) ?? 0
    const dataDir = dataDirOf(values['data-dir'], io)
    const store = storeUrlOf(values.store, io)
    const tls =
      values['tls-cert'] === undefined
        ? undefined
        : {
            certPem: readFileSync(resolve(io.cwd, values['tls-cert']), 'utf8'),
            keyPem: readFileSync(resolve(io.cwd, values['tls-key'] as string), 'utf8'),
          }
    let started: RunningDbProxy | undefined
    const server = await startServer({
      dataDir,
      ...(store === undefined ? {} : { store }),
      port: intFlag('health-port', values['health-port'], 0, 65_535) ?? 0,
      region: regionFlag(values.region) ?? DEFAULT_REGION,
      accountId: accountFlag(values['account-id']) ?? DEFAULT_ACCOUNT_ID,
      configFiles: (values.config ?? []).map((f) => resolve(io.cwd, f)),
      logLevel: logLevel as LogLevel,
      // Only health, readiness and metrics: the proxy's host serves no STS or IAM API.
      modules: [],
      // /readyz turns ready only once the proxy accepts connections.
      beforeReady: async (ctx) => {
        started = await startDbProxy(ctx, {
          port,
          ...(values.host === undefined ? {} : { host: values.host }),
          ...(tls === undefined ? {} : { tls }),
          ...(values['tls-name'] === undefined ? {} : { tlsNames: values['tls-name'] }),
          idleTimeoutMs: idle * 1000,
        })
      },
    })
    // Assigned in beforeReady (TypeScript does not follow the callback's assignment).
    const proxy = started as RunningDbProxy | undefined
    if (proxy === undefined) {
      await server.close()
      throw new DbProxyError('DB_PROXY_LISTEN', 'the database proxy did not start')
    }
    io.stdout.write(
      [
        `podtrust dbproxy ready on ${proxy.host}:${proxy.port}`,
        ...(proxy.caFile === undefined ? [] : [`  CA         ${proxy.caFile}  (sslrootcert)`]),
        `  health     ${server.baseUrl}/healthz`,
        '',
      ].join('\n'),
    )
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    server.ctx.log.info('dbproxy.stopping', { signal })
    await proxy.close()
    await server.close()
    return 0
  },
}
