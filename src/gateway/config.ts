/**
 * @module gateway/config
 * The `gateway` section of podtrust's YAML config: where the data plane listens and forwards, and the bucket
 * and queue policies podtrust keeps. Backend secrets never live in the config (or the store): they come from
 * `--backend-secret-access-key` or the environment (`PODTRUST_BACKEND_SECRET_ACCESS_KEY`).
 *
 * @example
 * gateway:
 *   port: 4567
 *   backends:
 *     s3: https://s3.eu-west-1.amazonaws.com
 *     sqs: https://sqs.eu-west-1.amazonaws.com
 *     region: eu-west-1
 *     accountId: '123456789012'
 *   bucketPolicies:
 *     reports: { Version: '2012-10-17', Statement: [ … ] }
 *   queuePolicies:
 *     jobs: { Version: '2012-10-17', Statement: [ … ] }
 */
import type { ConfigEnv, ConfigSection } from '../config/section.ts'
import { invalidAt } from '../config/errors.ts'
import type { Queryable } from '../store/db.ts'
import { compilePolicy } from '../policy/index.ts'

export interface GatewayConfig {
  port?: number
  backends?: {
    s3?: string
    sqs?: string
    region?: string
    accountId?: string
    accessKeyId?: string
  }
  bucketPolicies?: Record<string, string>
  queuePolicies?: Record<string, string>
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function url(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(value))
    throw invalidAt(path, 'must be an http(s) base URL without query')
  return value.replace(/\/+$/, '')
}

function policies(value: unknown, path: string, name: RegExp): Record<string, string> {
  if (!isRecord(value)) throw invalidAt(path, 'must map names to policy documents')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (!name.test(k)) throw invalidAt(`${path}.${k}`, 'is not a valid name')
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    try {
      compilePolicy(text, { type: 'resource' })
    } catch (err) {
      throw invalidAt(`${path}.${k}`, err instanceof Error ? err.message : 'invalid policy')
    }
    out[k] = text
  }
  return out
}

export function queueArnOf(name: string, env: Pick<ConfigEnv, 'region' | 'accountId'>): string {
  return name.startsWith('arn:') ? name : `arn:aws:sqs:${env.region}:${env.accountId}:${name}`
}

export const gatewayConfigSection: ConfigSection<GatewayConfig> = {
  key: 'gateway',
  parse(value, path) {
    if (!isRecord(value)) throw invalidAt(path, 'must be a mapping')
    const out: GatewayConfig = {}
    for (const key of Object.keys(value))
      if (!['port', 'backends', 'bucketPolicies', 'queuePolicies'].includes(key))
        throw invalidAt(`${path}.${key}`, 'is not a gateway setting', 'see docs/gateway.md')
    if (value['port'] !== undefined) {
      const p = value['port']
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535)
        throw invalidAt(`${path}.port`, 'must be a port number')
      out.port = p
    }
    if (value['backends'] !== undefined) {
      const b = value['backends']
      if (!isRecord(b)) throw invalidAt(`${path}.backends`, 'must be a mapping')
      out.backends = {}
      if (b['s3'] !== undefined) out.backends.s3 = url(b['s3'], `${path}.backends.s3`)
      if (b['sqs'] !== undefined) out.backends.sqs = url(b['sqs'], `${path}.backends.sqs`)
      if (b['region'] !== undefined) {
        if (typeof b['region'] !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(b['region']))
          throw invalidAt(`${path}.backends.region`, 'must be a region name')
        out.backends.region = b['region']
      }
      if (b['accountId'] !== undefined) {
        if (typeof b['accountId'] !== 'string' || !/^\d{12}$/.test(b['accountId']))
          throw invalidAt(`${path}.backends.accountId`, 'must be 12 digits (quote it)')
        out.backends.accountId = b['accountId']
      }
      if (b['accessKeyId'] !== undefined) {
        if (typeof b['accessKeyId'] !== 'string')
          throw invalidAt(`${path}.backends.accessKeyId`, 'must be a string')
        out.backends.accessKeyId = b['accessKeyId']
      }
      if (b['secretAccessKey'] !== undefined)
        throw invalidAt(
          `${path}.backends.secretAccessKey`,
          'backend secrets are not kept in the config',
          'set PODTRUST_BACKEND_SECRET_ACCESS_KEY or pass --backend-secret-access-key',
        )
    }
    if (value['bucketPolicies'] !== undefined)
      out.bucketPolicies = policies(
        value['bucketPolicies'],
        `${path}.bucketPolicies`,
        /^[a-z0-9][a-z0-9.\-_]{1,254}$/,
      )
    if (value['queuePolicies'] !== undefined)
      out.queuePolicies = policies(
        value['queuePolicies'],
        `${path}.queuePolicies`,
        /^([A-Za-z0-9_-]{1,80}(\.fifo)?|arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?)$/,
      )
    return out
  },
  async apply(tx, value, env) {
    const put = (name: string, v: string) =>
      tx.run(
        'INSERT INTO gateway_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        [name, v],
      )
    if (value.port !== undefined) await put('port', String(value.port))
    for (const [k, v] of Object.entries(value.backends ?? {}))
      if (v !== undefined) await put(`backend.${k}`, v)
    const now = env.now.getTime()
    const upsert = (service: string, resource: string, document: string) =>
      tx.run(
        `INSERT INTO gateway_resource_policies (service, resource, document, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (service, resource) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
        [service, resource, document, now],
      )
    for (const [bucket, doc] of Object.entries(value.bucketPolicies ?? {}))
      await upsert('s3', bucket, doc)
    for (const [queue, doc] of Object.entries(value.queuePolicies ?? {}))
      await upsert('sqs', queueArnOf(queue, env), doc)
  },
  async export(db) {
    const settings = await loadGatewaySettings(db)
    const rows = await db.all<{ service: string; resource: string; document: string }>(
      'SELECT service, resource, document FROM gateway_resource_policies ORDER BY service, resource',
    )
    const out: GatewayConfig = { ...settings }
    for (const r of rows) {
      const target = r.service === 's3' ? (out.bucketPolicies ??= {}) : (out.queuePolicies ??= {})
      target[r.resource] = r.document
    }
    return Object.keys(out).length === 0 ? undefined : out
  },
}

/** The listener and backend settings applied from config files (flags override them). */
export async function loadGatewaySettings(
  db: Queryable,
): Promise<Pick<GatewayConfig, 'port' | 'backends'>> {
  const rows = await db.all<{ name: string; value: string }>(
    'SELECT name, value FROM gateway_settings',
  )
  const out: Pick<GatewayConfig, 'port' | 'backends'> = {}
  for (const { name, value } of rows) {
    if (name === 'port') out.port = Number(value)
    else if (name.startsWith('backend.')) {
      const key = name.slice('backend.'.length) as keyof NonNullable<GatewayConfig['backends']>
      ;(out.backends ??= {})[key] = value
    }
  }
  return out
}
