/**
 * @module mutation/pod
 * Shape checks and safe reads of the decoded pod. The reference webhooks decode the pod into Go structs,
 * so a field of the wrong JSON type (annotations that are not strings, `containers` that is not a list)
 * denies the pod; podtrust does the same with a message naming the field. Absent fields are fine.
 */
import type { Container, Pod, ServiceAccount, Volume } from './types.ts'

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A deep copy of JSON data; own `__proto__` keys stay plain data (JSON.parse defines, never assigns). */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

function checkStringMap(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) return `${path} is ${jsonType(value)}, not a map of strings`
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') return `${path}[${JSON.stringify(key.slice(0, 64))}] is not a string`
  }
  return undefined
}

function checkNamedList(
  value: unknown,
  path: string,
  inner?: (item: Record<string, unknown>, at: string) => string | undefined,
): string | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) return `${path} is ${jsonType(value)}, not a list`
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i]
    const at = `${path}[${i}]`
    if (!isRecord(item)) return `${at} is ${jsonType(item)}, not an object`
    if (item['name'] !== undefined && typeof item['name'] !== 'string')
      return `${at}.name is not a string`
    const problem = inner?.(item, at)
    if (problem !== undefined) return problem
  }
  return undefined
}

function checkContainer(item: Record<string, unknown>, at: string): string | undefined {
  return (
    checkNamedList(item['env'], `${at}.env`) ??
    checkNamedList(item['volumeMounts'], `${at}.volumeMounts`, (mount, mountAt) =>
      mount['mountPath'] !== undefined && typeof mount['mountPath'] !== 'string'
        ? `${mountAt}.mountPath is not a string`
        : undefined,
    )
  )
}

/**
 * Type errors in the fields the mutation reads (those a Go decode into `corev1.Pod` rejects), or undefined.
 * `pod` itself must be an object.
 */
export function podShapeError(pod: unknown): string | undefined {
  if (!isRecord(pod)) return `pod is ${jsonType(pod)}, not an object`
  const metadata = pod['metadata']
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata)) return `metadata is ${jsonType(metadata)}, not an object`
    for (const field of ['name', 'generateName', 'namespace']) {
      const v = metadata[field]
      if (v !== undefined && v !== null && typeof v !== 'string')
        return `metadata.${field} is not a string`
    }
    const problem =
      checkStringMap(metadata['labels'], 'metadata.labels') ??
      checkStringMap(metadata['annotations'], 'metadata.annotations')
    if (problem !== undefined) return problem
  }
  const spec = pod['spec']
  if (spec === undefined || spec === null) return undefined
  if (!isRecord(spec)) return `spec is ${jsonType(spec)}, not an object`
  const sa = spec['serviceAccountName']
  if (sa !== undefined && sa !== null && typeof sa !== 'string')
    return 'spec.serviceAccountName is not a string'
  return (
    checkStringMap(spec['nodeSelector'], 'spec.nodeSelector') ??
    checkNamedList(spec['initContainers'], 'spec.initContainers', checkContainer) ??
    checkNamedList(spec['containers'], 'spec.containers', checkContainer) ??
    checkNamedList(spec['volumes'], 'spec.volumes')
  )
}

/** Read-only facts about a pod whose shape `podShapeError` accepted. */
export interface PodFacts {
  name: string
  generateName: string
  annotations: Readonly<Record<string, string>>
  labels: Readonly<Record<string, string>>
  /** Whether `metadata.labels` is present (decides the reference's label op path). */
  hasLabels: boolean
  hasMetadata: boolean
  hasSpec: boolean
  /** `spec.serviceAccountName`, '' when unset. */
  serviceAccountName: string
  containers: Container[] | undefined
  initContainers: Container[] | undefined
  volumes: Volume[] | undefined
  /** `nodeSelector` names Windows (`kubernetes.io/os` or `beta.kubernetes.io/os`). */
  windows: boolean
}

