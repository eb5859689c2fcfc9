/**
 * @module cli/commands/up
 * `podtrust up`: the local stack in one process — issuer, STS, IAM and every mounted protocol module on
 * 127.0.0.1 (HTTP, plus TLS from podtrust's CA) — then prints the endpoint and the client environment.
 * Runs until SIGINT/SIGTERM.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startInProcessAgent } from '../../server/in-process-agent.ts'
import { startInProcessImds } from '../../server/in-process-imds.ts'
import type { RunningImds } from '../../agent/imds.ts'
import { startDbProxy, type RunningDbProxy } from '../../dbproxy/server.ts'
import type { RunningAgent } from '../../agent/index.ts'
import { UsageError } from '../../errors.ts'
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_PORT,
  DEFAULT_REGION,
  startServer,
} from '../../server/start.ts'
import { ServerError } from '../../server/start.ts'
import type { RunningServer } from '../../server/start.ts'
import { DEFAULT_HTTPS_PORT, DEFAULT_ISSUER, getIssuer } from '../../tokens/issuer.ts'
import type { LogLevel } from '../../server/logger.ts'
import type { CliIo, Command } from '../command.ts'
import {
  accountFlag,
  dataDirOf,
  intFlag,
  regionFlag,
  storeUrlOf,
  storeUsage,
  storeArgOptions,
} from '../store-options.ts'
import { clientEnvironment, writeDemoToken } from '../up-env.ts'
import { serverArgOptions, serverFlagSettings, serverUsage } from '../server-flags.ts'
import { gatewayArgOptions, gatewayOptionsFrom } from './gateway.ts'
import { imdsHttpTokensFlag } from './agent.ts'
import { startGateway, type RunningGateway } from '../../gateway/server.ts'

const usage = `Usage:
  podtrust up [--port PORT] [--https-port PORT | --no-tls] [--host HOST] [--issuer-url URL]
              [--config FILE]... [--demo] [--region R] [--account-id A] [--agent-port PORT]
              [--agent-host ADDR]... [--imds-port PORT --imds-role ARN [--imds-host ADDR]... [--imds-http-tokens required|optional]]
              [--db-proxy-port PORT]
              [--allow-http-issuers] [--allow-private-issuers] [--log-level LEVEL]
              [--gateway-port PORT --backend-s3 URL --backend-sqs URL
               [--backend-access-key-id ID --backend-secret-access-key KEY]]
              [--data-dir DIR] [--store URL]

Starts podtrust's local stack: the OIDC issuer, STS and IAM (and every other mounted API) on
http://HOST:PORT and, with TLS from podtrust's CA, https://HOST:HTTPS_PORT. Prints a line with
'ready' once it accepts requests, then the environment AWS clients need.

Options:
  --port PORT               plain HTTP port (default ${DEFAULT_PORT}; 0 = any free port)
  --https-port PORT         TLS port (default ${DEFAULT_HTTPS_PORT}; 0 = any free port)
  --no-tls                  no TLS listener
  --host HOST               listen address (default 127.0.0.1)
  --issuer-url URL          the default issuer's URL (default $PODTRUST_ISSUER_URL, else the stored one,
                            else https://127.0.0.1:HTTPS_PORT); must match the stored one (podtrust issuer)
  --config FILE             apply this YAML config at start; repeatable (see docs/config.md)
  --demo                    seed a ready-to-try role, OIDC provider and service-account token
  --region R                default region (default ${DEFAULT_REGION})
  --account-id A            default account id (default ${DEFAULT_ACCOUNT_ID})
  --agent-port PORT         also run the EKS Pod Identity agent on 127.0.0.1:PORT
  --agent-host ADDR         the agent's address instead of 127.0.0.1, repeatable (169.254.170.23 in a node)
  --imds-port PORT          also serve an IMDSv2-compatible instance metadata endpoint on 127.0.0.1:PORT
                            with credentials of --imds-role (trust must allow ec2.amazonaws.com)
  --imds-role ARN           the node role the metadata endpoint vends
  --imds-host ADDR          the metadata endpoint's address instead of 127.0.0.1, repeatable
  --imds-http-tokens MODE   required (default: IMDSv2 only) or optional (IMDSv1 GETs answered too)
  --db-proxy-port PORT      also run the IAM-auth database proxy (TLS) on HOST:PORT (docs/databases.md)
  --allow-http-issuers      dev only: fetch other issuers on loopback over plain http
  --allow-private-issuers   fetch other issuers on private and link-local networks
  --log-level LEVEL         info, warn, error or silent (default info; JSON lines on stderr)
  --gateway-port PORT       also run the S3/SQS gateway on HOST:PORT (see podtrust gateway --help)
  --backend-s3 URL          the gateway's S3 backend (or gateway.backends.s3 in a config file)
  --backend-sqs URL         the gateway's SQS backend (or gateway.backends.sqs)
  --backend-access-key-id ID, --backend-secret-access-key KEY
                            backend credentials (default: any, what moto accepts)
${storeUsage}

${serverUsage}

Signals: SIGTERM/SIGINT drain (readiness 503, in-flight requests finish within --drain-timeout), then exit;
SIGHUP re-applies the --config files (docs/operations.md).
`

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string', short: 'p' },
      'https-port': { type: 'string' },
      'no-tls': { type: 'boolean' },
      host: { type: 'string' },
      'issuer-url': { type: 'string' },
      config: { type: 'string', multiple: true },
      demo: { type: 'boolean' },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      'agent-port': { type: 'string' },
      'agent-host': { type: 'string', multiple: true },
      'imds-port': { type: 'string' },
      'imds-role': { type: 'string' },
      'imds-host': { type: 'string', multiple: true },
      'imds-http-tokens': { type: 'string' },
      'db-proxy-port': { type: 'string' },
      'allow-http-issuers': { type: 'boolean' },
      'allow-private-issuers': { type: 'boolean' },
      'log-level': { type: 'string' },
      ...gatewayArgOptions,
      ...storeArgOptions,
      ...serverArgOptions,
    },
  })
}

/** Resolves once SIGINT or SIGTERM arrives (or `stop` is called by a test). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      resolve(sig)
    }
    const onInt = on('SIGINT')
    const onTerm = on('SIGTERM')
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
  })
}

export const upCommand: Command = {
  name: 'up',
  summary: 'Start the local stack (issuer, STS, IAM, …) and print the client environment',
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(argv)
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const port = intFlag('port', values.port, 0, 65_535) ?? DEFAULT_PORT
    if (values['no-tls'] === true && values['https-port'] !== undefined) {
      throw new UsageError('give --https-port or --no-tls, not both')
    }
    const httpsPort =
      values['no-tls'] === true
        ? undefined
        : (intFlag('https-port', values['https-port'], 0, 65_535) ?? DEFAULT_HTTPS_PORT)
    if (httpsPort !== undefined && httpsPort !== 0 && httpsPort === port) {
      throw new UsageError('--port and --https-port must differ')
    }
    const agentPort = intFlag('agent-port', values['agent-port'], 0, 65_535)
    const imdsPort = intFlag('imds-port', values['imds-port'], 0, 65_535)
    if ((imdsPort === undefined) !== (values['imds-role'] === undefined)) {
      throw new UsageError(
        '--imds-port and --imds-role go together',
        'e.g. --imds-port 0 --imds-role arn:aws:iam::000000000000:role/node',
      )
    }
    if (
      values['imds-role'] !== undefined &&
      !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(values['imds-role'])
    ) {
      throw new UsageError(`--imds-role '${values['imds-role']}' is not a role ARN`)
    }
    if (values['agent-host'] !== undefined && agentPort === undefined)
      throw new UsageError('--agent-host needs --agent-port')
    if (values['imds-host'] !== undefined && imdsPort === undefined)
      throw new UsageError('--imds-host needs --imds-port')
    const imdsHttpTokens = imdsHttpTokensFlag(values['imds-http-tokens'])
    if (imdsHttpTokens !== undefined && imdsPort === undefined)
      throw new UsageError('--imds-http-tokens needs --imds-port')
    const gatewayPort = intFlag('gateway-port', values['gateway-port'], 0, 65_535)
    const dbProxyPort = intFlag('db-proxy-port', values['db-proxy-port'], 0, 65_535)
    const logLevel = values['log-level'] ?? 'info'
    if (!['info', 'warn', 'error', 'silent'].includes(logLevel)) {
      throw new UsageError(`--log-level must be info, warn, error or silent, got '${logLevel}'`)
    }
    // The flag, else $PODTRUST_ISSUER_URL (container manifests set it once for every replica).
    if (values['issuer-url'] === undefined && (io.env['PODTRUST_ISSUER_URL'] ?? '') !== '')
      values['issuer-url'] = io.env['PODTRUST_ISSUER_URL']
    if (
      values['issuer-url'] !== undefined &&
      !/^https:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(values['issuer-url'])
    ) {
      throw new UsageError(
        `--issuer-url must be an https URL without query, got '${values['issuer-url']}'`,
        'IAM accepts only https OIDC provider URLs',
      )
    }
    const dataDir = dataDirOf(values['data-dir'], io)
    const store = storeUrlOf(values.store, io)
    const region = regionFlag(values.region) ?? DEFAULT_REGION
    const accountId = accountFlag(values['account-id'])
    const production = serverFlagSettings(values, io)

    // EXTENSION POINT (Pod Identity): the in-process node agent of --agent-port, listening before readiness.
    let agent: RunningAgent | undefined
    let imds: RunningImds | undefined
    let gateway: RunningGateway | undefined
    let dbProxy: RunningDbProxy | undefined
    const server = await startServer({
      beforeReady: async (ctx) => {
        if (agentPort !== undefined)
          agent = await startAgentListener(ctx, agentPort, values['agent-host'])
        try {
          // The node-role metadata endpoint of --imds-port (docs/self-hosted.md).
          if (imdsPort !== undefined && values['imds-role'] !== undefined)
            imds = await startInProcessImds(ctx, {
              port: imdsPort,
              roleArn: values['imds-role'],
              ...(values['imds-host'] === undefined ? {} : { hosts: values['imds-host'] }),
              ...(imdsHttpTokens === undefined ? {} : { httpTokens: imdsHttpTokens }),
            })
          // The S3/SQS gateway on its own port, when a port is given by flag or config (applied by now).
          const gatewayOptions = await gatewayOptionsFrom(ctx, values, gatewayPort, io)
          if (gatewayOptions !== undefined) gateway = await startGateway(ctx, gatewayOptions)
          // The IAM-auth database proxy of --db-proxy-port (TLS from the CA in the data directory).
          if (dbProxyPort !== undefined)
            dbProxy = await startDbProxy(ctx, {
              port: dbProxyPort,
              ...(values.host === undefined ? {} : { host: values.host }),
            })
        } catch (err) {
          await gateway?.close()
          await imds?.close()
          await agent?.close()
          throw err
        }
      },
      dataDir,
      ...(store === undefined ? {} : { store }),
      host: values.host ?? '127.0.0.1',
      port,
      ...(httpsPort === undefined ? {} : { httpsPort }),
      // The default TLS port may be taken (another stack, a parallel test): fall back to a free one.
      httpsPortFallback: values['https-port'] === undefined,
      ...(values['issuer-url'] === undefined ? {} : { issuerUrl: values['issuer-url'] }),
      region,
      ...(accountId === undefined ? {} : { accountId }),
      storePool: production.storePool,
      ...(production.sqliteSynchronous === undefined
        ? {}
        : { sqliteSynchronous: production.sqliteSynchronous }),
      ...(production.caDir === undefined ? {} : { caDir: resolve(io.cwd, production.caDir) }),
      tlsNames: production.tlsNames,
      rateLimit: production.rateLimit,
      logRequests: production.logRequests,
      auditRetention: production.auditRetention,
      ...(production.auditExportDir === undefined
        ? {}
        : { auditExportDir: production.auditExportDir }),
      configFiles: (values.config ?? []).map((f) => resolve(io.cwd, f)),
      demo: values.demo === true,
      allowHttpLoopbackIssuers: values['allow-http-issuers'] === true,
      allowPrivateNetworkIssuers: values['allow-private-issuers'] === true,
      logLevel: logLevel as LogLevel,
    })
    try {
      await announce(
        server,
        agent,
        dbProxy,
        { dataDir, demo: values.demo === true, imds },
        io,
        gateway,
      )
    } catch (err) {
      await imds?.close()
      await dbProxy?.close()
      await gateway?.close()
      await agent?.close()
      await server.close()
      throw err
    }
    const onHangup = (): void => {
      server.ctx.log.info('server.reloading', { configFiles: (values.config ?? []).length })
      server.reloadConfig().then(
        () => server.ctx.log.info('server.reloaded', {}),
        (err: unknown) => server.ctx.log.error('server.reload_failed', { error: err }),
      )
    }
    process.on('SIGHUP', onHangup)
    const signal = await untilSignal()
    process.off('SIGHUP', onHangup)
    server.ctx.log.info('server.stopping', { signal, drainTimeoutMs: production.drainTimeoutMs })
    // The gateway first: its last data events are written while the store is still open.
    await gateway?.close()
    await Promise.all([
      server.close({
        drainTimeoutMs: production.drainTimeoutMs,
        delayMs: production.shutdownDelayMs,
      }),
      agent?.close(),
      imds?.close(),
      dbProxy?.close(),
    ])
    server.ctx.log.info('server.stopped', {})
    return 0
  },
}

/** The agent's listener; a busy port is SERVER_LISTEN_FAILED with a hint, like the server's own ports. */
async function startAgentListener(
  ctx: RunningServer['ctx'],
  port: number,
  hosts: string[] | undefined,
): Promise<RunningAgent> {
  try {
    return await startInProcessAgent(ctx, { port, ...(hosts === undefined ? {} : { hosts }) })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === undefined || !/^E[A-Z]+$/.test(code)) throw err
    throw new ServerError(
      'SERVER_LISTEN_FAILED',
      `cannot listen on 127.0.0.1:${port} (--agent-port): ${code}`,
      {
        cause: err,
        ...(code === 'EADDRINUSE'
          ? {
              hint: 'another process uses this port; pick another with --agent-port (0 = any free port)',
            }
          : {}),
      },
    )
  }
}

