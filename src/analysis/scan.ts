/**
 * @module analysis/scan
 * `podtrust scan`'s pure core: inputs → findings, workloads (which roles each pod can obtain, which credentials its
 * SDK really uses) and the trust graph. The check catalog lives in docs/scan.md.
 */
import { checkAzureAccess } from './checks/azure-access.ts'
import { checkBindings } from './checks/bindings.ts'
import { checkCrossCloud } from './checks/cross-cloud.ts'
import { checkFederation } from './checks/federation.ts'
import { checkGcpAccess } from './checks/gcp-access.ts'
import { checkKube } from './checks/kube.ts'
import { checkOidcTrusts } from './checks/oidc.ts'
import { checkPermissions } from './checks/permissions.ts'
import { checkResourceScope } from './checks/resource-scope.ts'
import { checkTrusts } from './checks/trust.ts'
import { buildContext, resolveKube2iamRole, saKey, type ScanOptions } from './context.ts'
import { KUBE2IAM_ROLE_ANNOTATION } from './credentials.ts'
import {
  severityRank,
  type ScanFinding,
  type ScanInputs,
  type ScanReport,
  type Workload,
} from './model.ts'

export type { ScanOptions } from './context.ts'

export function scan(inputs: ScanInputs, options: ScanOptions): ScanReport {
  const ctx = buildContext(inputs, options)
  const findings: ScanFinding[] = []
  options.onProgress?.('checks', 0, 5)
  findings.push(...checkOidcTrusts(ctx))
  options.onProgress?.('checks', 1, 5)
  findings.push(...checkTrusts(ctx))
  options.onProgress?.('checks', 2, 5)
  const permissions = checkPermissions(ctx)
  findings.push(...permissions.findings)
  findings.push(...checkResourceScope(ctx))
  options.onProgress?.('checks', 3, 5)
  findings.push(...checkBindings(ctx))
  options.onProgress?.('checks', 4, 5)
  findings.push(...checkKube(ctx))
  findings.push(...checkFederation(ctx))
  findings.push(...checkAzureAccess(ctx))
  findings.push(...checkGcpAccess(ctx))
  findings.push(...checkCrossCloud(ctx))
  options.onProgress?.('checks', 5, 5)

  const workloads: Workload[] = []
  for (const pod of inputs.kube.pods) {
    const sa = saKey(pod.namespace, pod.serviceAccountName)
    const roles = new Set<string>()
    for (const r of ctx.irsaBySa.get(sa) ?? []) roles.add(r.arn)
    for (const a of ctx.associationsBySa.get(sa) ?? []) {
      roles.add(a.roleArn)
      if (a.targetRoleArn !== undefined) roles.add(a.targetRoleArn)
    }
    const k2 = pod.annotations[KUBE2IAM_ROLE_ANNOTATION]
    if (k2 !== undefined) roles.add(resolveKube2iamRole(k2, inputs.iam.roles))
    const creds = (ctx.credentials.get(pod) ?? []).filter((c) => c.container !== '')
    const main =
      creds.find((c) => !pod.containers.find((x) => x.name === c.container)?.init) ?? creds[0]
    workloads.push({
      pod: `${pod.namespace}/${pod.name}`,
      serviceAccount: sa,
      roles: [...roles].sort(),
      credentialSource: main?.python ?? 'none',
      credentialSourceBySdk: {
        python: main?.python ?? 'none',
        javascript: main?.javascript ?? 'none',
      },
      nodeRoles: ctx.imdsReachable(pod) ? ctx.nodeRoles.map((r) => r.arn) : [],
      kind: pod.kind,
    })
  }

  workloads.push(...secretStoreWorkloads(inputs, ctx.irsaBySa))

  const edges: ScanReport['edges'] = []
  for (const e of ctx.irsaEdges)
    edges.push({
      serviceAccount: saKey(e.serviceAccount.namespace, e.serviceAccount.name),
      role: e.role.arn,
      via: 'irsa',
    })
  for (const [sa, list] of ctx.associationsBySa)
    for (const a of list) {
      edges.push({ serviceAccount: sa, role: a.roleArn, via: 'pod-identity' })
      if (a.targetRoleArn !== undefined)
        edges.push({ serviceAccount: sa, role: a.targetRoleArn, via: 'chain' })
    }
  for (const pod of inputs.kube.pods) {
    const k2 = pod.annotations[KUBE2IAM_ROLE_ANNOTATION]
    if (k2 !== undefined)
      edges.push({
        serviceAccount: saKey(pod.namespace, pod.serviceAccountName),
        role: resolveKube2iamRole(k2, inputs.iam.roles),
        via: 'kube2iam',
      })
  }

  return {
    findings: dedupe(findings).sort(
      (a, b) =>
        severityRank[b.severity] - severityRank[a.severity] ||
        a.id.localeCompare(b.id) ||
        a.objects.join().localeCompare(b.objects.join()),
    ),
    workloads,
    permissions: permissions.summaries,
    edges: dedupeEdges(edges),
    stats: {
      serviceAccounts: inputs.kube.serviceAccounts.size,
      pods: inputs.kube.pods.length,
      roles: inputs.iam.roles.size,
      trustEvaluations: ctx.trustEvaluations,
      skippedDocuments: inputs.kube.skipped,
      warnings: inputs.iam.warnings,
    },
  }
}

