/**
 * @module analysis/context
 * The state every check reads: inputs, reachability (IRSA by evaluation, Pod Identity associations, kube2iam),
 * resolved permission policies per principal, node roles and IMDS reachability, each pod's SDK credentials.
 * Built once per scan; checks are pure functions of it.
 */
import { compilePolicy, type CompiledPolicy } from '../policy/index.ts'
import {
  resolveContainerCredentials,
  KUBE2IAM_ROLE_ANNOTATION,
  type ContainerCredentials,
} from './credentials.ts'
import { imdsExposure } from './imds.ts'
import type {
  IamRole,
  IamUser,
  PodIdentityAssociation,
  PodSpecInfo,
  ScanFinding,
  ScanInputs,
  ServiceAccountInfo,
} from './model.ts'
import type { ActionCatalog } from './action-catalog.ts'
import type { FederationEvaluator } from './federation-port.ts'
import { engineOracle, type PermissionOracle, type PrincipalPolicies } from './oracle.ts'
import {
  clusterProviders,
  IRSA_ROLE_ANNOTATION,
  irsaReachability,
  type IrsaEdge,
  type ProviderRef,
} from './reachability.ts'
import { pushTo } from './checks/util.ts'

export interface ScanOptions {
  now: Date
  /** The cluster's issuer URL(s); absent: every non-CI provider in the inputs is taken as a cluster's. */
  issuers?: string[]
  /** Accounts that are yours (TRUST-003): default the accounts of the GAAD. */
  knownAccounts?: string[]
  /** Roles unused for longer than this are reported (BIND-006); default 90. */
  unusedDays?: number
  /** Run the permission checks on every role and user, not only pod-reachable ones (default when no K8s input). */
  allPrincipals?: boolean
  oracle?: PermissionOracle
  /** Azure's and Google's federation rules (the adapter supplies podtrust's own); absent: checks needing them skip. */
  federation?: FederationEvaluator
  /** IAM action data (access levels); absent: PERM-003 is skipped. */
  actionCatalog?: ActionCatalog
  onProgress?: (phase: string, done: number, total: number) => void
}

export const saKey = (namespace: string, name: string): string => `${namespace}/${name}`

export interface ScanContext {
  inputs: ScanInputs
  options: ScanOptions
  now: Date
  oracle: PermissionOracle
  providers: ProviderRef[]
  irsaEdges: IrsaEdge[]
  /** saKey → roles reachable by IRSA. */
  irsaBySa: Map<string, IamRole[]>
  associationsBySa: Map<string, PodIdentityAssociation[]>
  /** Pod-reachable role ARN → the `namespace/serviceaccount` that reach it (any mechanism). */
  podReachable: Map<string, Set<string>>
  credentials: Map<PodSpecInfo, ContainerCredentials[]>
  nodeRoles: IamRole[]
  knownAccounts: Set<string>
  trustEvaluations: number
  policiesOf(principal: IamRole | IamUser): PrincipalPolicies
  imdsReachable(pod: PodSpecInfo): boolean
  /** Principals the permission checks cover. */
  auditedPrincipals(): (IamRole | IamUser)[]
}

