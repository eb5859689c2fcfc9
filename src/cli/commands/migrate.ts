/**
 * @module cli/commands/migrate
 * `podtrust migrate plan --from kube2iam|kiam|irsa --to irsa|pod-identity --k8s PATH… [--gaad FILE]
 * [--json] [--write DIR]`: a migration plan over cluster objects and IAM inputs (docs/migration.md).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseGaad } from '../../analysis/inputs/gaad.ts'
import { UsageError } from '../../errors.ts'
import {
  clusterFromTexts,
  iamFromAnalysis,
  type IamInventory,
} from '../../generate/migrate/inputs.ts'
import { planMigration, type MigrateFrom, type MigrateTo } from '../../generate/migrate/plan.ts'
import { planFiles, renderPlanText } from '../../generate/migrate/render.ts'
import { writeGeneratedFiles } from '../../generate/write.ts'
import type { Command } from '../command.ts'
import { collectManifestFiles } from './scan.ts'

/** The roles of a GAAD file (`aws iam get-account-authorization-details`), read as `scan` reads it. */
function readGaad(cwd: string, file: string | undefined): IamInventory {
  if (file === undefined) return { roles: [] }
  let text: string
  try {
    text = readFileSync(resolve(cwd, file), 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read '${file}' (${(err as { code?: string }).code ?? 'error'})`)
  }
  return iamFromAnalysis(parseGaad(text, file))
}

const FROM = ['kube2iam', 'kiam', 'irsa'] as const
const TO = ['irsa', 'pod-identity'] as const

const usage = `Usage:
  podtrust migrate plan --from kube2iam|kiam|irsa --to irsa|pod-identity --k8s PATH... [--gaad FILE]
                        [--cluster NAME] [--issuer URL] [--account-id ID] [--json] [--write DIR]

Plans a move between workload identity methods (docs/migration.md): which ServiceAccounts to create or
annotate, what each role's trust policy gains during the rollout and loses after it, the Pod Identity
associations, the rollout order that never leaves a pod without credentials, the rollback, and the edge
cases found (many ServiceAccounts per role, wildcard subjects, roles of several clusters, trust policy size,
cross-account roles, session tags, SDK versions).

Options:
  --k8s PATH       Kubernetes objects: YAML/JSON files or directories (repeatable; kubectl get -o yaml|json)
  --gaad FILE      output of \`aws iam get-account-authorization-details\` (current trust policies)
  --cluster NAME   the EKS cluster's name (default: cluster)
  --issuer URL     the cluster's OIDC issuer (IRSA statements name it; from irsa: only its statements move)
  --account-id ID  the cluster's AWS account (Pod Identity assumes roles of this account only)
  --json           print the plan as JSON
  --write DIR      write the plan, manifest patches, trust policies and IaC changes under DIR
`

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Plan a move between kube2iam/kiam, IRSA and EKS Pod Identity (migrate plan)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub !== 'plan')
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        'podtrust migrate plan …',
      )
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        k8s: { type: 'string', multiple: true },
        gaad: { type: 'string' },
        cluster: { type: 'string' },
        issuer: { type: 'string' },
        'account-id': { type: 'string' },
        json: { type: 'boolean' },
        write: { type: 'string' },
      },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const from = values.from
    const to = values.to
    if (from === undefined || !(FROM as readonly string[]).includes(from))
      throw new UsageError(`--from must be one of ${FROM.join(', ')}`)
    if (to === undefined || !(TO as readonly string[]).includes(to))
      throw new UsageError(`--to must be one of ${TO.join(', ')}`)
    if (from === 'irsa' && to === 'irsa')
      throw new UsageError('--from irsa --to irsa: nothing to migrate', 'use --to pod-identity')
    const k8s = values.k8s ?? []
    if (k8s.length === 0)
      throw new UsageError(
        'missing --k8s PATH',
        'Kubernetes manifests or `kubectl get … -o yaml` output',
      )
    const issuer = values.issuer
    if (issuer !== undefined && !/^https:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/.test(issuer))
      throw new UsageError(`--issuer '${issuer}' is not an https:// URL`)
    const accountId = values['account-id']
    if (accountId !== undefined && !/^\d{12}$/.test(accountId))
      throw new UsageError(`--account-id '${accountId}' is not 12 digits`)
    const clusterName = values.cluster ?? 'cluster'
    const cluster = clusterFromTexts(collectManifestFiles(io, k8s))
    const iam = readGaad(io.cwd, values.gaad)
    const plan = planMigration(cluster, iam, {
      from: from as MigrateFrom,
      to: to as MigrateTo,
      clusterName,
      issuer,
      accountId,
    })
    io.stdout.write(
      values.json === true ? `${JSON.stringify(plan, null, 2)}\n` : renderPlanText(plan),
    )
    if (values.write !== undefined) {
      const written = writeGeneratedFiles(resolve(io.cwd, values.write), planFiles(plan))
      io.stderr.write(`wrote ${written.length} files under ${resolve(io.cwd, values.write)}\n`)
    }
    // Findings are the plan's content, not a failure: exit 0 whenever a plan was made.
    return 0
  },
}