function dedupe(findings: ScanFinding[]): ScanFinding[] {
  const seen = new Set<string>()
  return findings.filter((f) => {
    const key = `${f.id}\u0000${f.objects.join('\u0001')}\u0000${f.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function dedupeEdges(edges: ScanReport['edges']): ScanReport['edges'] {
  const seen = new Set<string>()
  return edges.filter((e) => {
    const key = `${e.serviceAccount}|${e.role}|${e.via}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The exit code for `--fail-on`: 1 when a finding is at or above the threshold. */
export function failsOn(
  report: ScanReport,
  threshold: ScanFinding['severity'] | undefined,
): boolean {
  if (threshold === undefined) return false
  return report.findings.some((f) => severityRank[f.severity] >= severityRank[threshold])
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * External Secrets Operator stores with the AWS provider, as workloads: `auth.jwt.serviceAccountRef` makes the
 * operator use that ServiceAccount's web identity (its IRSA-reachable roles), `auth.secretRef` static keys, no
 * auth the operator's own identity; `role` is assumed on top (external-secrets.io, "AWS Secrets Manager" provider).
 */
export function secretStoreWorkloads(
  inputs: ScanInputs,
  irsaBySa: Map<string, { arn: string }[]>,
): Workload[] {
  const out: Workload[] = []
  for (const obj of inputs.kube.others) {
    if (obj.kind !== 'SecretStore' && obj.kind !== 'ClusterSecretStore') continue
    const spec = isObj(obj.raw.spec) ? obj.raw.spec : {}
    const provider =
      isObj(spec.provider) && isObj(spec.provider.aws) ? spec.provider.aws : undefined
    if (provider === undefined) continue
    const auth = isObj(provider.auth) ? provider.auth : {}
    const ns = obj.metadata.namespace ?? 'default'
    const jwt =
      isObj(auth.jwt) && isObj(auth.jwt.serviceAccountRef) ? auth.jwt.serviceAccountRef : undefined
    const saName = typeof jwt?.name === 'string' ? jwt.name : undefined
    const saNs = typeof jwt?.namespace === 'string' ? jwt.namespace : ns
    const sa = saName !== undefined ? saKey(saNs, saName) : 'external-secrets (operator)'
    const roles = new Set<string>(
      saName !== undefined ? (irsaBySa.get(sa) ?? []).map((r) => r.arn) : [],
    )
    if (typeof provider.role === 'string') roles.add(provider.role)
    const source: Workload['credentialSource'] =
      auth.secretRef !== undefined ? 'env-keys' : saName !== undefined ? 'irsa' : 'none'
    out.push({
      pod: `${ns}/${obj.metadata.name}`,
      serviceAccount: sa,
      roles: [...roles].sort(),
      credentialSource: source,
      credentialSourceBySdk: { python: source, javascript: source },
      nodeRoles: [],
      kind: obj.kind,
    })
  }
  return out
}
