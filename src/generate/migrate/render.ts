/**
 * @module generate/migrate/render
 * A migration plan as readable text, and as the files `migrate plan --write DIR` writes: the plan, manifest
 * patches per phase (strategic merge patches for `kubectl patch` or kustomize), the ServiceAccounts, the
 * trust policies during and after the rollout, the update commands, and the Pod Identity associations as
 * Terraform and as JSON.
 */
import { stringify } from 'yaml'
import { attr, block, renderHcl, terraformName } from '../hcl.ts'
import type { GeneratedFile } from '../terraform.ts'
import { KUBE2IAM_ROLE, TRUST_POLICY_LIMIT, type MigrationPlan, type WorkloadMove } from './plan.ts'

export function renderPlanText(plan: MigrationPlan): string {
  const lines: string[] = []
  lines.push(
    `Migration plan: ${plan.from} → ${plan.to} (cluster ${plan.cluster}${plan.issuer === undefined ? '' : `, issuer ${plan.issuer}`})`,
    '',
  )
  lines.push(`Workloads (${plan.workloads.length}):`)
  for (const w of plan.workloads) {
    const sa =
      w.fromServiceAccount === w.toServiceAccount
        ? `ServiceAccount ${w.toServiceAccount}`
        : `ServiceAccount ${w.fromServiceAccount} → ${w.toServiceAccount}${w.createServiceAccount ? ' (new)' : ''}`
    lines.push(`  ${w.kind} ${w.namespace}/${w.name}: ${w.roleArn}; ${sa}`)
  }
  lines.push('', `Roles (${plan.roles.length}):`)
  for (const r of plan.roles) {
    lines.push(`  ${r.roleArn}${r.known ? '' : ' (trust policy not in the IAM input)'}`)
    lines.push(`    subjects: ${r.subjects.join(', ') || '(none)'}`)
    lines.push(
      `    add: ${r.addStatements.length === 0 ? '(already trusted)' : r.addStatements.map((s) => JSON.stringify(s)).join(' ')}`,
    )
    if (r.removeAfterRollout.length > 0)
      lines.push(
        `    remove after the rollout: ${r.removeAfterRollout.map((s) => JSON.stringify(s)).join(' ')}`,
      )
    lines.push(`    trust policy size during the rollout: ${r.trustSize}/${TRUST_POLICY_LIMIT}`)
  }
  if (plan.associations.length > 0) {
    lines.push('', `Pod Identity associations (${plan.associations.length}):`)
    for (const a of plan.associations) {
      lines.push(
        `  ${a.cluster} ${a.namespace}/${a.serviceAccount} → ${a.roleArn}${a.targetRoleArn === undefined ? '' : ` → target ${a.targetRoleArn}`}`,
      )
    }
  }
  lines.push('', 'Rollout (in this order):')
  plan.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s}`))
  lines.push('', 'Rollback:')
  plan.rollback.forEach((s) => lines.push(`  - ${s}`))
  lines.push('', `Findings (${plan.findings.length}):`)
  for (const f of plan.findings) lines.push(`  [${f.severity}] ${f.id}: ${f.message}`)
  return `${lines.join('\n')}\n`
}

function templatePath(kind: string): string[] {
  if (kind === 'Pod') return []
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template']
  return ['spec', 'template']
}

function nest(path: readonly string[], leaf: Record<string, unknown>): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf)
}

const API_VERSIONS: Record<string, string> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
}

function workloadPatch(w: WorkloadMove, template: Record<string, unknown>): string {
  const head = {
    apiVersion: API_VERSIONS[w.kind] ?? 'apps/v1',
    kind: w.kind,
    metadata: { name: w.name, namespace: w.namespace },
  }
  const body = w.kind === 'Pod' ? template : nest(templatePath(w.kind), template)
  return stringify({ ...head, ...body }, { lineWidth: 0 })
}

export function planFiles(plan: MigrationPlan): GeneratedFile[] {
  const files: GeneratedFile[] = [
    { path: 'plan.txt', content: renderPlanText(plan) },
    { path: 'plan.json', content: `${JSON.stringify(plan, null, 2)}\n` },
  ]
  const fromLegacy = plan.from !== 'irsa'
  if (fromLegacy) {
    const sas = plan.serviceAccounts.map((sa) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: sa.name,
        namespace: sa.namespace,
        ...(Object.keys(sa.setAnnotations).length > 0 ? { annotations: sa.setAnnotations } : {}),
      },
    }))
    files.push({
      path: 'serviceaccounts.yaml',
      content: sas.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'),
    })
    for (const w of plan.workloads) {
      const base = `patches/${w.namespace}.${w.kind.toLowerCase()}.${w.name}`
      const spec = (sa: string): Record<string, unknown> => ({ spec: { serviceAccountName: sa } })
      files.push(
        {
          path: `${base}.phase1.yaml`,
          content: `${w.kind === 'Pod' ? "# A Pod's serviceAccountName cannot change: recreate the Pod with this field.\n" : ''}${workloadPatch(w, spec(w.toServiceAccount))}`,
        },
        {
          path: `${base}.phase2.yaml`,
          content: workloadPatch(w, { metadata: { annotations: { [KUBE2IAM_ROLE]: null } } }),
        },
        {
          path: `${base}.rollback.yaml`,
          content: workloadPatch(w, {
            metadata: { annotations: { [KUBE2IAM_ROLE]: w.roleArn } },
            ...spec(w.fromServiceAccount),
          }),
        },
      )
    }
  } else {
    const patch = (set: boolean): string =>
      plan.serviceAccounts
        .map((sa) => {
          const role = plan.associations.find(
            (a) => a.namespace === sa.namespace && a.serviceAccount === sa.name,
          )
          const value = set ? (role?.targetRoleArn ?? role?.roleArn ?? null) : null
          return stringify(
            {
              apiVersion: 'v1',
              kind: 'ServiceAccount',
              metadata: {
                name: sa.name,
                namespace: sa.namespace,
                annotations: Object.fromEntries(sa.removeAnnotations.map((k) => [k, value])),
              },
            },
            { lineWidth: 0 },
          )
        })
        .join('---\n')
    files.push(
      { path: 'serviceaccounts.patch.yaml', content: patch(false) },
      { path: 'serviceaccounts.rollback.yaml', content: patch(true) },
    )
  }
  const commands: string[] = [
    '#!/bin/sh',
    '# Trust policy updates, in rollout order: run the "during" part at step 2/3, the "after" part last.',
    'set -eu',
    '',
    '# during the rollout',
  ]
  for (const r of plan.roles) {
    const file = `trust-policies/${r.accountId}.${r.roleName}`
    files.push(
      {
        path: `${file}.during.json`,
        content: `${JSON.stringify(r.trustDuringRollout, null, 2)}\n`,
      },
      { path: `${file}.after.json`, content: `${JSON.stringify(r.trustAfterRollout, null, 2)}\n` },
    )
    if (r.addStatements.length > 0)
      commands.push(
        `aws iam update-assume-role-policy --role-name '${r.roleName}' --policy-document 'file://${file}.during.json'`,
      )
  }
  commands.push('', '# after the rollout is verified (uncomment)')
  for (const r of plan.roles) {
    if (r.removeAfterRollout.length > 0)
      commands.push(
        `# aws iam update-assume-role-policy --role-name '${r.roleName}' --policy-document 'file://trust-policies/${r.accountId}.${r.roleName}.after.json'`,
      )
  }
  files.push({ path: 'update-trust.sh', content: `${commands.join('\n')}\n` })
  if (plan.associations.length > 0) {
    const items = plan.associations.map((a) =>
      block(
        'resource',
        ['aws_eks_pod_identity_association', terraformName(`${a.namespace}_${a.serviceAccount}`)],
        [
          ...(a.targetRoleArn === undefined
            ? []
            : [
                {
                  comment:
                    'target_role_arn (role chaining) needs a hashicorp/aws release that supports it',
                },
              ]),
          ...attr('cluster_name', a.cluster),
          ...attr('namespace', a.namespace),
          ...attr('service_account', a.serviceAccount),
          ...attr('role_arn', a.roleArn),
          ...attr('target_role_arn', a.targetRoleArn),
        ],
      ),
    )
    files.push(
      {
        path: 'pod-identity.tf',
        content: renderHcl([
          block(
            'terraform',
            [],
            [
              block(
                'required_providers',
                [],
                [...attr('aws', { source: 'hashicorp/aws', version: '>= 5.31' })],
              ),
            ],
          ),
          ...items,
        ]),
      },
      {
        path: 'associations.json',
        content: `${JSON.stringify(
          plan.associations.map((a) => ({
            clusterName: a.cluster,
            namespace: a.namespace,
            serviceAccount: a.serviceAccount,
            roleArn: a.roleArn,
            ...(a.targetRoleArn === undefined ? {} : { targetRoleArn: a.targetRoleArn }),
          })),
          null,
          2,
        )}\n`,
      },
    )
  }
  return files
}
