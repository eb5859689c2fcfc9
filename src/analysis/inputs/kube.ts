/**
 * @module analysis/inputs/kube
 * Reads Kubernetes objects from text (pure: the CLI reads the files): multi-document YAML, JSON, `List` kinds
 * (`kubectl get … -A -o json|yaml`), kustomize output, and kustomize bases whose `kustomization.yaml` sets a
 * `namespace`. Documents that are not Kubernetes objects (Helm values, other tools' configs) are skipped with a
 * reason, never an error. Workload templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 * ReplicationController) become pod specs with admission defaults applied (`serviceAccountName` → `default`).
 */
import { parseAllDocuments } from 'yaml'
import type {
  Container,
  DataObject,
  EnvVar,
  KubeInventory,
  KubeObject,
  NetworkPolicyInfo,
  PodSpecInfo,
  RbacBinding,
  RbacRole,
  Volume,
} from '../model.ts'

export interface TextInput {
  /** Path as the user gave it (used in findings' sources). */
  path: string
  text: string
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const str = (v: unknown): string | undefined =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : undefined

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObject(v)) return out
  for (const [k, val] of Object.entries(v)) {
    const s = str(val)
    if (s !== undefined) out[k] = s
  }
  return out
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

function dirOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '.' : path.slice(0, i)
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Parses every document of every input; returns the Kubernetes objects and the skipped documents. */
export function parseKubeDocuments(inputs: readonly TextInput[]): {
  objects: KubeObject[]
  skipped: { source: string; reason: string }[]
} {
  const objects: KubeObject[] = []
  const skipped: { source: string; reason: string }[] = []
  // kustomize: objects without a namespace in a base folder get the kustomization's `namespace`.
  const folderNamespace = new Map<string, string>()
  const docs: { source: string; value: unknown; path: string }[] = []
  for (const input of inputs) {
    let parsed: unknown[]
    try {
      parsed = parseDocs(input.text)
    } catch (err) {
      skipped.push({ source: input.path, reason: `not YAML or JSON: ${(err as Error).message}` })
      continue
    }
    parsed.forEach((value, i) => {
      const source = parsed.length > 1 ? `${input.path}#${i}` : input.path
      if (
        isObject(value) &&
        value.kind === 'Kustomization' &&
        typeof value.namespace === 'string' &&
        /^kustomization\.ya?ml$/i.test(baseName(input.path))
      ) {
        folderNamespace.set(dirOf(input.path), value.namespace)
      }
      docs.push({ source, value, path: input.path })
    })
  }
  for (const doc of docs) {
    collectObjects(doc.value, doc.source, folderNamespace.get(dirOf(doc.path)), objects, skipped)
  }
  return { objects, skipped }
}

function parseDocs(text: string): unknown[] {
  const trimmed = text.trimStart()
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return [JSON.parse(text)]
    } catch {
      // fall through: YAML flow style
    }
  }
  const out: unknown[] = []
  // uniqueKeys false: real manifests repeat keys (the last wins, as in kubectl's decoder).
  for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
    if (doc.errors.length > 0) throw new Error(doc.errors[0]!.message.split('\n')[0])
    const value: unknown = doc.toJS({ maxAliasCount: 100 })
    if (value !== null && value !== undefined) out.push(value)
  }
  return out
}

function collectObjects(
  value: unknown,
  source: string,
  defaultNamespace: string | undefined,
  out: KubeObject[],
  skipped: { source: string; reason: string }[],
): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectObjects(v, `${source}[${i}]`, defaultNamespace, out, skipped))
    return
  }
  if (!isObject(value)) {
    skipped.push({ source, reason: 'not an object' })
    return
  }
  const kind = value.kind
  const apiVersion = value.apiVersion
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    skipped.push({
      source,
      reason: 'no apiVersion/kind: not a Kubernetes object (Helm values or another tool’s file?)',
    })
    return
  }
  if (kind.endsWith('List') && Array.isArray(value.items)) {
    value.items.forEach((item, i) =>
      collectObjects(item, `${source}.items[${i}]`, defaultNamespace, out, skipped),
    )
    return
  }
  if (kind === 'Kustomization') return
  const meta = isObject(value.metadata) ? value.metadata : {}
  const name = str(meta.name)
  if (name === undefined) {
    skipped.push({ source, reason: `${kind} without metadata.name` })
    return
  }
  const namespace = str(meta.namespace) ?? defaultNamespace
  out.push({
    apiVersion,
    kind,
    metadata: {
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      annotations: stringMap(meta.annotations),
      labels: stringMap(meta.labels),
      ...(typeof meta.creationTimestamp === 'string'
        ? { creationTimestamp: meta.creationTimestamp }
        : {}),
      ownerReferences: list(meta.ownerReferences)
        .filter(isObject)
        .map((o) => ({ kind: str(o.kind) ?? '', name: str(o.name) ?? '' })),
    },
    raw: value,
    source,
  })
}

