/**
 * @module kube/pod-identity-eks
 * Pod Identity associations from podtrust's own EKS API (`--podtrust-endpoint URL --podtrust-cluster
 * NAME`), so no identities file is needed: `GET /clusters/NAME/pod-identity-associations` (every page,
 * `maxResults=100` / `nextToken`), SigV4-signed for service `eks` with the standard AWS environment
 * credentials, polled; the last good set is kept when a poll fails. On a ServiceAccount cache miss the
 * handler may ask for one pair at once (`?namespace=&serviceAccount=`), which closes the reference's race
 * between a new association and the first pod (its issue #264).
 */
import type { AwsCredentials } from '../aws/sigv4/sign.ts'
import { signRequest } from '../aws/sigv4/sign.ts'
import { WebhookError } from './errors.ts'
import { errorText, type WebhookLogger } from './log.ts'
import { IdentitySet, type PodIdentitySource } from './pod-identity.ts'
import { tokenBucket } from './rate-limit.ts'

export interface EksPodIdentitySourceOptions {
  /** podtrust's base URL. */
  endpoint: string
  cluster: string
  /** SigV4 signing region. */
  region: string
  /** Resolved per call so rotated credentials are picked up; undefined when none are configured. */
  credentials: () => AwsCredentials | undefined
  /** Poll period in milliseconds (default 30000; each poll is an audited EKS API call). */
  pollMs?: number
  /** `maxResults` per page (default 100, the API's maximum). */
  pageSize?: number
  /** Per-request timeout in milliseconds (default 5000). */
  timeoutMs?: number
  log: WebhookLogger
  onChange?(size: number): void
  onError?(err: unknown): void
  fetch?: typeof fetch
  now?: () => Date
}

interface AssociationPage {
  associations: { namespace: string; serviceAccount: string }[]
  nextToken: string | undefined
}

export function startEksPodIdentitySource(
  options: EksPodIdentitySourceOptions,
): PodIdentitySource & {
  refresh: NonNullable<PodIdentitySource['refresh']>
  firstSync: Promise<void>
  pollNow(): Promise<void>
} {
  const doFetch = options.fetch ?? fetch
  const now = options.now ?? (() => new Date())
  const base = `${options.endpoint.replace(/\/+$/, '')}/clusters/${encodeURIComponent(options.cluster)}/pod-identity-associations`
  const set = new IdentitySet()

  async function listPage(
    query: Record<string, string>,
    timeoutMs: number,
  ): Promise<AssociationPage> {
    const credentials = options.credentials()
    if (credentials === undefined) {
      throw new WebhookError(
        'UPSTREAM_FAILED',
        'no AWS credentials for the EKS API (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile)',
      )
    }
    const url = `${base}?${new URLSearchParams(query).toString()}`
    const headers = signRequest({
      method: 'GET',
      url,
      body: '',
      service: 'eks',
      region: options.region,
      credentials,
      now: now(),
    })
    // fetch sets `host` itself and refuses to be given one.
    delete headers['host']
    const res = await doFetch(url, { headers, signal: AbortSignal.timeout(Math.ceil(timeoutMs)) })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    if (res.status !== 200) {
      const type = (res.headers.get('x-amzn-errortype') ?? '').split(':')[0] || `HTTP ${res.status}`
      const message = (json as { message?: unknown } | undefined)?.message
      throw new WebhookError(
        'UPSTREAM_FAILED',
        `ListPodIdentityAssociations failed: ${type}${typeof message === 'string' ? `: ${message}` : ''}`,
      )
    }
    const body = json as { associations?: unknown; nextToken?: unknown } | undefined
    if (!Array.isArray(body?.associations)) {
      throw new WebhookError(
        'UPSTREAM_FAILED',
        'ListPodIdentityAssociations answered without associations',
      )
    }
    const associations = body.associations.flatMap((a: unknown) => {
      const e = a as { namespace?: unknown; serviceAccount?: unknown } | null
      return typeof e?.namespace === 'string' && typeof e.serviceAccount === 'string'
        ? [{ namespace: e.namespace, serviceAccount: e.serviceAccount }]
        : []
    })
    return {
      associations,
      nextToken:
        typeof body.nextToken === 'string' && body.nextToken !== '' ? body.nextToken : undefined,
    }
  }

  let polling: Promise<void> | undefined
  async function pollOnce(): Promise<void> {
    const all: { namespace: string; serviceAccount: string }[] = []
    let nextToken: string | undefined
    let pages = 0
    do {
      const page = await listPage(
        {
          maxResults: String(options.pageSize ?? 100),
          ...(nextToken === undefined ? {} : { nextToken }),
        },
        options.timeoutMs ?? 5000,
      )
      all.push(...page.associations)
      nextToken = page.nextToken
      // EKS allows 5000 associations per cluster: 50 pages; more means a server that loops.
      if (++pages > 1000)
        throw new WebhookError('UPSTREAM_FAILED', 'ListPodIdentityAssociations does not end')
    } while (nextToken !== undefined)
    const before = set.size
    set.replace(all)
    if (set.size !== before)
      options.log.info('podidentity.eks_loaded', { cluster: options.cluster, identities: set.size })
    options.onChange?.(set.size)
  }
  const poll = (): Promise<void> =>
    (polling ??= pollOnce()
      .catch((err: unknown) => {
        options.onError?.(err)
        options.log.error('podidentity.eks_poll_failed', {
          cluster: options.cluster,
          error: errorText(err),
          keptIdentities: set.size,
        })
      })
      .finally(() => (polling = undefined)))

  const firstSync = poll()
  const timer = setInterval(() => void poll(), options.pollMs ?? 30_000)
  timer.unref()

  const limiter = tokenBucket({ ratePerSecond: 5, burst: 10 })
  const inFlight = new Map<string, Promise<void>>()
  return {
    firstSync,
    pollNow: poll,
    has: (ns, sa) => set.has(ns, sa),
    async refresh(ns, sa, waitMs) {
      if (set.has(ns, sa) || waitMs <= 0) return set.has(ns, sa)
      const k = `${ns}/${sa}`
      let pending = inFlight.get(k)
      if (pending === undefined) {
        const started = performance.now()
        pending = (async () => {
          if (!(await limiter.take(waitMs))) return
          const left = waitMs - (performance.now() - started)
          if (left <= 0) return
          const page = await listPage({ namespace: ns, serviceAccount: sa }, left)
          if (page.associations.some((a) => a.namespace === ns && a.serviceAccount === sa)) {
            set.add(ns, sa)
          }
        })()
          .catch((err: unknown) => {
            options.log.warn('podidentity.eks_lookup_failed', {
              namespace: ns,
              serviceAccount: sa,
              error: errorText(err),
            })
          })
          .finally(() => inFlight.delete(k))
        inFlight.set(k, pending)
      }
      await pending
      return set.has(ns, sa)
    },
    size: () => set.size,
    close: async () => {
      clearInterval(timer)
      await polling
    },
  }
}
