/**
 * @module generate/migrate/inputs
 * What the migration planner reads, as a small interface: the cluster's workloads, namespaces and
 * ServiceAccounts, and the account's roles with their trust policies. `inventoryFromObjects` and
 * `rolesFromAuthorizationDetails` fill it from Kubernetes objects and from the output of
 * `aws iam get-account-authorization-details` (GAAD); the planner never sees the raw formats, so another
 * parser can feed it with one change.
 */

export interface ContainerRef {
  readonly name: string
  readonly image: string
}

/** A pod or a pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, …). */
export interface WorkloadRef {
  readonly kind: string
  readonly name: string
  readonly namespace: string
  readonly serviceAccount: string
  readonly podAnnotations: Readonly<Record<string, string>>
  readonly containers: readonly ContainerRef[]
  readonly hostNetwork: boolean
}

export interface NamespaceRef {
  readonly name: string
  readonly annotations: Readonly<Record<string, string>>
}

export interface ServiceAccountRef {
  readonly namespace: string
  readonly name: string
  readonly annotations: Readonly<Record<string, string>>
}

export interface ClusterInventory {
  readonly workloads: readonly WorkloadRef[]
  readonly namespaces: readonly NamespaceRef[]
  readonly serviceAccounts: readonly ServiceAccountRef[]
  /** kube2iam's `--base-role-arn` (from its DaemonSet's args), which prefixes role names in annotations. */
  readonly kube2iamBaseRoleArn: string | undefined
  /** kube2iam's command-line arguments when its DaemonSet is among the objects (undefined: not seen). */
  readonly kube2iamArgs: readonly string[] | undefined
}

export interface RoleRef {
  readonly arn: string
  readonly name: string
  readonly accountId: string
  readonly trustPolicy: unknown
}

export interface IamInventory {
  readonly roles: readonly RoleRef[]
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function stringRecord(v: unknown): Record<string, string> {
  if (!isObj(v)) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x
  return out
}

/** The pod template of a workload object, by kind (CronJob nests one level deeper). */
function podTemplate(o: Obj): { metadata: Obj; spec: Obj } | undefined {
  const kind = str(o['kind'])
  const spec = isObj(o['spec']) ? o['spec'] : {}
  if (kind === 'Pod') return { metadata: isObj(o['metadata']) ? o['metadata'] : {}, spec }
  let template: unknown = spec['template']
  if (kind === 'CronJob') {
    const job = isObj(spec['jobTemplate']) ? spec['jobTemplate'] : {}
    template = isObj(job['spec']) ? job['spec']['template'] : undefined
  }
  if (!isObj(template)) return undefined
  return {
    metadata: isObj(template['metadata']) ? template['metadata'] : {},
    spec: isObj(template['spec']) ? template['spec'] : {},
  }
}

const BASE_ROLE_FLAG = /^--base-role-arn=(.+)$/

/** Collects workloads, namespaces, ServiceAccounts (and kube2iam's base role ARN) from Kubernetes objects. */
export function inventoryFromObjects(objects: readonly unknown[]): ClusterInventory {
  const workloads: WorkloadRef[] = []
  const namespaces: NamespaceRef[] = []
  const serviceAccounts: ServiceAccountRef[] = []
  let kube2iamBaseRoleArn: string | undefined
  let kube2iamArgs: string[] | undefined
  const visit = (value: unknown): void => {
    if (!isObj(value)) return
    if (str(value['kind']) === 'List' && Array.isArray(value['items'])) {
      value['items'].forEach(visit)
      return
    }
    const kind = str(value['kind'])
    const metadata = isObj(value['metadata']) ? value['metadata'] : {}
    const name = str(metadata['name']) ?? ''
    const namespace = str(metadata['namespace']) ?? 'default'
    if (kind === undefined || name === '') return
    if (kind === 'Namespace') {
      namespaces.push({ name, annotations: stringRecord(metadata['annotations']) })
      return
    }
    if (kind === 'ServiceAccount') {
      serviceAccounts.push({ namespace, name, annotations: stringRecord(metadata['annotations']) })
      return
    }
    const template = podTemplate(value)
    if (template === undefined) return
    const containers = [
      ...(Array.isArray(template.spec['initContainers']) ? template.spec['initContainers'] : []),
      ...(Array.isArray(template.spec['containers']) ? template.spec['containers'] : []),
    ].flatMap((c) =>
      isObj(c) ? [{ name: str(c['name']) ?? '', image: str(c['image']) ?? '' }] : [],
    )
    for (const c of [
      ...(Array.isArray(template.spec['containers']) ? template.spec['containers'] : []),
    ]) {
      if (!isObj(c) || !/kube2iam/.test(str(c['image']) ?? '')) continue
      kube2iamArgs = [
        ...(Array.isArray(c['command']) ? c['command'] : []),
        ...(Array.isArray(c['args']) ? c['args'] : []),
      ].map(String)
      for (const arg of kube2iamArgs) {
        const m = BASE_ROLE_FLAG.exec(String(arg))
        if (m?.[1] !== undefined) kube2iamBaseRoleArn = m[1]
      }
    }
    workloads.push({
      kind,
      name,
      namespace,
      serviceAccount:
        str(template.spec['serviceAccountName']) ??
        str(template.spec['serviceAccount']) ??
        'default',
      podAnnotations: stringRecord(template.metadata['annotations']),
      containers,
      hostNetwork: template.spec['hostNetwork'] === true,
    })
  }
  objects.forEach(visit)
  return { workloads, namespaces, serviceAccounts, kube2iamBaseRoleArn, kube2iamArgs }
}

/** Roles (ARN, name, account, trust policy) from `aws iam get-account-authorization-details` output. */
export function rolesFromAuthorizationDetails(gaad: unknown): IamInventory {
  if (!isObj(gaad)) return { roles: [] }
  const list = Array.isArray(gaad['RoleDetailList']) ? gaad['RoleDetailList'] : []
  const roles = list.flatMap((r): RoleRef[] => {
    if (!isObj(r)) return []
    const arn = str(r['Arn'])
    if (arn === undefined) return []
    let trust: unknown = r['AssumeRolePolicyDocument']
    // GAAD URL-encodes policy documents in the raw API; the CLI decodes them. Accept both.
    if (typeof trust === 'string') {
      try {
        trust = JSON.parse(trust.startsWith('%') ? decodeURIComponent(trust) : trust)
      } catch {
        trust = undefined
      }
    }
    return [
      {
        arn,
        name: str(r['RoleName']) ?? arn.split('/').pop() ?? '',
        accountId: arn.split(':')[4] ?? '',
        trustPolicy: trust,
      },
    ]
  })
  return { roles }
}