const WORKLOAD_TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
}

function dig(v: unknown, path: string[]): unknown {
  let cur = v
  for (const p of path) {
    if (!isObject(cur)) return undefined
    cur = cur[p]
  }
  return cur
}

function parseEnv(v: unknown): EnvVar[] {
  return list(v)
    .filter(isObject)
    .map((e) => {
      const out: EnvVar = { name: str(e.name) ?? '' }
      const value = str(e.value)
      if (value !== undefined) out.value = value
      const from = isObject(e.valueFrom) ? e.valueFrom : undefined
      if (from !== undefined && isObject(from.secretKeyRef)) {
        out.secretKeyRef = {
          name: str(from.secretKeyRef.name) ?? '',
          key: str(from.secretKeyRef.key) ?? '',
        }
      }
      if (from !== undefined && isObject(from.configMapKeyRef)) {
        out.configMapKeyRef = {
          name: str(from.configMapKeyRef.name) ?? '',
          key: str(from.configMapKeyRef.key) ?? '',
        }
      }
      return out
    })
}

function parseContainers(v: unknown, init: boolean): Container[] {
  return list(v)
    .filter(isObject)
    .map((c) => ({
      name: str(c.name) ?? '',
      init,
      env: parseEnv(c.env),
      envFrom: list(c.envFrom)
        .filter(isObject)
        .map((e) => {
          const out: Container['envFrom'][number] = {}
          if (isObject(e.secretRef) && typeof e.secretRef.name === 'string')
            out.secretRef = e.secretRef.name
          if (isObject(e.configMapRef) && typeof e.configMapRef.name === 'string')
            out.configMapRef = e.configMapRef.name
          if (typeof e.prefix === 'string') out.prefix = e.prefix
          return out
        }),
      volumeMounts: list(c.volumeMounts)
        .filter(isObject)
        .map((m) => ({ name: str(m.name) ?? '', mountPath: str(m.mountPath) ?? '' })),
      args: list(c.args).map((a) => str(a) ?? ''),
      command: list(c.command).map((a) => str(a) ?? ''),
    }))
}

function parseVolumes(v: unknown): Volume[] {
  return list(v)
    .filter(isObject)
    .map((vol) => {
      const out: Volume = {
        name: str(vol.name) ?? '',
        tokenAudiences: [],
        projectedSecrets: [],
        projectedConfigMaps: [],
      }
      if (isObject(vol.secret) && typeof vol.secret.secretName === 'string')
        out.secret = vol.secret.secretName
      if (isObject(vol.configMap) && typeof vol.configMap.name === 'string')
        out.configMap = vol.configMap.name
      if (isObject(vol.hostPath) && typeof vol.hostPath.path === 'string')
        out.hostPath = vol.hostPath.path
      if (isObject(vol.projected)) {
        for (const s of list(vol.projected.sources).filter(isObject)) {
          if (isObject(s.serviceAccountToken)) {
            // No audience: the API server's default audiences (not an STS token).
            out.tokenAudiences.push(str(s.serviceAccountToken.audience) ?? '')
          }
          if (isObject(s.secret) && typeof s.secret.name === 'string')
            out.projectedSecrets.push(s.secret.name)
          if (isObject(s.configMap) && typeof s.configMap.name === 'string')
            out.projectedConfigMaps.push(s.configMap.name)
        }
      }
      return out
    })
}

