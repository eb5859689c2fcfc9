/**
 * @module dbproxy/config
 * The `databases` section of podtrust's YAML config: the instances the IAM-auth database proxy serves.
 * Applying upserts by identifier; an instance without `dbiResourceId` keeps its stored id or gets a new one.
 *
 * @example
 * databases:
 *   - identifier: orders
 *     dbiResourceId: db-ABCDEFGHIJKLMNOPQRSTUVWXYZ   # optional
 *     endpoint: orders.db.example.internal:5432      # what clients dial and sign tokens for
 *     backend: postgres://orders_app@10.0.0.5:5432/orders?sslmode=verify-full
 *     iamUsers: [orders_app]                         # optional: who may use IAM auth (default all)
 *     backendPasswords:                              # optional: per user, or '*'
 *       orders_app: { file: /var/run/secrets/orders-db/password }
 */
import type { ConfigSection } from '../config/section.ts'
import { invalidAt } from '../config/errors.ts'
import { DbProxyError } from './errors.ts'
import { type DbInstance, newResourceId, parseBackendUrl, validateInstance } from './instances.ts'
import { createDbInstanceRepo } from './repo.ts'

export interface DatabaseConfig {
  identifier: string
  dbiResourceId?: string
  endpoint: string
  backend: string
  iamUsers?: string[]
  backendPasswords?: Record<string, { file?: string; env?: string }>
  region?: string
  accountId?: string
}

const KEYS = [
  'identifier',
  'dbiResourceId',
  'DbiResourceId',
  'endpoint',
  'backend',
  'iamUsers',
  'backendPasswords',
  'region',
  'accountId',
]

function configError(path: string, message: string) {
  return invalidAt(path, message, 'see docs/databases.md (databases)')
}

function text(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' && typeof v !== 'number')
    throw configError(`${path}.${key}`, 'must be a string')
  return String(v)
}

function toInstance(c: DatabaseConfig, resourceId: string): DbInstance {
  return {
    name: c.identifier,
    resourceId,
    engine: parseBackendUrl(c.backend).engine,
    endpoint: c.endpoint,
    backend: c.backend,
    ...(c.iamUsers === undefined ? {} : { iamUsers: c.iamUsers }),
    ...(c.backendPasswords === undefined ? {} : { backendPasswords: c.backendPasswords }),
    ...(c.region === undefined ? {} : { region: c.region }),
    ...(c.accountId === undefined ? {} : { accountId: c.accountId }),
  }
}

export const databasesSection: ConfigSection<DatabaseConfig[]> = {
  key: 'databases',
  parse(value, path) {
    if (!Array.isArray(value)) throw configError(path, 'must be a list')
    return value.map((item, i) => {
      const p = `${path}[${i}]`
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw configError(p, 'must be a mapping')
      const o = item as Record<string, unknown>
      for (const k of Object.keys(o))
        if (!KEYS.includes(k)) throw configError(`${p}.${k}`, 'unknown key')
      const identifier = text(o, 'identifier', p)
      const endpoint = text(o, 'endpoint', p)
      const backend = text(o, 'backend', p)
      if (identifier === undefined) throw configError(`${p}.identifier`, 'is required')
      if (endpoint === undefined) throw configError(`${p}.endpoint`, 'is required')
      if (backend === undefined) throw configError(`${p}.backend`, 'is required')
      const out: DatabaseConfig = { identifier, endpoint, backend }
      const rid = text(o, 'dbiResourceId', p) ?? text(o, 'DbiResourceId', p)
      if (rid !== undefined) out.dbiResourceId = rid
      if (o['iamUsers'] !== undefined) {
        if (!Array.isArray(o['iamUsers']) || o['iamUsers'].some((u) => typeof u !== 'string'))
          throw configError(`${p}.iamUsers`, 'must be a list of user names')
        out.iamUsers = o['iamUsers'] as string[]
      }
      if (o['backendPasswords'] !== undefined) {
        const bp = o['backendPasswords']
        if (typeof bp !== 'object' || bp === null || Array.isArray(bp))
          throw configError(`${p}.backendPasswords`, 'must be a mapping of user → {file | env}')
        out.backendPasswords = {}
        for (const [user, src] of Object.entries(bp as Record<string, unknown>)) {
          if (typeof src !== 'object' || src === null)
            throw configError(`${p}.backendPasswords.${user}`, 'must be {file} or {env}')
          const s = src as Record<string, unknown>
          out.backendPasswords[user] = {
            ...(typeof s['file'] === 'string' ? { file: s['file'] } : {}),
            ...(typeof s['env'] === 'string' ? { env: s['env'] } : {}),
          }
        }
      }
      const region = text(o, 'region', p)
      if (region !== undefined) out.region = region
      const accountId = text(o, 'accountId', p)
      if (accountId !== undefined) out.accountId = accountId
      try {
        validateInstance(toInstance(out, rid ?? 'db-AAAAAAAAAAAAAAAAAAAAAAAAAA'))
      } catch (err) {
        if (err instanceof DbProxyError) throw configError(p, err.message)
        throw err
      }
      return out
    })
  },
  async apply(tx, value, env) {
    const repo = createDbInstanceRepo(tx)
    for (const c of value) {
      const existing = await repo.get(c.identifier)
      const rid = c.dbiResourceId ?? existing?.resourceId ?? newResourceId()
      await repo.put(validateInstance(toInstance(c, rid)), env.now)
    }
  },
  async export(db) {
    const rows = await createDbInstanceRepo(db).list()
    if (rows.length === 0) return undefined
    return rows.map((r) => ({
      identifier: r.name,
      dbiResourceId: r.resourceId,
      endpoint: r.endpoint,
      backend: r.backend,
      ...(r.iamUsers === undefined ? {} : { iamUsers: r.iamUsers }),
      ...(r.backendPasswords === undefined ? {} : { backendPasswords: r.backendPasswords }),
      ...(r.region === undefined ? {} : { region: r.region }),
      ...(r.accountId === undefined ? {} : { accountId: r.accountId }),
    }))
  },
}
