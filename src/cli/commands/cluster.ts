/**
 * @module cli/commands/cluster
 * `podtrust cluster add|list|remove`: registers the clusters EKS Pod Identity and DescribeCluster know.
 * Works offline against the data directory; a cluster without `--issuer` gets its own podtrust issuer
 * `cluster:NAME`, whose tokens `podtrust token --cluster NAME` mints.
 */
import { parseArgs } from 'node:util'
import { clusterIssuerName } from '../../aws/eks/clusters.ts'
import { putCluster } from '../../aws/eks/config.ts'
import { EksError } from '../../aws/eks/errors.ts'
import { clusterArn } from '../../aws/eks/ids.ts'
import { createEksRepo } from '../../aws/eks/repo.ts'
import { validateClusterIssuerUrl, validateClusterName } from '../../aws/eks/validate.ts'
import { UsageError } from '../../errors.ts'
import { deleteIssuer, getIssuer } from '../../tokens/issuer.ts'
import { deleteSetupCluster } from '../../setup/store.ts'
import type { Command } from '../command.ts'
import { isSelfHostedSubcommand, runSelfHosted, selfHostedHelp } from './cluster-selfhosted.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust cluster add NAME [--issuer URL] [--region R] [--account-id A] [--data-dir DIR] [--store URL]
  podtrust cluster list [--data-dir DIR] [--store URL]
  podtrust cluster remove NAME [--data-dir DIR] [--store URL]
${selfHostedHelp}
Registers a Kubernetes cluster for EKS Pod Identity (associations, EKS Auth) and DescribeCluster.
Without --issuer the cluster gets its own podtrust issuer 'cluster:NAME'; pass a real cluster's
OIDC issuer URL to trust tokens it signs. Region and account default to the server's.

Options:
  --issuer URL       the cluster's service-account issuer (https)
  --region R         the cluster's region (default: the server's)
  --account-id A     the cluster's 12-digit account id (default: the server's)
${storeUsage}
`

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      issuer: { type: 'string' },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      ...storeArgOptions,
    },
  })
}

function validName(name: string | undefined): string {
  if (name === undefined) throw new UsageError('missing cluster NAME')
  try {
    validateClusterName(name)
  } catch (err) {
    if (err instanceof EksError) {
      throw new UsageError(
        err.message,
        'cluster names are 1-100 characters of letters, digits, - and _',
      )
    }
    throw err
  }
  return name
}

function validIssuer(url: string): string {
  try {
    return validateClusterIssuerUrl(url)
  } catch (err) {
    if (err instanceof EksError) {
      throw new UsageError(
        `--issuer ${err.message}`,
        'IAM accepts only https OIDC provider URLs, e.g. https://oidc.eks.REGION.amazonaws.com/id/ID',
      )
    }
    throw err
  }
}

export const clusterCommand: Command = {
  name: 'cluster',
  summary:
    'Register clusters (add, list, remove); set up self-hosted issuers (setup, verify, rotate)',
  usage,
  async run(argv, io) {
    const first = argv.find((a) => !a.startsWith('-'))
    if (isSelfHostedSubcommand(first)) {
      return runSelfHosted(
        first ?? '',
        argv.filter((_, i) => i !== argv.indexOf(first ?? '')),
        io,
      )
    }
    const { values, positionals } = parse(argv)
    const [sub, ...rest] = positionals
    if (sub !== 'add' && sub !== 'list' && sub !== 'remove') {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        "use 'cluster add NAME', 'cluster list' or 'cluster remove NAME'",
      )
    }
    if (sub === 'add' || sub === 'remove') {
      if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1] ?? ''}'`)
    } else if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] ?? ''}'`)
    if (sub !== 'add') {
      for (const opt of ['issuer', 'region', 'account-id'] as const) {
        if (values[opt] !== undefined)
          throw new UsageError(`--${opt} applies to 'cluster add' only`)
      }
    }
    const name = sub === 'list' ? undefined : validName(rest[0])
    const issuerUrl = values.issuer === undefined ? undefined : validIssuer(values.issuer)
    if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(values.region)) {
      throw new UsageError(`--region '${values.region}' is not an AWS region`, 'e.g. us-east-1')
    }
    if (values['account-id'] !== undefined && !/^\d{12}$/.test(values['account-id'])) {
      throw new UsageError(`--account-id '${values['account-id']}' must be 12 digits`)
    }
    const db = await openStore(values, io)
    try {
      const repo = createEksRepo(db)
      if (sub === 'list') {
        for (const c of await repo.listClusters()) {
          const issuer = c.issuerUrl ?? (await getIssuer(db, clusterIssuerName(c.name)))?.url ?? '-'
          io.stdout.write(`${c.name}\t${issuer}\n`)
        }
        return 0
      }
      if (sub === 'remove') {
        const row = await repo.getCluster(name ?? '')
        if (row === undefined) {
          io.stderr.write(`podtrust: cluster '${name ?? ''}' is not registered\n`)
          return 1
        }
        await repo.deleteCluster(row.name)
        await deleteSetupCluster(db, row.name)
        if (row.issuerUrl === undefined) await deleteIssuer(db, clusterIssuerName(row.name))
        io.stdout.write(`cluster ${row.name} removed\n`)
        return 0
      }
      const cluster = {
        name: name ?? '',
        ...(issuerUrl === undefined ? {} : { issuer: issuerUrl }),
        ...(values.region === undefined ? {} : { region: values.region }),
        ...(values['account-id'] === undefined ? {} : { accountId: values['account-id'] }),
      }
      await putCluster(db, cluster, new Date())
      const issuer =
        cluster.issuer ?? (await getIssuer(db, clusterIssuerName(cluster.name)))?.url ?? ''
      io.stdout.write(`cluster ${cluster.name} registered\n`)
      if (cluster.accountId !== undefined && cluster.region !== undefined) {
        io.stdout.write(
          `  arn:    ${clusterArn(cluster.region, cluster.accountId, cluster.name)}\n`,
        )
      }
      io.stdout.write(`  issuer: ${issuer}\n`)
      return 0
    } finally {
      await db.close()
    }
  },
}
