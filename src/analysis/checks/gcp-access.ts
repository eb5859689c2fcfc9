/**
 * @module analysis/checks/gcp-access
 * GCP Workload Identity checks on conditions, reach and power (GCP-003, GCP-005, GCP-006, GCP-008).
 * - Conditions and mappings are judged by evaluation: probe tokens go through the provider's attribute mapping and
 *   condition with podtrust's implementation of Google's rules (the federation port), and bindings are matched
 *   against the federated identities they produce (https://cloud.google.com/iam/docs/workload-identity-federation,
 *   https://cloud.google.com/iam/docs/principal-identifiers).
 * - GKE: pods of clusters sharing a workload pool (`PROJECT_ID.svc.id.goog`) are the same principal for the same
 *   namespace and KSA name ("identity sameness",
 *   https://cloud.google.com/kubernetes-engine/fleet-management/docs/about-fleet-workload-identity-federation);
 *   node pools not running the GKE metadata server (`workloadMetadataConfig.mode` other than `GKE_METADATA`) and
 *   host-network pods reach the Compute Engine metadata server and the node's service account
 *   (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#limitations).
 */
import { issuerKey } from './util.ts'
import { finding, saKey, type ScanContext } from '../context.ts'
import { imdsBlockingPolicies } from '../imds.ts'
import { poolOf, type GcpFederatedIdentity } from '../federation-port.ts'
import type {
  GcpBinding,
  GcpProvider,
  PodSpecInfo,
  ScanFinding,
  ServiceAccountInfo,
} from '../model.ts'
import { isMultiTenantIssuer, subjectOf } from '../reachability.ts'

const PROBE = 'zz-podtrust-probe'
const IMPERSONATION_ROLES = new Set([
  'roles/iam.workloadIdentityUser',
  'roles/iam.serviceAccountTokenCreator',
])
/** Project-level roles that own the project, or let the holder rewrite IAM or act as any service account. */
const POWER: Record<string, { severity: 'critical' | 'high'; why: string }> = {
  'roles/owner': { severity: 'critical', why: 'owns the project' },
  'roles/resourcemanager.projectIamAdmin': {
    severity: 'critical',
    why: "can rewrite the project's IAM policy",
  },
  'roles/iam.securityAdmin': { severity: 'critical', why: 'can rewrite IAM policies' },
  'roles/editor': { severity: 'high', why: 'can change almost every resource' },
  'roles/iam.serviceAccountTokenCreator': {
    severity: 'high',
    why: 'can impersonate every service account of the project',
  },
  'roles/iam.serviceAccountUser': {
    severity: 'high',
    why: 'can act as every service account of the project',
  },
  'roles/iam.workloadIdentityUser': {
    severity: 'high',
    why: 'can impersonate every service account of the project',
  },
  'roles/iam.serviceAccountKeyAdmin': {
    severity: 'high',
    why: 'can create keys for every service account of the project',
  },
}

/** Claims of a Kubernetes projected token for `ns/name` (what the API server puts in, KEP-1205 / TokenRequest). */
export function kubernetesClaims(
  issuer: string,
  audience: string,
  ns: string,
  name: string,
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: subjectOf(ns, name),
    aud: [audience],
    'kubernetes.io': {
      namespace: ns,
      serviceaccount: { name, uid: '00000000-0000-0000-0000-000000000000' },
    },
  }
}

/** A probe token of someone else's tenant on a multi-tenant CI issuer (GitHub Actions, GitLab claims). */
function foreignTenantClaims(issuer: string, audience: string): Record<string, unknown> {
  const repo = `${PROBE}/${PROBE}`
  return {
    iss: issuer,
    aud: [audience],
    sub: issuerKey(issuer).includes('gitlab')
      ? `project_path:${repo}:ref_type:branch:ref:main`
      : `repo:${repo}:ref:refs/heads/main`,
    repository: repo,
    repository_owner: PROBE,
    repository_id: '1',
    repository_owner_id: '1',
    ref: 'refs/heads/main',
    project_path: repo,
    namespace_path: PROBE,
    namespace_id: '1',
    project_id: '1',
  }
}

