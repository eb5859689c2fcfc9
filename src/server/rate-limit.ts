/**
 * @module server/rate-limit
 * Token buckets per source address. A source's bucket refills at `ratePerSecond` up to `burst`; failed
 * requests and unauthenticated ones draw from it, and a source with an empty bucket is refused until it
 * refills. Successful signed requests draw nothing, so a well-behaved client is never throttled by the
 * failures of others. The table is bounded: beyond `maxSources` the least recently seen source is forgotten
 * (a forgotten source starts again with a full bucket).
 */
export interface RateLimitOptions {
  /** Tokens added per second (0 disables the limiter). */
  ratePerSecond: number
  /** Bucket size: how many charged requests a source may make at once. */
  burst: number
  maxSources?: number
  now?: () => number
}

export interface RateLimiter {
  /** Seconds to wait before `source` may be served again, or 0 when it may be served now. */
  retryAfter(source: string): number
  /** Draws `cost` tokens from `source`'s bucket (the bucket may go negative: it then refuses longer). */
  charge(source: string, cost: number): void
  readonly enabled: boolean
  readonly size: number
}

interface Bucket {
  tokens: number
  at: number
}

export const DEFAULT_RATE_PER_SECOND = 10
export const DEFAULT_BURST = 100

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const rate = options.ratePerSecond
  const burst = Math.max(1, options.burst)
  const maxSources = options.maxSources ?? 10_000
  const now = options.now ?? (() => performance.now())
  // A Map iterates in insertion order: re-inserting on use keeps the least recently seen first.
  const buckets = new Map<string, Bucket>()

  const refill = (source: string): Bucket => {
    const t = now()
    let b = buckets.get(source)
    if (b === undefined) {
      b = { tokens: burst, at: t }
      if (buckets.size >= maxSources) {
        const oldest = buckets.keys().next().value
        if (oldest !== undefined) buckets.delete(oldest)
      }
    } else {
      buckets.delete(source)
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate)
      b.at = t
    }
    buckets.set(source, b)
    return b
  }

  return {
    enabled: rate > 0,
    get size() {
      return buckets.size
    },
    retryAfter(source) {
      if (rate <= 0) return 0
      const b = refill(source)
      return b.tokens >= 1 ? 0 : (1 - b.tokens) / rate
    },
    charge(source, cost) {
      if (rate <= 0 || cost <= 0) return
      const b = refill(source)
      b.tokens = Math.max(-burst, b.tokens - cost)
    },
  }
}
