/**
 * @module agent/cache
 * Per-token credential cache with refresh ahead of the SDKs' windows. boto3 refreshes when < 15 min remain
 * (advisory) and JS when < 5 min (their credential refresh windows; see docs/pod-identity.md), so the agent never hands out credentials with less
 * than `minServeSeconds` (20 min) left: it renews in the background once `renewAfter` has passed and fetches
 * synchronously only when the cached entry is too close to expiry. Concurrent misses for one token share one
 * EKS Auth call. LRU-bounded like the reference agent (2000 entries).
 */
import { createHash } from 'node:crypto'
import type { CredentialSource, PodCredentials } from './source.ts'

export interface CacheOptions {
  source: CredentialSource
  now: () => Date
  /** Maximum number of tokens cached (default 2000). */
  maxEntries?: number
  /** Renew in the background after min(this, half the lifetime) (default 3 h, in seconds). */
  renewAfterSeconds?: number
  /** Never serve cached credentials with less than this left (default 1200 s = 20 min). */
  minServeSeconds?: number
  /**
   * Background renewals per second (default 3, the reference agent's refresh QPS): a node full of pods
   * renewing at once does not flood EKS Auth. Synchronous fetches (cache misses) are never held back.
   */
  refreshPerSecond?: number
}

interface Entry {
  creds: PodCredentials
  renewAt: number
  refreshing: Promise<PodCredentials> | undefined
}

export interface CacheStats {
  hits: number
  misses: number
  backgroundRefreshes: number
  size: number
}

export interface CredentialCache {
  get(token: string): Promise<{ creds: PodCredentials; cached: boolean }>
  stats(): CacheStats
  clear(): void
}

const keyOf = (token: string) => createHash('sha256').update(token).digest('base64url')

export function createCredentialCache(options: CacheOptions): CredentialCache {
  const max = options.maxEntries ?? 2000
  const renewAfterMs = (options.renewAfterSeconds ?? 3 * 3600) * 1000
  const minServeMs = (options.minServeSeconds ?? 1200) * 1000
  const entries = new Map<string, Entry>()
  const inflight = new Map<string, Promise<PodCredentials>>()
  const stats = { hits: 0, misses: 0, backgroundRefreshes: 0 }
  const rate = options.refreshPerSecond ?? 3
  // Token bucket for background renewals: `rate` per second, bursts of `rate`.
  let bucket = rate
  let bucketAt = options.now().getTime()
  function takeRefreshToken(now: number): boolean {
    bucket = Math.min(rate, bucket + ((now - bucketAt) / 1000) * rate)
    bucketAt = now
    if (bucket < 1) return false
    bucket -= 1
    return true
  }

  function store(key: string, creds: PodCredentials): void {
    const fetched = options.now().getTime()
    const lifetime = creds.expiration.getTime() - fetched
    const renewAt = fetched + Math.min(renewAfterMs, Math.max(0, lifetime / 2))
    entries.delete(key)
    entries.set(key, { creds, renewAt, refreshing: undefined })
    while (entries.size > max) {
      const oldest = entries.keys().next().value
      if (oldest === undefined) break
      entries.delete(oldest)
    }
  }

  function fetchShared(key: string, token: string): Promise<PodCredentials> {
    const running = inflight.get(key)
    if (running !== undefined) return running
    const p = options
      .source(token)
      .then((creds) => {
        // Only credentials the clients can use for a while are worth caching.
        if (creds.expiration.getTime() - options.now().getTime() > minServeMs) store(key, creds)
        return creds
      })
      .finally(() => inflight.delete(key))
    inflight.set(key, p)
    return p
  }

  return {
    async get(token) {
      const key = keyOf(token)
      const entry = entries.get(key)
      const now = options.now().getTime()
      if (entry !== undefined && entry.creds.expiration.getTime() - now > minServeMs) {
        // LRU touch.
        entries.delete(key)
        entries.set(key, entry)
        stats.hits++
        if (now >= entry.renewAt && entry.refreshing === undefined && takeRefreshToken(now)) {
          stats.backgroundRefreshes++
          entry.refreshing = fetchShared(key, token)
          // A failed background refresh keeps the still-valid entry; the next request past renewAt retries.
          void entry.refreshing
            .catch(() => undefined)
            .finally(() => {
              entry.refreshing = undefined
            })
        }
        return { creds: entry.creds, cached: true }
      }
      if (entry !== undefined) entries.delete(key)
      stats.misses++
      return { creds: await fetchShared(key, token), cached: false }
    },
    stats: () => ({ ...stats, size: entries.size }),
    clear: () => entries.clear(),
  }
}