function podSpec(obj: KubeObject, template: unknown, live: boolean): PodSpecInfo | undefined {
  if (!isObject(template)) return undefined
  const spec = isObject(template.spec) ? template.spec : undefined
  if (spec === undefined) return undefined
  const meta = isObject(template.metadata) ? template.metadata : {}
  const automount = spec.automountServiceAccountToken
  return {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    kind: obj.kind,
    live,
    // Admission defaults: serviceAccountName (or the deprecated serviceAccount) else `default`.
    serviceAccountName: str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? 'default',
    automountServiceAccountToken: typeof automount === 'boolean' ? automount : undefined,
    hostNetwork: spec.hostNetwork === true,
    annotations: live ? obj.metadata.annotations : stringMap(meta.annotations),
    labels: live ? obj.metadata.labels : stringMap(meta.labels),
    containers: [
      ...parseContainers(spec.initContainers, true),
      ...parseContainers(spec.containers, false),
    ],
    volumes: parseVolumes(spec.volumes),
    source: obj.source,
  }
}

function decodeBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8')
}

/** IMDS address: the metadata service every node exposes to pods unless blocked. */
const IMDS = [169, 254, 169, 254]

function cidrContainsImds(cidr: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim())
  if (m === null) return false
  const bits = Number(m[5])
  const ip = m.slice(1, 5).map(Number)
  const toInt = (o: number[]) => ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return (toInt(ip) & mask) === (toInt(IMDS) & mask)
}

/**
 * Whether an egress rule's `ports` admit IMDS (TCP 80): no ports means every port; a named port never
 * names the metadata service's (it is no container port). Kubernetes NetworkPolicy API: `port`, `endPort`,
 * `protocol` defaulting to TCP.
 */
function portsAdmitImds(ports: unknown[]): boolean {
  if (ports.length === 0) return true
  return ports.filter(isObject).some((p) => {
    if ((str(p.protocol) ?? 'TCP') !== 'TCP') return false
    if (p.port === undefined) return true
    if (typeof p.port !== 'number') return false
    const end = typeof p.endPort === 'number' ? p.endPort : p.port
    return p.port <= 80 && 80 <= end
  })
}

function networkPolicy(obj: KubeObject): NetworkPolicyInfo {
  const spec = isObject(obj.raw.spec) ? obj.raw.spec : {}
  const selector = isObject(spec.podSelector) ? spec.podSelector : {}
  const matchLabels = stringMap(selector.matchLabels)
  const matchExpressions = list(selector.matchExpressions)
    .filter(isObject)
    .map((e) => ({
      key: str(e.key) ?? '',
      operator: str(e.operator) ?? '',
      values: list(e.values).map((v) => str(v) ?? ''),
    }))
  const selectsAll = Object.keys(matchLabels).length === 0 && matchExpressions.length === 0
  const types = list(spec.policyTypes).map((t) => str(t))
  const egress = list(spec.egress).filter(isObject)
  const egressRestricted = types.includes('Egress') || spec.egress !== undefined
  let allowsImds = false
  for (const rule of egress) {
    const to = list(rule.to).filter(isObject)
    if (to.length === 0 && portsAdmitImds(list(rule.ports))) {
      allowsImds = true
      continue
    }
    if (!portsAdmitImds(list(rule.ports))) continue
    for (const peer of to) {
      if (!isObject(peer.ipBlock)) continue
      const cidr = str(peer.ipBlock.cidr) ?? ''
      const except = list(peer.ipBlock.except).map((e) => str(e) ?? '')
      if (cidrContainsImds(cidr) && !except.some(cidrContainsImds)) allowsImds = true
    }
  }
  return {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    selectsAll,
    matchLabels,
    matchExpressions,
    egressRestricted,
    allowsImds,
  }
}

function rbacRules(v: unknown): RbacRole['rules'] {
  return list(v)
    .filter(isObject)
    .map((r) => ({
      apiGroups: list(r.apiGroups).map((x) => str(x) ?? ''),
      resources: list(r.resources).map((x) => str(x) ?? ''),
      verbs: list(r.verbs).map((x) => str(x) ?? ''),
      resourceNames: list(r.resourceNames).map((x) => str(x) ?? ''),
    }))
}