const audienceOf = (p: GcpProvider) => p.allowedAudiences[0] ?? `//iam.googleapis.com/${p.name}`

/** The federated identity each inventory ServiceAccount obtains through each enabled provider. */
function federatedIdentities(
  ctx: ScanContext,
): { sa: ServiceAccountInfo; provider: GcpProvider; identity: GcpFederatedIdentity }[] {
  const port = ctx.options.federation
  const gcp = ctx.inputs.side.gcp
  if (port === undefined || gcp === undefined) return []
  const out = []
  for (const provider of gcp.providers) {
    if (provider.disabled || isMultiTenantIssuer(issuerKey(provider.issuerUri))) continue
    for (const sa of ctx.inputs.kube.serviceAccounts.values()) {
      const r = port.gcpFederate(
        provider,
        kubernetesClaims(provider.issuerUri, audienceOf(provider), sa.namespace, sa.name),
      )
      if (r.ok) out.push({ sa, provider, identity: r.identity })
    }
  }
  return out
}

/** GKE forms of a KSA member: `serviceAccount:POOL[ns/ksa]` and the principal identifiers on `POOL`. */
function gkeMemberMatches(member: string, pool: string, ns: string, ksa: string): boolean {
  if (member === `serviceAccount:${pool}[${ns}/${ksa}]`) return true
  const m =
    /^(principal|principalSet):\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/([^/]+)\/(.+)$/.exec(
      member,
    )
  if (m === null || m[2] !== pool) return false
  const selector = m[3]!
  return m[1] === 'principal'
    ? selector === `subject/ns/${ns}/sa/${ksa}`
    : selector === `namespace/${ns}` || selector === '*'
}

