/**
 * @module kube/service-accounts-api
 * ServiceAccounts from the Kubernetes API: a cluster-wide list + watch (bookmarks, 410 → relist) into the
 * stripped cache, and, for a ServiceAccount the cache does not have yet, a direct
 * `GET /api/v1/namespaces/NS/serviceaccounts/NAME` (rate-limited 10/s burst 20, one at a time per
 * `ns/name`, 1 s per attempt, retried on 429/5xx/network errors while the caller's wait lasts). This is
 * the fix for the reference webhook's most reported failure: a pod created right after its ServiceAccount
 * was admitted unmutated because the informer had not caught up.
 */
import type { ConfigurationOptions, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import type { ServiceAccount } from '../mutation/types.ts'
import { listPage, Reflector } from './list-watch.ts'
import { errorText, type WebhookLogger } from './log.ts'
import { tokenBucket, type TokenBucket } from './rate-limit.ts'
import {
  ServiceAccountCache,
  type ServiceAccountSource,
  stripServiceAccount,
} from './service-accounts.ts'

export interface ApiServiceAccountSourceOptions {
  kubeConfig: KubeConfig
  /** Which annotation/label keys to keep (see `relevantKeys`). */
  keep: (key: string) => boolean
  /** Watch restart period in milliseconds (`--resync-period`). */
  resyncPeriodMs: number
  log: WebhookLogger
  /** List page size (default 500). */
  pageSize?: number
  /** Per-attempt timeout of the direct GET in milliseconds (default 1000, the reference's). */
  getTimeoutMs?: number
  limiter?: TokenBucket
  onSize?(n: number): void
  onError?(err: unknown): void
  backoff?: { initialMs: number; maxMs: number }
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'number' ? code : undefined
}

export async function startApiServiceAccountSource(
  options: ApiServiceAccountSourceOptions,
): Promise<ServiceAccountSource & { reflector: Reflector<ServiceAccount> }> {
  const { CoreV1Api: Core, Observable } = await import('@kubernetes/client-node')
  const core: CoreV1Api = options.kubeConfig.makeApiClient(Core)
  /** Call options that abort the request after `ms` (the generated client takes a signal per request). */
  const withTimeout = (ms: number): ConfigurationOptions => ({
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(Math.ceil(ms)))
          return new Observable(Promise.resolve(ctx))
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  })
  const cache = new ServiceAccountCache(options.onSize)
  const strip = (o: unknown) => stripServiceAccount(o, options.keep)
  const reflector = new Reflector<ServiceAccount>({
    name: 'serviceaccounts',
    kubeConfig: options.kubeConfig,
    path: '/api/v1/serviceaccounts',
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    watchTimeoutSeconds: Math.max(1, Math.round(options.resyncPeriodMs / 1000)),
    async list(continueToken, limit) {
      const list = await core.listServiceAccountForAllNamespaces({
        limit,
        ...(continueToken === undefined ? {} : { _continue: continueToken }),
      })
      return listPage(list)
    },
    strip,
    onReplace: (items) => cache.replace(items),
    onUpsert: (sa) => cache.upsert(sa),
    onDelete: (sa) => cache.delete(sa.metadata.namespace, sa.metadata.name),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    log: options.log,
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
  })
  reflector.start()

  const limiter = options.limiter ?? tokenBucket({ ratePerSecond: 10, burst: 20 })
  const attemptMs = options.getTimeoutMs ?? 1000
  const inFlight = new Map<string, Promise<ServiceAccount | undefined>>()

  /** GETs until found, 404, or the deadline; never throws. */
  async function fetchDirect(
    namespace: string,
    name: string,
    deadline: number,
  ): Promise<ServiceAccount | undefined> {
    for (;;) {
      const left = deadline - performance.now()
      if (left <= 0) return undefined
      if (!(await limiter.take(left))) return undefined
      const started = performance.now()
      try {
        const sa = await core.readNamespacedServiceAccount(
          { name, namespace },
          withTimeout(Math.max(1, Math.min(attemptMs, deadline - performance.now()))),
        )
        const stripped = strip(sa)
        return stripped === undefined ? undefined : cache.offer(stripped)
      } catch (err) {
        const code = statusCode(err)
        if (code === 404) return undefined
        if (code !== undefined && code !== 429 && code < 500) {
          // 401/403: RBAC or credentials; retrying will not help within a pod's admission.
          options.log.error('kube.serviceaccount_get_failed', {
            namespace,
            serviceAccount: name,
            status: code,
            error: errorText(err),
          })
          options.onError?.(err)
          return undefined
        }
        options.log.warn('kube.serviceaccount_get_retry', {
          namespace,
          serviceAccount: name,
          status: code,
          error: errorText(err),
        })
        // A fast failure (connection refused) waits a little before the next attempt.
        const spent = performance.now() - started
        if (spent < 100) await new Promise((r) => setTimeout(r, 100 - spent))
      }
    }
  }

  return {
    reflector,
    get: (namespace, name) => cache.get(namespace, name),
    async lookup(namespace, name, waitMs) {
      const cached = cache.get(namespace, name)
      if (cached !== undefined || waitMs <= 0) return cached
      const key = `${namespace}/${name}`
      let direct = inFlight.get(key)
      if (direct === undefined) {
        direct = fetchDirect(namespace, name, performance.now() + waitMs).finally(() =>
          inFlight.delete(key),
        )
        inFlight.set(key, direct)
      }
      // Whichever comes first: the GET's answer, or the watch delivering the object.
      const watched = cache.waitFor(namespace, name, waitMs)
      const first = await Promise.race([
        direct.then((sa) => sa ?? watched),
        watched.then((sa) => sa ?? direct),
      ])
      return first ?? cache.get(namespace, name)
    },
    size: () => cache.size,
    synced: () => reflector.isSynced(),
    close: () => reflector.stop(),
  }
}
