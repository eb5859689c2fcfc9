/**
 * @module generate/migrate/inputs
 * What the migration planner reads, as a small interface: the cluster's workloads, namespaces and
 * ServiceAccounts, and the account's roles with their trust policies. Filled from the same inputs as `scan`,
 * through its parsers (`analysis/inputs/kube.ts`: Kubernetes objects from YAML/JSON text, kustomize
 * namespaces, the last definition of an object wins; `analysis/inputs/gaad.ts`: the output of
 * `aws iam get-account-authorization-details`), so both commands read a cluster the same way.
 */
import {
  buildKubeInventory,
  parseKubeDocuments,
  type TextInput,
} from '../../analysis/inputs/kube.ts'
import type {
  IamInventory as AnalysisIamInventory,
  KubeInventory,
  KubeObject,
} from '../../analysis/model.ts'

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

/** Where a workload kind keeps its pod template (the analysis inventory keeps no images: read them here). */
const TEMPLATE: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
}

function images(obj: KubeObject): Map<string, string> {
  let template: unknown = obj.raw
  for (const key of TEMPLATE[obj.kind] ?? ['-'])
    template = isObj(template) ? template[key] : undefined
  const spec = isObj(template) ? template['spec'] : undefined
  const out = new Map<string, string>()
  if (!isObj(spec)) return out
  for (const field of ['initContainers', 'containers']) {
    for (const c of Array.isArray(spec[field]) ? spec[field] : []) {
      if (isObj(c)) out.set(str(c['name']) ?? '', str(c['image']) ?? '')
    }
  }
  return out
}

const BASE_ROLE_FLAG = /^--base-role-arn=(.+)$/

/** The planner's view of a cluster from the analysis inventory (and the objects, for container images). */
export function clusterFromAnalysis(
  objects: readonly KubeObject[],
  inv: KubeInventory,
): ClusterInventory {
  const imagesByWorkload = new Map<string, Map<string, string>>()
  for (const o of objects)
    imagesByWorkload.set(
      `${o.kind}|${o.metadata.namespace ?? 'default'}|${o.metadata.name}`,
      images(o),
    )
  let kube2iamBaseRoleArn: string | undefined
  let kube2iamArgs: string[] | undefined
  const workloads: WorkloadRef[] = inv.pods.map((pod) => {
    const known =
      imagesByWorkload.get(`${pod.kind}|${pod.namespace}|${pod.name}`) ?? new Map<string, string>()
    const containers = pod.containers.map((c) => ({ name: c.name, image: known.get(c.name) ?? '' }))
    for (const c of pod.containers) {
      if (
        !/kube2iam/.test(known.get(c.name) ?? '') &&
        !(pod.kind === 'DaemonSet' && pod.name === 'kube2iam')
      )
        continue
      kube2iamArgs = [...c.command, ...c.args]
      for (const arg of kube2iamArgs) {
        const m = BASE_ROLE_FLAG.exec(arg)
        if (m?.[1] !== undefined) kube2iamBaseRoleArn = m[1]
      }
    }
    return {
      kind: pod.kind,
      name: pod.name,
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccountName,
      podAnnotations: pod.annotations,
      containers,
      hostNetwork: pod.hostNetwork,
    }
  })
  return {
    workloads,
    namespaces: [...inv.namespaces.values()].map((n) => ({
      name: n.name,
      annotations: n.annotations,
    })),
    // Only ServiceAccounts given as objects: the ones pods merely name do not exist as far as we know.
    serviceAccounts: [...inv.serviceAccounts.values()]
      .filter((sa) => sa.declared)
      .map((sa) => ({ namespace: sa.namespace, name: sa.name, annotations: sa.annotations })),
    kube2iamBaseRoleArn,
    kube2iamArgs,
  }
}

/** Parses manifest texts with scan's parser and returns the planner's view. */
export function clusterFromTexts(inputs: readonly TextInput[]): ClusterInventory {
  const { objects, skipped } = parseKubeDocuments(inputs)
  return clusterFromAnalysis(objects, buildKubeInventory(objects, skipped))
}

/** Roles and their trust policies from scan's IAM inventory (GAAD). */
export function iamFromAnalysis(iam: AnalysisIamInventory): IamInventory {
  return {
    roles: [...iam.roles.values()].map((r) => ({
      arn: r.arn,
      name: r.name,
      accountId: r.accountId,
      trustPolicy: r.trust.document,
    })),
  }
}