export function checkGcpAccess(ctx: ScanContext): ScanFinding[] {
  const gcp = ctx.inputs.side.gcp
  if (gcp === undefined) return []
  const out: ScanFinding[] = []
  const port = ctx.options.federation
  let federated: ReturnType<typeof federatedIdentities> | undefined
  const feds = () => (federated ??= federatedIdentities(ctx))

  // GCP-003: conditions that admit a probe no real workload is, and subjects that do not tell ServiceAccounts apart.
  if (port !== undefined)
    for (const p of gcp.providers) {
      if (p.disabled || p.attributeCondition === undefined || p.attributeCondition.trim() === '')
        continue
      const issuer = p.issuerUri
      const multiTenant = isMultiTenantIssuer(issuerKey(issuer))
      const probe = multiTenant
        ? foreignTenantClaims(issuer, audienceOf(p))
        : kubernetesClaims(issuer, audienceOf(p), PROBE, PROBE)
      const r = port.gcpFederate(p, probe)
      if (r.ok)
        out.push(
          finding(
            'GCP-003',
            'high',
            [p.name],
            multiTenant
              ? `workload identity provider ${p.name}: its attributeCondition (${p.attributeCondition}) admits a token of another tenant of ${issuer} (sub ${String(probe.sub)})`
              : `workload identity provider ${p.name}: its attributeCondition (${p.attributeCondition}) admits ${String(probe.sub)}, a ServiceAccount that exists nowhere: it does not pin namespaces or ServiceAccounts`,
            multiTenant
              ? "pin the tenant with immutable claims: assertion.repository_owner_id == '<id>' && assertion.repository == '<org>/<repo>'"
              : "pin exactly: assertion['kubernetes.io']['namespace'] == '<ns>' (or assertion.sub == 'system:serviceaccount:<ns>:<sa>')",
          ),
        )
      if (!multiTenant) {
        const a = port.gcpFederate(p, kubernetesClaims(issuer, audienceOf(p), PROBE, `${PROBE}-a`))
        const b = port.gcpFederate(p, kubernetesClaims(issuer, audienceOf(p), PROBE, `${PROBE}-b`))
        // The probes when the condition lets them through; else the inventory's own ServiceAccounts.
        const shared =
          a.ok && b.ok
            ? a.identity.subject === b.identity.subject
              ? a.identity.subject
              : undefined
            : sharedSubject(feds().filter((f) => f.provider === p))
        if (shared !== undefined)
          out.push(
            finding(
              'GCP-003',
              'high',
              [p.name],
              `workload identity provider ${p.name} maps different ServiceAccounts to the same google.subject (${shared}): a principal://…/subject/ binding admits all of them`,
              'map google.subject from assertion.sub (attributeMapping: google.subject=assertion.sub)',
            ),
          )
      }
    }

  // GCP-006: Google service accounts reachable by workloads that are owners, editors or can impersonate others.
  const projectPolicies = gcp.resourcePolicies ?? []
  const reachers = (
    bindings: GcpBinding[],
    projectId: string | undefined,
    roles: Set<string> | undefined,
  ) => {
    const who = new Set<string>()
    for (const b of bindings) {
      if (roles !== undefined && !roles.has(b.role)) continue
      for (const m of b.members) {
        // Only members naming the GKE pool or a federation pool can match a ServiceAccount (skip users, GSAs).
        if (projectId !== undefined && m.includes(`${projectId}.svc.id.goog`))
          for (const sa of ctx.inputs.kube.serviceAccounts.values())
            if (gkeMemberMatches(m, `${projectId}.svc.id.goog`, sa.namespace, sa.name))
              who.add(saKey(sa.namespace, sa.name))
        if (port !== undefined && m.startsWith('principal'))
          for (const f of feds())
            if (port.gcpMemberMatches(m, poolOf(f.provider.name), f.identity))
              who.add(saKey(f.sa.namespace, f.sa.name))
      }
    }
    return who
  }
  for (const gsa of gcp.serviceAccounts) {
    const who = reachers(gsa.bindings, gsa.projectId, IMPERSONATION_ROLES)
    if (who.size === 0) continue
    const powers: { severity: 'critical' | 'high'; text: string }[] = []
    for (const policy of projectPolicies)
      for (const b of policy.bindings) {
        const power = POWER[b.role]
        if (power === undefined || !b.members.includes(`serviceAccount:${gsa.email}`)) continue
        powers.push({
          severity: b.condition !== undefined ? 'high' : power.severity,
          text: `${b.role} on ${policy.resource}${b.condition !== undefined ? ' (conditional)' : ''}: ${power.why}`,
        })
      }
    for (const other of gcp.serviceAccounts) {
      if (other === gsa) continue
      for (const b of other.bindings)
        if (
          [
            'roles/iam.serviceAccountTokenCreator',
            'roles/iam.serviceAccountUser',
            'roles/iam.workloadIdentityUser',
          ].includes(b.role) &&
          b.members.includes(`serviceAccount:${gsa.email}`)
        )
          powers.push({
            severity: 'high',
            text: `${b.role} on ${other.email}: it can impersonate that service account`,
          })
    }
    if (powers.length === 0) continue
    const list = [...who]
    out.push(
      finding(
        'GCP-006',
        powers.some((p) => p.severity === 'critical') ? 'critical' : 'high',
        [gsa.email, ...list.slice(0, 20)],
        `${gsa.email}, which ${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''} can impersonate, holds ${powers.map((p) => p.text).join('; ')}`,
        'give the workload a service account with only the roles it needs, on the resources it needs',
      ),
    )
  }
  // Federated principals granted powerful project roles directly (no service account in between).
  for (const policy of projectPolicies)
    for (const b of policy.bindings) {
      const power = POWER[b.role]
      if (power === undefined) continue
      const who = reachers([b], undefined, undefined)
      if (who.size === 0) continue
      const list = [...who]
      out.push(
        finding(
          'GCP-006',
          b.condition !== undefined ? 'high' : power.severity,
          [policy.resource, ...list.slice(0, 20)],
          `${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''} hold ${b.role} on ${policy.resource} directly through workload identity federation: ${power.why}`,
          'grant federated principals only the roles they need, on the resources they need',
        ),
      )
    }

  // GCP-005: bindings on a workload pool several GKE clusters share.
  const clustersByPool = new Map<string, string[]>()
  for (const c of gcp.clusters ?? [])
    if (c.workloadPool !== undefined)
      clustersByPool.set(c.workloadPool, [...(clustersByPool.get(c.workloadPool) ?? []), c.name])
  const owners: { owner: string; bindings: GcpBinding[] }[] = [
    ...gcp.serviceAccounts.map((g) => ({ owner: g.email, bindings: g.bindings })),
    ...projectPolicies.map((p) => ({ owner: p.resource, bindings: p.bindings })),
  ]
  for (const [pool, clusters] of clustersByPool) {
    if (clusters.length < 2) continue
    for (const { owner, bindings } of owners)
      for (const b of bindings)
        for (const m of b.members) {
          const legacy = m.startsWith(`serviceAccount:${pool}[`)
          const principal = m.includes(`/workloadIdentityPools/${pool}/`)
          if (!legacy && !principal) continue
          out.push(
            finding(
              'GCP-005',
              'medium',
              [owner, m, ...clusters],
              `${owner}: ${b.role} for ${m} is satisfied by that namespace/KSA in any of ${clusters.length} clusters sharing ${pool} (${clusters.join(', ')})`,
              'separate projects (or fleets) per trust zone, and control who can create namespaces and ServiceAccounts in every cluster of the pool',
            ),
          )
        }
  }

  // GCP-008: node pools (or whole clusters) whose pods reach the node's service account.
  for (const c of gcp.clusters ?? []) {
    const exposed =
      c.workloadPool === undefined
        ? c.nodePools
        : c.nodePools.filter((n) => n.metadataMode !== 'GKE_METADATA')
    const pods = ctx.inputs.kube.pods.filter(
      (p) => imdsBlockingPolicies(p, ctx.inputs.kube.networkPolicies).length === 0,
    )
    for (const pool of exposed)
      out.push(
        finding(
          'GCP-008',
          'high',
          [`${c.name}/${pool.name}`, pool.serviceAccount ?? 'default', ...podLabels(pods)],
          `GKE cluster ${c.name}, node pool ${pool.name}: ${c.workloadPool === undefined ? 'Workload Identity is disabled' : `workloadMetadataConfig.mode is ${pool.metadataMode ?? 'unset'}`}, so its pods read the node service account (${pool.serviceAccount ?? 'default: the Compute Engine default service account'}) from the metadata server`,
          `gcloud container node-pools update ${pool.name} --cluster=${c.name} --workload-metadata=GKE_METADATA (after enabling --workload-pool=PROJECT_ID.svc.id.goog)`,
        ),
      )
    if (c.workloadPool !== undefined && exposed.length < c.nodePools.length) {
      const host = pods.filter((p) => p.hostNetwork)
      if (host.length > 0)
        out.push(
          finding(
            'GCP-008',
            'high',
            [c.name, ...podLabels(host)],
            `${host.length} hostNetwork pod(s) bypass the GKE metadata server of ${c.name} and read the node service account: ${podLabels(host).slice(0, 5).join(', ')}`,
            'remove hostNetwork: true, or run these pods on a node pool whose service account has minimal roles',
          ),
        )
    }
  }
  return out
}

const podLabels = (pods: PodSpecInfo[]) => pods.slice(0, 20).map((p) => `${p.namespace}/${p.name}`)

/** A google.subject two different ServiceAccounts both map to, if any. */
function sharedSubject(
  list: { sa: ServiceAccountInfo; identity: GcpFederatedIdentity }[],
): string | undefined {
  const seen = new Map<string, ServiceAccountInfo>()
  for (const { sa, identity } of list) {
    const first = seen.get(identity.subject)
    if (first !== undefined && first !== sa) return identity.subject
    seen.set(identity.subject, sa)
  }
  return undefined
}
