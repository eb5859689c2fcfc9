/**
 * @module aws/iam/usage
 * RoleLastUsed and AccessKeyLastUsed, recorded off the hot path. Authentication and role assumption only note a
 * use in memory (the latest per role / key wins); a timer writes the pending ones in one pass every `flushMs`
 * (default 5 s) and `close` writes what is left. IAM itself reports these dates with a delay ("IAM … last used
 * information … may not be available for up to 4 hours", IAM User Guide, "Viewing last accessed information"),
 * so a few seconds of batching changes nothing a client can see, and a request never waits for a write.
 */
import type { IamRepo } from './repo.ts'

export interface UsageRecorder {
  noteRoleUse(roleArn: string, when: Date, region: string): void
  noteAccessKeyUse(accessKeyId: string, when: Date, serviceName: string, region: string): void
  /** Writes pending uses now. */
  flush(): Promise<void>
  /** Stops the timer and writes pending uses. */
  close(): Promise<void>
}

export function createUsageRecorder(
  repo: Pick<IamRepo, 'recordRoleUse' | 'recordAccessKeyUse'>,
  options: { flushMs?: number; onError?: (err: unknown) => void } = {},
): UsageRecorder {
  let roles = new Map<string, { when: Date; region: string }>()
  let keys = new Map<string, { when: Date; serviceName: string; region: string }>()
  let running: Promise<void> = Promise.resolve()
  const flush = (): Promise<void> => {
    const r = roles
    const k = keys
    if (r.size === 0 && k.size === 0) return running
    roles = new Map()
    keys = new Map()
    // One flush at a time, in order; a failed write is reported, never thrown into a request.
    running = running.then(async () => {
      try {
        for (const [arn, u] of r) await repo.recordRoleUse(arn, u.when, u.region)
        for (const [id, u] of k) await repo.recordAccessKeyUse(id, u.when, u.serviceName, u.region)
      } catch (err) {
        options.onError?.(err)
      }
    })
    return running
  }
  const timer = setInterval(() => void flush(), options.flushMs ?? 5000)
  timer.unref()
  return {
    noteRoleUse(roleArn, when, region) {
      roles.set(roleArn, { when, region })
    },
    noteAccessKeyUse(accessKeyId, when, serviceName, region) {
      keys.set(accessKeyId, { when, serviceName, region })
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}
