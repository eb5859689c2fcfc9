/**
 * @module kube/pod-identity
 * Which (namespace, ServiceAccount) pairs have an EKS Pod Identity association: the question the AWS path
 * asks before choosing Pod Identity over IRSA. Sources: the reference's identities file, podtrust's own
 * EKS API, or both (their union).
 */
import { WebhookError } from './errors.ts'

export interface PodIdentitySource {
  has(namespace: string, serviceAccount: string): boolean
  /**
   * Asks the source again for one pair (a ServiceAccount the cache had just missed may have a brand-new
   * association too); resolves to `has()` afterwards, within `waitMs`.
   */
  refresh?(namespace: string, serviceAccount: string, waitMs: number): Promise<boolean>
  size(): number
  close(): Promise<void>
}

const key = (namespace: string, serviceAccount: string) => `${namespace}/${serviceAccount}`

/** A fixed set of pairs, replaced as a whole by the sources. */
export class IdentitySet {
  #pairs = new Set<string>()

  has(namespace: string, serviceAccount: string): boolean {
    return this.#pairs.has(key(namespace, serviceAccount))
  }

  add(namespace: string, serviceAccount: string): void {
    this.#pairs.add(key(namespace, serviceAccount))
  }

  replace(pairs: Iterable<{ namespace: string; serviceAccount: string }>): void {
    const next = new Set<string>()
    for (const p of pairs) next.add(key(p.namespace, p.serviceAccount))
    this.#pairs = next
  }

  get size(): number {
    return this.#pairs.size
  }
}

/**
 * The reference file (`--watch-container-credentials-config`):
 * `{"identities":[{"namespace":"ns","serviceAccount":"sa"}]}`. Empty text means no identities, as in the
 * reference; unknown fields are ignored as Go's encoding/json does.
 */
export function parseIdentitiesFile(
  text: string,
  file: string,
): { namespace: string; serviceAccount: string }[] {
  if (text.trim() === '') return []
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new WebhookError('SOURCE_INVALID', `\`${file}\` is not JSON: ${(err as Error).message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new WebhookError('SOURCE_INVALID', `\`${file}\` must be an object with "identities"`)
  }
  const identities = (json as { identities?: unknown }).identities
  if (identities === undefined || identities === null) return []
  if (!Array.isArray(identities)) {
    throw new WebhookError('SOURCE_INVALID', `\`${file}\`: "identities" must be an array`)
  }
  return identities.map((entry: unknown, i) => {
    const e = entry as { namespace?: unknown; serviceAccount?: unknown } | null
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.namespace !== 'string' ||
      typeof e.serviceAccount !== 'string'
    ) {
      throw new WebhookError(
        'SOURCE_INVALID',
        `\`${file}\`: identities[${i}] needs string "namespace" and "serviceAccount"`,
      )
    }
    return { namespace: e.namespace, serviceAccount: e.serviceAccount }
  })
}

/** No source configured: nobody has Pod Identity. */
export const noPodIdentities: PodIdentitySource = {
  has: () => false,
  size: () => 0,
  close: () => Promise.resolve(),
}

/** A pair is associated when any source says so. */
export function unionPodIdentities(sources: readonly PodIdentitySource[]): PodIdentitySource {
  if (sources.length === 0) return noPodIdentities
  if (sources.length === 1 && sources[0] !== undefined) return sources[0]
  return {
    has: (ns, sa) => sources.some((s) => s.has(ns, sa)),
    async refresh(ns, sa, waitMs) {
      const answers = await Promise.all(
        sources.map((s) => (s.refresh === undefined ? s.has(ns, sa) : s.refresh(ns, sa, waitMs))),
      )
      return answers.some(Boolean)
    },
    size: () => sources.reduce((n, s) => n + s.size(), 0),
    close: async () => {
      await Promise.all(sources.map((s) => s.close()))
    },
  }
}
