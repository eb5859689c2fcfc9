/**
 * @module kube/service-accounts
 * What the admission handler asks of a ServiceAccount source (Kubernetes API informer or YAML files), and
 * the cache both fill: ServiceAccounts stripped to name, namespace, resourceVersion and the annotations and
 * labels the mutation reads (as the reference's informer transform does, to bound memory), keyed `ns/name`.
 */
import type { ServiceAccount } from '../mutation/types.ts'

export interface ServiceAccountSource {
  /** The cached ServiceAccount, without waiting. */
  get(namespace: string, name: string): ServiceAccount | undefined
  /**
   * The ServiceAccount, waiting at most `waitMs` for it: the API source GETs it directly (rate-limited,
   * one request per `ns/name` at a time) and also takes it from the watch if it arrives first.
   */
  lookup(namespace: string, name: string, waitMs: number): Promise<ServiceAccount | undefined>
  /** How many ServiceAccounts are cached. */
  size(): number
  /** True once the first full list (or file read) is in. */
  synced(): boolean
  close(): Promise<void>
}

/** Levenshtein distance of two short strings, or Infinity once it exceeds `limit`. */
function within(a: string, b: string, limit: number): boolean {
  if (Math.abs(a.length - b.length) > limit) return false
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      row.push(v)
      best = Math.min(best, v)
    }
    if (best > limit) return false
    prev = row
  }
  return (prev[b.length] ?? Infinity) <= limit
}

const normalizeDomain = (s: string): string => s.toLowerCase().replace(/[-_. ]/g, '')

/**
 * Annotation and label keys the mutation reads, in the domains it knows; plus keys whose domain is a
 * near miss of one (`eks.amazon.com/role-arn`), which the mutation turns into admission warnings.
 * Everything else (kubectl's last-applied-configuration, Helm's, …) is dropped from the cache.
 */
export function relevantKeys(annotationPrefix: string): (key: string) => boolean {
  const domains = [annotationPrefix, 'azure.workload.identity', 'iam.gke.io', 'podtrust.io']
  const normalized = domains.map(normalizeDomain)
  const decided = new Map<string, boolean>()
  return (key) => {
    const slash = key.lastIndexOf('/')
    if (slash <= 0) return false
    const domain = key.slice(0, slash)
    const known = decided.get(domain)
    if (known !== undefined) return known
    const keep =
      domains.includes(domain) ||
      (domain.length <= 80 && normalized.some((d) => within(normalizeDomain(domain), d, 3)))
    // Domains repeat across ServiceAccounts; the memo is bounded so odd keys cannot grow it forever.
    if (decided.size < 1024) decided.set(domain, keep)
    return keep
  }
}

function stringMap(
  value: unknown,
  keep: (key: string) => boolean,
): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  let out: Record<string, string> | undefined
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' && keep(k)) (out ??= {})[k] = v
  }
  return out
}

/**
 * A ServiceAccount as the API (or a file) gave it → the cached form; undefined when it has no name or
 * namespace. `defaultNamespace` fills a missing namespace (files written without one).
 */
export function stripServiceAccount(
  object: unknown,
  keep: (key: string) => boolean,
  defaultNamespace?: string,
): ServiceAccount | undefined {
  if (typeof object !== 'object' || object === null) return undefined
  const meta = (object as { metadata?: unknown }).metadata
  if (typeof meta !== 'object' || meta === null) return undefined
  const m = meta as Record<string, unknown>
  const name = m['name']
  const namespace = typeof m['namespace'] === 'string' ? m['namespace'] : defaultNamespace
  if (typeof name !== 'string' || name === '' || namespace === undefined || namespace === '') {
    return undefined
  }
  const annotations = stringMap(m['annotations'], keep)
  const labels = stringMap(m['labels'], keep)
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name,
      namespace,
      ...(typeof m['resourceVersion'] === 'string'
        ? { resourceVersion: m['resourceVersion'] }
        : {}),
      ...(annotations === undefined ? {} : { annotations }),
      ...(labels === undefined ? {} : { labels }),
    },
  }
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`

/** The stripped ServiceAccounts by `ns/name`, with waiters for entries that have not arrived yet. */
export class ServiceAccountCache {
  #items = new Map<string, ServiceAccount>()
  #waiters = new Map<string, Set<(sa: ServiceAccount) => void>>()
  #onSize: ((n: number) => void) | undefined

  constructor(onSize?: (n: number) => void) {
    this.#onSize = onSize
  }

  get(namespace: string, name: string): ServiceAccount | undefined {
    return this.#items.get(keyOf(namespace, name))
  }

  get size(): number {
    return this.#items.size
  }

  /** From the watch or a list: always wins. */
  upsert(sa: ServiceAccount): void {
    const key = keyOf(sa.metadata.namespace, sa.metadata.name)
    this.#items.set(key, sa)
    this.#onSize?.(this.#items.size)
    const waiting = this.#waiters.get(key)
    if (waiting !== undefined) {
      this.#waiters.delete(key)
      for (const resolve of waiting) resolve(sa)
    }
  }

  /** From a direct GET: only when the watch has not delivered the object meanwhile (it may be newer). */
  offer(sa: ServiceAccount): ServiceAccount {
    const current = this.get(sa.metadata.namespace, sa.metadata.name)
    if (current !== undefined) return current
    this.upsert(sa)
    return sa
  }

  delete(namespace: string, name: string): void {
    this.#items.delete(keyOf(namespace, name))
    this.#onSize?.(this.#items.size)
  }

  /** A full relist: the cache becomes exactly `items`. */
  replace(items: readonly ServiceAccount[]): void {
    this.#items = new Map(items.map((sa) => [keyOf(sa.metadata.namespace, sa.metadata.name), sa]))
    this.#onSize?.(this.#items.size)
    for (const sa of items) {
      const waiting = this.#waiters.get(keyOf(sa.metadata.namespace, sa.metadata.name))
      if (waiting !== undefined) {
        this.#waiters.delete(keyOf(sa.metadata.namespace, sa.metadata.name))
        for (const resolve of waiting) resolve(sa)
      }
    }
  }

  /** Resolves when `ns/name` is upserted, or with undefined after `waitMs`. */
  waitFor(namespace: string, name: string, waitMs: number): Promise<ServiceAccount | undefined> {
    const found = this.get(namespace, name)
    if (found !== undefined || waitMs <= 0) return Promise.resolve(found)
    const key = keyOf(namespace, name)
    return new Promise((resolve) => {
      const set = this.#waiters.get(key) ?? new Set()
      this.#waiters.set(key, set)
      const done = (sa: ServiceAccount | undefined) => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key)
        resolve(sa)
      }
      const timer = setTimeout(() => done(undefined), waitMs)
      set.add(done)
    })
  }
}
