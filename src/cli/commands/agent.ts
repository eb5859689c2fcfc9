/**
 * @module cli/commands/agent
 * `podtrust agent`: the Pod Identity node agent on its own (the in-cluster form). It calls EKS Auth at
 * `--server` signed with SigV4 using credentials from the standard AWS environment variables (a node role's
 * or an access key podtrust issued for agents), and serves pods on `--host`s (default 127.0.0.1).
 */
import { parseArgs } from 'node:util'
import { CLUSTER_NAME_PATTERN } from '../../aws/eks/validate.ts'
import { remoteSource, standardCredentials } from '../../agent/source.ts'
import { startAgent } from '../../agent/server.ts'
import { type HttpTokens, type RunningImds, startImds } from '../../agent/imds.ts'
import { remoteNodeRoleSource } from '../../agent/node-role.ts'
import { randomBytes } from 'node:crypto'
import { UsageError } from '../../errors.ts'
import type { Command } from '../command.ts'

const usage = `Usage:
  podtrust agent --server URL --cluster NAME [--port PORT] [--host ADDR]... [--region R]
                 [--imds-port PORT --imds-role ARN [--imds-host ADDR]... [--imds-http-tokens required|optional]]

Runs the EKS Pod Identity agent: GET /v1/credentials with the pod's token in Authorization answers
container credentials from EKS Auth AssumeRoleForPodIdentity (cached per token, renewed ahead of expiry).

Options:
  --server URL     podtrust (EKS Auth) base URL, e.g. http://127.0.0.1:7070
  --cluster NAME   the cluster this node belongs to
  --port PORT      listen port (default 80; 0 = ephemeral)
  --host ADDR      address to bind, repeatable (default 127.0.0.1; in a cluster 169.254.170.23 and fd00:ec2::23)
  --region R       SigV4 signing region (default $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)
  --imds-port PORT also serve an IMDSv2-compatible metadata endpoint (node-role method) on PORT
  --imds-role ARN  the node role it vends: STS AssumeRole at --server with the agent's credentials
  --imds-host ADDR its address, repeatable (default 127.0.0.1; on a node 169.254.169.254)
  --imds-http-tokens required|optional
                   EC2's HttpTokens option: required (default) is IMDSv2 only, optional also answers IMDSv1

Credentials for the EKS Auth calls come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN],
else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE).
`

export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`--port '${value}' is not a port number`, 'use 0-65535')
  }
  return Number(value)
}

/** `--imds-http-tokens`: EC2's `HttpTokens` metadata option (IMDSv1 only when `optional`). */
export function imdsHttpTokensFlag(value: string | undefined): HttpTokens | undefined {
  if (value === undefined || value === 'required' || value === 'optional') return value
  throw new UsageError(`--imds-http-tokens '${value}' is not required or optional`)
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the EKS Pod Identity node agent (container credentials endpoint)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        cluster: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string', multiple: true },
        region: { type: 'string' },
        'imds-port': { type: 'string' },
        'imds-role': { type: 'string' },
        'imds-host': { type: 'string', multiple: true },
        'imds-http-tokens': { type: 'string' },
      },
    })
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`)
    if (values.server === undefined)
      throw new UsageError('--server is required', 'the podtrust base URL')
    let server: URL
    try {
      server = new URL(values.server)
    } catch {
      throw new UsageError(`--server '${values.server}' is not a URL`)
    }
    if (server.protocol !== 'http:' && server.protocol !== 'https:') {
      throw new UsageError(`--server '${values.server}' must be an http(s) URL`)
    }
    if (values.cluster === undefined) throw new UsageError('--cluster is required')
    if (!CLUSTER_NAME_PATTERN.test(values.cluster)) {
      throw new UsageError(`--cluster '${values.cluster}' is not a valid cluster name`)
    }
    const port = parsePort(values.port, 80)
    const httpTokens = imdsHttpTokensFlag(values['imds-http-tokens'])
    if (httpTokens !== undefined && values['imds-port'] === undefined)
      throw new UsageError('--imds-http-tokens needs --imds-port')
    const region =
      values.region ?? io.env['AWS_REGION'] ?? io.env['AWS_DEFAULT_REGION'] ?? 'us-east-1'
    if (standardCredentials(io.env) === undefined) {
      throw new UsageError(
        'no AWS credentials in the environment',
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or a profile in ~/.aws/credentials',
      )
    }
    const agent = await startAgent({
      source: remoteSource({
        serverUrl: server.toString(),
        clusterName: values.cluster,
        region,
        credentials: () => {
          const creds = standardCredentials(io.env)
          if (creds === undefined)
            throw new Error('AWS credentials disappeared from the environment')
          return creds
        },
      }),
      hosts: values.host ?? ['127.0.0.1'],
      port,
      log: (event, fields) => io.stderr.write(`${JSON.stringify({ event, ...fields })}\n`),
    })
    io.stdout.write(
      `podtrust agent listening on ${agent.urls.join(', ')} (cluster ${values.cluster})\n`,
    )
    io.stdout.write(`AWS_CONTAINER_CREDENTIALS_FULL_URI=${agent.credentialsUrl}\n`)
    let imds: RunningImds | undefined
    if (values['imds-port'] !== undefined || values['imds-role'] !== undefined) {
      const roleArn = values['imds-role']
      if (values['imds-port'] === undefined || roleArn === undefined) {
        await agent.close()
        throw new UsageError('--imds-port and --imds-role go together')
      }
      const imdsPort = parsePort(values['imds-port'], 0)
      const accountId = roleArn.split(':')[4] ?? ''
      const roleName = roleArn.split('/').pop() ?? ''
      const instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`
      try {
        imds = await startImds({
          source: remoteNodeRoleSource({
            serverUrl: server.toString(),
            roleArn,
            sessionName: instanceId,
            region,
            credentials: () => {
              const creds = standardCredentials(io.env)
              if (creds === undefined)
                throw new Error('AWS credentials disappeared from the environment')
              return creds
            },
          }),
          hosts: values['imds-host'] ?? ['127.0.0.1'],
          port: imdsPort,
          httpTokens: httpTokens ?? 'required',
          identity: {
            accountId,
            region,
            availabilityZone: `${region}a`,
            instanceId,
            instanceType: 'm5.large',
            imageId: 'ami-0123456789abcdef0',
            privateIp: '10.0.0.10',
            roleName,
            instanceProfileArn: `arn:aws:iam::${accountId}:instance-profile/${roleName}`,
            instanceProfileId: `AIPA${randomBytes(9).toString('hex').toUpperCase().slice(0, 17)}`,
          },
          log: (event, fields) => io.stderr.write(`${JSON.stringify({ event, ...fields })}\n`),
        })
      } catch (err) {
        await agent.close()
        throw err
      }
      io.stdout.write(`AWS_EC2_METADATA_SERVICE_ENDPOINT=${imds.urls[0] ?? ''}\n`)
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await imds?.close()
    await agent.close()
    return 0
  },
}
