/**
 * @module kube/rate-limit
 * A token bucket (the reference's direct ServiceAccount lookups: 10 per second, burst 20), so a burst of
 * pods for unknown ServiceAccounts cannot flood the API server.
 */
export interface TokenBucket {
  /** Takes a token, waiting for one at most `maxWaitMs`; false when none came in time. */
  take(maxWaitMs: number): Promise<boolean>
}

export function tokenBucket(options: {
  ratePerSecond: number
  burst: number
  now?: () => number
}): TokenBucket {
  const now = options.now ?? (() => performance.now())
  let tokens = options.burst
  let last = now()
  const refill = () => {
    const t = now()
    tokens = Math.min(options.burst, tokens + ((t - last) / 1000) * options.ratePerSecond)
    last = t
  }
  return {
    async take(maxWaitMs) {
      refill()
      if (tokens >= 1) {
        tokens -= 1
        return true
      }
      const waitMs = ((1 - tokens) / options.ratePerSecond) * 1000
      if (waitMs > maxWaitMs) return false
      // Reserve the token now (tokens may go negative), so waiters are served in order.
      tokens -= 1
      await new Promise((r) => setTimeout(r, waitMs))
      return true
    },
  }
}