/** Builds the inventory: ServiceAccounts (declared, and implied by pods), pod specs, data objects, RBAC. */
export function buildKubeInventory(
  objects: readonly KubeObject[],
  skipped: { source: string; reason: string }[] = [],
): KubeInventory {
  const inv: KubeInventory = {
    objects: objects.length,
    namespaces: new Map(),
    serviceAccounts: new Map(),
    pods: [],
    data: [],
    roles: [],
    bindings: [],
    networkPolicies: [],
    others: [],
    skipped,
  }
  // The same object given twice (a base and its overlay, or two exports): the last one wins, as with kubectl apply.
  const latest = new Map<string, KubeObject>()
  for (const obj of objects) {
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : ''
    latest.set(
      `${group}|${obj.kind}|${obj.metadata.namespace ?? 'default'}|${obj.metadata.name}`,
      obj,
    )
  }
  for (const obj of latest.values()) {
    const ns = obj.metadata.namespace ?? 'default'
    switch (obj.kind) {
      case 'Namespace':
        inv.namespaces.set(obj.metadata.name, {
          name: obj.metadata.name,
          annotations: obj.metadata.annotations,
        })
        break
      case 'ServiceAccount': {
        const automount = obj.raw.automountServiceAccountToken
        inv.serviceAccounts.set(`${ns}/${obj.metadata.name}`, {
          namespace: ns,
          name: obj.metadata.name,
          annotations: obj.metadata.annotations,
          labels: obj.metadata.labels,
          automountServiceAccountToken: typeof automount === 'boolean' ? automount : undefined,
          declared: true,
          source: obj.source,
        })
        break
      }
      case 'Pod': {
        const pod = podSpec(obj, obj.raw, true)
        if (pod !== undefined) inv.pods.push(pod)
        break
      }
      case 'Secret':
      case 'ConfigMap': {
        const data: Record<string, string> = {}
        const raw = stringMap(obj.raw.data)
        for (const [k, v] of Object.entries(raw))
          data[k] = obj.kind === 'Secret' ? decodeBase64(v) : v
        Object.assign(data, stringMap(obj.raw.stringData))
        const item: DataObject = {
          kind: obj.kind,
          namespace: ns,
          name: obj.metadata.name,
          data,
          source: obj.source,
        }
        const type = str(obj.raw.type)
        if (type !== undefined) item.type = type
        inv.data.push(item)
        break
      }
      case 'Role':
      case 'ClusterRole': {
        const role: RbacRole = {
          kind: obj.kind,
          name: obj.metadata.name,
          rules: rbacRules(obj.raw.rules),
        }
        if (obj.kind === 'Role') role.namespace = ns
        inv.roles.push(role)
        break
      }
      case 'RoleBinding':
      case 'ClusterRoleBinding': {
        const ref = isObject(obj.raw.roleRef) ? obj.raw.roleRef : {}
        const binding: RbacBinding = {
          kind: obj.kind,
          name: obj.metadata.name,
          roleRef: { kind: str(ref.kind) ?? '', name: str(ref.name) ?? '' },
          subjects: list(obj.raw.subjects)
            .filter(isObject)
            .map((s) => {
              const subject: RbacBinding['subjects'][number] = {
                kind: str(s.kind) ?? '',
                name: str(s.name) ?? '',
              }
              const sns = str(s.namespace)
              if (sns !== undefined) subject.namespace = sns
              return subject
            }),
        }
        if (obj.kind === 'RoleBinding') binding.namespace = ns
        inv.bindings.push(binding)
        break
      }
      case 'NetworkPolicy':
        inv.networkPolicies.push(networkPolicy(obj))
        break
      default: {
        const path = WORKLOAD_TEMPLATE_PATHS[obj.kind]
        if (path !== undefined) {
          const pod = podSpec(obj, dig(obj.raw, path), false)
          if (pod !== undefined) inv.pods.push(pod)
        } else {
          inv.others.push(obj)
        }
      }
    }
  }
  // Pods whose template is also present as a live pod: keep both (templates say what new pods get).
  for (const pod of inv.pods) {
    const key = `${pod.namespace}/${pod.serviceAccountName}`
    if (!inv.serviceAccounts.has(key)) {
      inv.serviceAccounts.set(key, {
        namespace: pod.namespace,
        name: pod.serviceAccountName,
        annotations: {},
        labels: {},
        automountServiceAccountToken: undefined,
        declared: false,
        source: pod.source,
      })
    }
  }
  return inv
}

export function emptyKubeInventory(): KubeInventory {
  return buildKubeInventory([])
}
