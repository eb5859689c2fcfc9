/**
 * @module gateway/resource-policies
 * Bucket policies (keyed by bucket name) and queue policies (keyed by queue ARN), stored by podtrust so the
 * same engine evaluates them with the caller's identity, session and boundary policies. A short in-memory
 * cache keeps the data path off the store; writes through this gateway invalidate it at once.
 */
import type { Db } from '../store/db.ts'

export type ResourceService = 's3' | 'sqs'

export interface ResourcePolicyStore {
  get(service: ResourceService, resource: string): Promise<string | undefined>
  put(service: ResourceService, resource: string, document: string, now: Date): Promise<void>
  delete(service: ResourceService, resource: string): Promise<boolean>
}

const CACHE_TTL_MS = 1000
const CACHE_LIMIT = 10_000

export function createResourcePolicyStore(
  db: Db,
  clock: () => number = Date.now,
): ResourcePolicyStore {
  const cache = new Map<string, { document: string | undefined; at: number }>()
  return {
    async get(service, resource) {
      const key = `${service}\u0000${resource}`
      const hit = cache.get(key)
      if (hit !== undefined && clock() - hit.at < CACHE_TTL_MS) return hit.document
      const row = await db.get<{ document: string }>(
        'SELECT document FROM gateway_resource_policies WHERE service = ? AND resource = ?',
        [service, resource],
      )
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(key, { document: row?.document, at: clock() })
      return row?.document
    },
    async put(service, resource, document, now) {
      await db.run(
        `INSERT INTO gateway_resource_policies (service, resource, document, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (service, resource) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
        [service, resource, document, now.getTime()],
      )
      cache.delete(`${service}\u0000${resource}`)
    },
    async delete(service, resource) {
      const r = await db.run(
        'DELETE FROM gateway_resource_policies WHERE service = ? AND resource = ?',
        [service, resource],
      )
      cache.delete(`${service}\u0000${resource}`)
      return r.changes > 0
    },
  }
}