async function announce(
  server: RunningServer,
  agent: RunningAgent | undefined,
  dbProxy: RunningDbProxy | undefined,
  options: { dataDir: string; demo: boolean; imds?: RunningImds | undefined },
  io: CliIo,
  gateway?: RunningGateway,
): Promise<void> {
  const { ctx } = server
  const issuer = await getIssuer(ctx.db, DEFAULT_ISSUER)
  const tokenFile = options.demo ? await writeDemoToken(ctx, options.dataDir) : undefined
  const lines = [
    `podtrust ready on ${server.baseUrl}${server.httpsBaseUrl === undefined ? '' : ` and ${server.httpsBaseUrl}`}`,
    `  issuer     ${issuer?.url ?? ''}  (discovery: ${server.baseUrl}/.well-known/openid-configuration)`,
    `  store      ${ctx.db.engine}${ctx.db.engine === 'sqlite' ? ` (${options.dataDir})` : ''}`,
    ...(server.caFile === undefined ? [] : [`  CA         ${server.caFile}`]),
    ...(agent === undefined ? [] : [`  agent      ${agent.credentialsUrl}`]),
    ...(options.imds === undefined
      ? []
      : [
          `  imds       ${options.imds.urls.join(' ')}  (AWS_EC2_METADATA_SERVICE_ENDPOINT=${options.imds.urls[0] ?? ''})`,
        ]),
    ...(gateway === undefined
      ? []
      : [`  gateway    ${gateway.url}  (S3 and SQS: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS)`]),
    ...(dbProxy === undefined
      ? []
      : [
          `  db proxy   ${dbProxy.host}:${dbProxy.port}  (TLS; sslrootcert ${dbProxy.caFile ?? ''})`,
        ]),
    ...(server.issuerChangedFrom === undefined
      ? []
      : [
          `  WARNING    the stored issuer URL changed from ${server.issuerChangedFrom} to ${issuer?.url ?? ''}:`,
          `             tokens signed for the old URL no longer verify; pin it with --issuer-url`,
        ]),
    '',
    ...(await clientEnvironment(server, { dataDir: options.dataDir, tokenFile })),
    '',
  ]
  io.stdout.write(lines.join('\n'))
}
