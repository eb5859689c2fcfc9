/**
 * @module cli/commands/gateway
 * `podtrust gateway`: the S3/SQS data plane on its own, in front of a production object store and queue
 * service. It reads credentials, policies and sessions from podtrust's store (the same `--store` the control
 * plane uses), decides every call with the policy engine and forwards allowed calls re-signed with the
 * backend's credentials. Runs until SIGINT/SIGTERM. See docs/gateway.md.
 */
import { parseArgs } from 'node:util'
import { createAuditLog } from '../../audit/log.ts'
import { UsageError } from '../../errors.ts'
import { loadGatewaySettings } from '../../gateway/config.ts'
import { startGateway, type GatewayOptions } from '../../gateway/server.ts'
import type { AppContext } from '../../app/context.ts'
import { createLogger, type LogLevel } from '../../server/logger.ts'
import { createPooledRandomBytes } from '../../server/random.ts'
import { createIdentityPorts } from '../../server/ports.ts'
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from '../../server/start.ts'
import { createTokenVerifier } from '../../tokens/verify.ts'
import type { CliIo, Command } from '../command.ts'
import {
  accountFlag,
  intFlag,
  openStore,
  regionFlag,
  storeArgOptions,
  storeUsage,
  dataDirOf,
} from '../store-options.ts'

export const DEFAULT_GATEWAY_PORT = 4567

const usage = `Usage:
  podtrust gateway --backend-s3 URL --backend-sqs URL [--port PORT] [--host HOST]
                   [--backend-access-key-id ID --backend-secret-access-key SECRET]
                   [--backend-region R] [--backend-account-id A] [--virtual-host NAME]...
                   [--region R] [--account-id A] [--log-level LEVEL] [--data-dir DIR] [--store URL]

Runs the S3 and SQS gateway: SigV4 (header, presigned, aws-chunked) checked against podtrust's
credentials, every call decided with the identity, session, boundary and resource policies, allowed
calls forwarded re-signed and streamed to the backends. S3 and SQS share the port (told apart by the
request). Backend settings may also come from a config file's 'gateway' section (podtrust apply).

Options:
  --port PORT                       listen port (default ${DEFAULT_GATEWAY_PORT}; 0 = any free port)
  --host HOST                       listen address (default 127.0.0.1)
  --backend-s3 URL                  the S3-compatible backend (e.g. https://s3.eu-west-1.amazonaws.com)
  --backend-sqs URL                 the SQS-compatible backend (e.g. https://sqs.eu-west-1.amazonaws.com)
  --backend-access-key-id ID        backend credentials (default $PODTRUST_BACKEND_ACCESS_KEY_ID; emulators
  --backend-secret-access-key KEY     such as moto accept any; prefer $PODTRUST_BACKEND_SECRET_ACCESS_KEY)
  --backend-region R                region the backend requests are signed for (default --region)
  --backend-account-id A            account id in the SQS backend's queue URLs (default 123456789012, moto's)
  --virtual-host NAME               also accept virtual-hosted-style S3 as BUCKET.NAME (repeatable)
  --region R                        the region clients sign for (default ${DEFAULT_REGION})
  --account-id A                    the account owning the buckets and queues (default ${DEFAULT_ACCOUNT_ID})
  --log-level LEVEL                 info, warn, error or silent (default info)
${storeUsage}
`

export const gatewayArgOptions = {
  'gateway-port': { type: 'string' },
  'backend-s3': { type: 'string' },
  'backend-sqs': { type: 'string' },
  'backend-access-key-id': { type: 'string' },
  'backend-secret-access-key': { type: 'string' },
  'backend-region': { type: 'string' },
  'backend-account-id': { type: 'string' },
  'virtual-host': { type: 'string', multiple: true },
} as const

export interface GatewayFlagValues {
  'backend-s3'?: string | undefined
  'backend-sqs'?: string | undefined
  'backend-access-key-id'?: string | undefined
  'backend-secret-access-key'?: string | undefined
  'backend-region'?: string | undefined
  'backend-account-id'?: string | undefined
  'virtual-host'?: string[] | undefined
}