export function buildContext(inputs: ScanInputs, options: ScanOptions): ScanContext {
  const { kube, iam, side } = inputs
  const now = options.now
  const oracle = options.oracle ?? engineOracle()
  const providers = clusterProviders(iam.roles.values(), side.oidcProviders, options.issuers)
  const irsa = irsaReachability(
    kube.serviceAccounts.values(),
    iam.roles.values(),
    providers,
    now,
    (d, t) => options.onProgress?.('reachability', d, t),
  )
  const irsaBySa = new Map<string, IamRole[]>()
  for (const edge of irsa.edges) {
    const key = saKey(edge.serviceAccount.namespace, edge.serviceAccount.name)
    const list = irsaBySa.get(key) ?? []
    if (!list.includes(edge.role)) list.push(edge.role)
    irsaBySa.set(key, list)
  }
  const associationsBySa = new Map<string, PodIdentityAssociation[]>()
  for (const a of side.associations ?? []) {
    const key = saKey(a.namespace, a.serviceAccount)
    pushTo(associationsBySa, key, a)
  }

  const podReachable = new Map<string, Set<string>>()
  const addReach = (role: string, sa: string) => {
    const set = podReachable.get(role) ?? new Set<string>()
    set.add(sa)
    podReachable.set(role, set)
  }
  for (const [key, roles] of irsaBySa) for (const r of roles) addReach(r.arn, key)
  for (const [key, list] of associationsBySa) {
    for (const a of list) {
      addReach(a.roleArn, key)
      if (a.targetRoleArn !== undefined) addReach(a.targetRoleArn, key)
    }
  }
  for (const pod of kube.pods) {
    const role = pod.annotations[KUBE2IAM_ROLE_ANNOTATION]
    if (role !== undefined)
      addReach(resolveKube2iamRole(role, iam.roles), saKey(pod.namespace, pod.serviceAccountName))
  }

  // Node roles: the instance profiles of the given nodes, else every role with an instance profile.
  const profileToRole = new Map<string, IamRole>()
  for (const role of iam.roles.values())
    for (const p of role.instanceProfiles) profileToRole.set(p, role)
  const nodeRoles: IamRole[] = []
  if (side.nodes !== undefined) {
    for (const n of side.nodes) {
      const role =
        n.roleArn !== undefined
          ? iam.roles.get(n.roleArn)
          : n.instanceProfileArn !== undefined
            ? profileToRole.get(n.instanceProfileArn)
            : undefined
      if (role !== undefined && !nodeRoles.includes(role)) nodeRoles.push(role)
    }
  }

  const policyCache = new Map<string, PrincipalPolicies>()
  const managed = (arn: string): CompiledPolicy | undefined =>
    iam.policies.get(arn)?.defaultVersion?.compiled
  const policiesOf = (principal: IamRole | IamUser): PrincipalPolicies => {
    const hit = policyCache.get(principal.arn)
    if (hit !== undefined) return hit
    const identity: CompiledPolicy[] = []
    for (const p of principal.inline) if (p.compiled !== undefined) identity.push(p.compiled)
    for (const arn of principal.attached) {
      const c = managed(arn)
      if (c !== undefined) identity.push(c)
    }
    if ('groups' in principal) {
      for (const g of principal.groups) {
        const group = iam.groups.get(g)
        if (group === undefined) continue
        for (const p of group.inline) if (p.compiled !== undefined) identity.push(p.compiled)
        for (const arn of group.attached) {
          const c = managed(arn)
          if (c !== undefined) identity.push(c)
        }
      }
    }
    let boundary: CompiledPolicy | undefined
    if (principal.boundaryArn !== undefined) {
      const b = iam.policies.get(principal.boundaryArn)?.defaultVersion?.document
      // A boundary GAAD does not carry is unknown: evaluate without it rather than deny everything.
      if (b !== undefined)
        boundary = compilePolicy(b, { id: principal.boundaryArn, type: 'boundary' })
    }
    const out: PrincipalPolicies = { arn: principal.arn, identity, boundary: boundary ?? undefined }
    if (boundary === undefined) delete out.boundary
    policyCache.set(principal.arn, out)
    return out
  }

  const imdsReachable = (pod: PodSpecInfo): boolean =>
    side.nodes !== undefined && imdsExposure(pod, side.nodes, kube.networkPolicies).reachable

  const credentials = new Map<PodSpecInfo, ContainerCredentials[]>()
  for (const pod of kube.pods) {
    const sa = kube.serviceAccounts.get(saKey(pod.namespace, pod.serviceAccountName))
    const facts = {
      irsaAnnotated: sa?.annotations[IRSA_ROLE_ANNOTATION] !== undefined,
      podIdentityAssociated: associationsBySa.has(saKey(pod.namespace, pod.serviceAccountName)),
      imdsReachable: imdsReachable(pod),
    }
    credentials.set(
      pod,
      pod.containers.map((c) => resolveContainerCredentials(pod, c, kube.data, facts)),
    )
  }

  const knownAccounts = new Set([...iam.accounts, ...(options.knownAccounts ?? [])])
  const kubeGiven = kube.objects > 0
  return {
    inputs,
    options,
    now,
    oracle,
    providers,
    irsaEdges: irsa.edges,
    irsaBySa,
    associationsBySa,
    podReachable,
    credentials,
    nodeRoles,
    knownAccounts,
    trustEvaluations: irsa.evaluations,
    policiesOf,
    imdsReachable,
    auditedPrincipals() {
      if (options.allPrincipals === true || !kubeGiven)
        return [...iam.roles.values(), ...iam.users.values()]
      const out: (IamRole | IamUser)[] = []
      for (const arn of podReachable.keys()) {
        const role = iam.roles.get(arn)
        if (role !== undefined) out.push(role)
      }
      for (const role of nodeRoles) if (!out.includes(role)) out.push(role)
      return out
    },
  }
}

/** kube2iam accepts a role name or ARN (with --base-role-arn); names are resolved against GAAD's roles. */
export function resolveKube2iamRole(value: string, roles: Map<string, IamRole>): string {
  if (value.startsWith('arn:')) return value
  for (const role of roles.values())
    if (role.name === value || role.arn.endsWith(`:role/${value}`)) return role.arn
  return value
}

export function finding(
  id: string,
  severity: ScanFinding['severity'],
  objects: string[],
  message: string,
  remediation: string,
  sources?: string[],
): ScanFinding {
  const f: ScanFinding = { id, severity, objects, message, remediation }
  if (sources !== undefined && sources.length > 0) f.sources = sources
  return f
}

export function serviceAccountsOf(ctx: ScanContext): ServiceAccountInfo[] {
  return [...ctx.inputs.kube.serviceAccounts.values()]
}