export function podFacts(pod: Pod): PodFacts {
  const metadata = isRecord(pod.metadata) ? pod.metadata : {}
  const spec = isRecord(pod.spec) ? pod.spec : undefined
  const nodeSelector = isRecord(spec?.nodeSelector) ? spec.nodeSelector : {}
  const labels = isRecord(metadata.labels) ? metadata.labels : undefined
  return {
    name: typeof metadata.name === 'string' ? metadata.name : '',
    generateName: typeof metadata.generateName === 'string' ? metadata.generateName : '',
    annotations: isRecord(metadata.annotations) ? metadata.annotations : {},
    labels: labels ?? {},
    hasLabels: labels !== undefined,
    hasMetadata: isRecord(pod.metadata),
    hasSpec: spec !== undefined,
    serviceAccountName: typeof spec?.serviceAccountName === 'string' ? spec.serviceAccountName : '',
    containers: Array.isArray(spec?.containers) ? spec.containers : undefined,
    initContainers: Array.isArray(spec?.initContainers) ? spec.initContainers : undefined,
    volumes: Array.isArray(spec?.volumes) ? spec.volumes : undefined,
    windows:
      nodeSelector['kubernetes.io/os'] === 'windows' ||
      nodeSelector['beta.kubernetes.io/os'] === 'windows',
  }
}

/**
 * The ServiceAccount's annotations with string values only. Callers decode SAs themselves; a non-string
 * value (possible only from a hand-written file) is dropped with a warning rather than trusted.
 */
export function serviceAccountAnnotations(
  sa: ServiceAccount | undefined,
  warn: (message: string) => void,
): Record<string, string> {
  const annotations: unknown =
    isRecord(sa) && isRecord(sa.metadata) ? sa.metadata.annotations : undefined
  if (!isRecord(annotations)) return {}
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(annotations)) {
    if (typeof value === 'string') out[key] = value
    else
      warn(`ServiceAccount annotation ${JSON.stringify(key.slice(0, 64))} is not a string; ignored`)
  }
  return out
}

export function containerName(container: Container): string {
  return typeof container.name === 'string' ? container.name : ''
}

export function hasEnv(container: Container, name: string): boolean {
  return Array.isArray(container.env) && container.env.some((e) => e.name === name)
}

export function hasMount(container: Container, volumeName: string): boolean {
  return (
    Array.isArray(container.volumeMounts) &&
    container.volumeMounts.some((m) => m.name === volumeName)
  )
}

/** Appends `name=value` unless the container already defines `name` (values are never overwritten). */
export function appendEnvIfAbsent(container: Container, name: string, value: string): boolean {
  if (hasEnv(container, name)) return false
  container.env = [...(container.env ?? []), { name, value }]
  return true
}

/** Appends a read-only mount of `volumeName` unless one with that volume name exists (any path). */
export function appendMountIfAbsent(
  container: Container,
  volumeName: string,
  mountPath: string,
): boolean {
  if (hasMount(container, volumeName)) return false
  container.volumeMounts = [
    ...(container.volumeMounts ?? []),
    { name: volumeName, readOnly: true, mountPath },
  ]
  return true
}

/** Go `filepath.Join` on POSIX paths: empty elements dropped, result cleaned, '' when all are empty. */
export function goJoin(...parts: string[]): string {
  const kept = parts.filter((p) => p !== '')
  if (kept.length === 0) return ''
  const absolute = kept[0]?.startsWith('/') ?? false
  const out: string[] = []
  for (const segment of kept.join('/').split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!absolute) out.push('..')
      continue
    }
    out.push(segment)
  }
  const joined = out.join('/')
  if (absolute) return `/${joined}`
  return joined === '' ? '.' : joined
}

/** The reference's Windows form of a POSIX path: `C:` + the path with `/` turned into `\`. */
export function windowsPath(path: string): string {
  return `C:${path.replace(/\//g, '\\')}`
}