/** Flags over the stored config over the environment; undefined when no backend is configured at all. */
export async function gatewayOptionsFrom(
  ctx: AppContext,
  values: GatewayFlagValues,
  port: number | undefined,
  io: CliIo,
): Promise<GatewayOptions | undefined> {
  const stored = await loadGatewaySettings(ctx.db)
  const backendS3 = values['backend-s3'] ?? stored.backends?.s3
  const backendSqs = values['backend-sqs'] ?? stored.backends?.sqs
  const listenPort = port ?? stored.port
  if (listenPort === undefined) {
    if (values['backend-s3'] !== undefined || values['backend-sqs'] !== undefined)
      throw new UsageError(
        '--backend-s3/--backend-sqs need --gateway-port',
        'give the gateway a port: --gateway-port PORT (or gateway.port in a config file)',
      )
    return undefined
  }
  if (backendS3 === undefined || backendSqs === undefined)
    throw new UsageError(
      'the gateway needs --backend-s3 URL and --backend-sqs URL',
      "or set them in a config file's gateway.backends (docs/gateway.md)",
    )
  const accessKeyId =
    values['backend-access-key-id'] ??
    io.env['PODTRUST_BACKEND_ACCESS_KEY_ID'] ??
    stored.backends?.accessKeyId
  const secret = values['backend-secret-access-key'] ?? io.env['PODTRUST_BACKEND_SECRET_ACCESS_KEY']
  if ((accessKeyId === undefined) !== (secret === undefined))
    throw new UsageError(
      'give both the backend access key id and its secret access key, or neither',
    )
  const sessionToken = io.env['PODTRUST_BACKEND_SESSION_TOKEN']
  const backendRegion = regionFlag(values['backend-region']) ?? stored.backends?.region
  const backendAccount = accountFlag(values['backend-account-id']) ?? stored.backends?.accountId
  for (const [flag, v] of [
    ['--backend-s3', backendS3],
    ['--backend-sqs', backendSqs],
  ] as const)
    if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v))
      throw new UsageError(`${flag} must be an http(s) base URL, got '${v}'`)
  return {
    port: listenPort,
    host: ctx.settings.host,
    backendS3,
    backendSqs,
    ...(accessKeyId === undefined ? {} : { backendAccessKeyId: accessKeyId }),
    ...(secret === undefined ? {} : { backendSecretAccessKey: secret }),
    ...(sessionToken === undefined || sessionToken === ''
      ? {}
      : { backendSessionToken: sessionToken }),
    ...(backendRegion === undefined ? {} : { backendRegion }),
    ...(backendAccount === undefined ? {} : { backendAccountId: backendAccount }),
    ...(values['virtual-host'] === undefined ? {} : { virtualHosts: values['virtual-host'] }),
  }
}

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: 'Run the S3/SQS gateway that enforces podtrust credentials and policies',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        region: { type: 'string' },
        'account-id': { type: 'string' },
        'log-level': { type: 'string' },
        ...gatewayArgOptions,
        ...storeArgOptions,
      },
    })
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`)
    if (values['gateway-port'] !== undefined)
      throw new UsageError('use --port with podtrust gateway')
    const logLevel = values['log-level'] ?? 'info'
    if (!['info', 'warn', 'error', 'silent'].includes(logLevel))
      throw new UsageError(`--log-level must be info, warn, error or silent, got '${logLevel}'`)
    const port = intFlag('port', values.port, 0, 65_535)
    const region = regionFlag(values.region) ?? DEFAULT_REGION
    const accountId = accountFlag(values['account-id']) ?? DEFAULT_ACCOUNT_ID
    const now = () => new Date()
    const db = await openStore(values, io)
    const audit = createAuditLog(db)
    const log = createLogger({ level: logLevel as LogLevel, now })
    const randomBytes = createPooledRandomBytes()
    const ctx: AppContext = {
      db,
      ...createIdentityPorts(db, { now, randomBytes }),
      audit,
      tokens: createTokenVerifier({
        db,
        now,
        allowHttpLoopback: false,
        allowPrivateNetworks: false,
      }),
      settings: {
        dataDir: dataDirOf(values['data-dir'], io),
        host: values.host ?? '127.0.0.1',
        port: 0,
        httpsPort: undefined,
        baseUrl: '',
        httpsBaseUrl: undefined,
        region,
        accountId,
      },
      log,
    }
    const shutdown = async () => {
      await audit.close().catch(() => {})
      await db.close()
    }
    let gateway
    let options: GatewayOptions
    try {
      options = (await gatewayOptionsFrom(
        ctx,
        values,
        port ?? DEFAULT_GATEWAY_PORT,
        io,
      )) as GatewayOptions
      gateway = await startGateway(ctx, options)
    } catch (err) {
      await shutdown()
      throw err
    }
    io.stdout.write(
      `podtrust gateway ready on ${gateway.url} (S3 → ${options.backendS3}, SQS → ${options.backendSqs})\n`,
    )
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    log.info('gateway.stopping', { signal })
    await gateway.close()
    await shutdown()
    return 0
  },
}
