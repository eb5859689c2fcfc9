/**
 * @module gcp/config
 * The `gcp` section of podtrust's YAML config: projects, their workload identity pools and OIDC providers,
 * service accounts and each service account's IAM bindings. Declared projects, pools and service accounts
 * are upserted; a pool's provider list and a service account's bindings are replaced as a whole.
 *
 * @example
 * gcp:
 *   projects:
 *     - projectId: demo-project
 *       projectNumber: '123456789012'
 *       pools:
 *         - poolId: kube
 *           providers:
 *             - providerId: local
 *               oidc: { issuerUri: 'https://127.0.0.1:7443' }
 *               attributeMapping: { google.subject: assertion.sub }
 *       serviceAccounts:
 *         - accountId: app
 *           bindings:
 *             - role: roles/iam.workloadIdentityUser
 *               members: ['principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/kube/*']
 */
import { createHash } from 'node:crypto'
import type { ConfigEnv, ConfigSection } from '../config/section.ts'
import type { Queryable } from '../store/db.ts'
import { CelError } from './cel/index.ts'
import { invalidAt } from '../config/errors.ts'
import { boolean, object, optional, optionalList, scalarString, string } from '../config/schema.ts'
import { compileProvider, isValidMember } from './federation.ts'
import {
  getBindings,
  getServiceAccount,
  listPools,
  listProjects,
  listProviders,
  listServiceAccounts,
  putPool,
  putProject,
  putServiceAccount,
  replaceBindings,
  replaceProviders,
  type Binding,
  type PoolRecord,
  type ProviderRecord,
  type ServiceAccountRecord,
} from './repo.ts'

export interface GcpProviderConfig {
  providerId: string
  displayName?: string
  description?: string
  disabled?: boolean
  oidc: { issuerUri: string; allowedAudiences?: string[]; jwksJson?: string }
  attributeMapping: Record<string, string>
  attributeCondition?: string
}

export interface GcpPoolConfig {
  poolId: string
  displayName?: string
  description?: string
  disabled?: boolean
  /** `"3600s"`: 2 minutes to 12 hours. */
  sessionDuration?: string
  providers: GcpProviderConfig[]
}

export interface GcpServiceAccountConfig {
  email: string
  uniqueId: string
  displayName?: string
  disabled?: boolean
  bindings: Binding[]
}

export interface GcpProjectConfig {
  projectId: string
  projectNumber: string
  pools: GcpPoolConfig[]
  serviceAccounts: GcpServiceAccountConfig[]
}

export interface GcpConfig {
  projects: GcpProjectConfig[]
}

export const WORKLOAD_IDENTITY_USER = 'roles/iam.workloadIdentityUser'
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
const PROJECT_NUMBER = /^[1-9][0-9]{0,18}$/
const POOL_OR_PROVIDER_ID = /^[a-z0-9-]{4,32}$/
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/
const JWK_FIELDS = ['kty', 'alg', 'use', 'kid', 'n', 'e', 'x', 'y', 'crv']

/** A stable 21-digit unique id for a service account, so export and re-apply agree. */
export function deriveUniqueId(email: string): string {
  const h = createHash('sha256').update(`podtrust-gcp-sa:${email}`).digest()
  return `1${(h.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`
}

function fail(path: string, message: string): never {
  throw invalidAt(path, message, 'see docs/config.md, section "gcp"')
}

/** A non-empty string. */
function text(value: unknown, path: string): string {
  return string(value, path, { min: 1 })
}

function optionalText(value: unknown, path: string): string | undefined {
  return optional(value, (v) => text(v, path))
}

function optionalBool(value: unknown, path: string): boolean | undefined {
  return optional(value, (v) => boolean(v, path))
}

/** `"3600s"` or `3600` → seconds within Google's 2 min–12 h range. */
export function parseDuration(value: unknown, path: string): number {
  const text = typeof value === 'number' ? `${value}s` : typeof value === 'string' ? value : ''
  const m = /^(\d+)s$/.exec(text)
  if (m === null) fail(path, "must be a duration in seconds such as '3600s'")
  const seconds = Number(m[1])
  if (seconds < 120 || seconds > 43_200) fail(path, 'must be between 120s and 43200s')
  return seconds
}

function parseJwksJson(value: unknown, path: string): string {
  let parsed: unknown = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      fail(path, 'is not valid JSON')
    }
  }
  const o = object(parsed, path, { optional: ['keys'] })
  const keys = optionalList(o.keys, `${path}.keys`)
  if (keys.length === 0) fail(`${path}.keys`, 'must hold at least one key')
  keys.forEach((k, i) => {
    const kp = `${path}.keys[${i}]`
    // Google accepts only these JWK fields in jwksJson (x5c / x5t must be removed).
    const key = object(k, kp, { optional: JWK_FIELDS })
    if (key.kty !== 'RSA' && key.kty !== 'EC') fail(`${kp}.kty`, "must be 'RSA' or 'EC'")
  })
  return JSON.stringify(parsed)
}

function parseProvider(value: unknown, path: string): GcpProviderConfig {
  const o = object(value, path, {
    required: ['providerId', 'oidc'],
    optional: ['displayName', 'description', 'disabled', 'attributeMapping', 'attributeCondition'],
  })
  const providerId = text(o.providerId, `${path}.providerId`)
  if (!POOL_OR_PROVIDER_ID.test(providerId))
    fail(`${path}.providerId`, 'must be 4-32 characters of [a-z0-9-]')
  const oidc = object(o.oidc, `${path}.oidc`, {
    required: ['issuerUri'],
    optional: ['allowedAudiences', 'jwksJson'],
  })
  const issuerUri = text(oidc.issuerUri, `${path}.oidc.issuerUri`)
  if (
    !/^https:\/\/[^\s]+$/.test(issuerUri) &&
    !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/\S*)?$/.test(issuerUri)
  ) {
    fail(`${path}.oidc.issuerUri`, 'must be an https URL (http only on loopback)')
  }
  const allowedAudiences = optionalList(oidc.allowedAudiences, `${path}.oidc.allowedAudiences`).map(
    (a, i) => {
      const audience = text(a, `${path}.oidc.allowedAudiences[${i}]`)
      if (audience.length > 256)
        fail(`${path}.oidc.allowedAudiences[${i}]`, 'is longer than 256 characters')
      return audience
    },
  )
  if (allowedAudiences.length > 10)
    fail(`${path}.oidc.allowedAudiences`, 'holds at most 10 audiences')
  const rawMapping = optional(o.attributeMapping, (v) => {
    // Keys are CEL targets (`google.subject`, `attribute.ns`): each is checked by compileProvider.
    const m = object(v, `${path}.attributeMapping`, { optional: Object.keys(v as object) })
    return m
  }) ?? { 'google.subject': 'assertion.sub' }
  const attributeMapping: Record<string, string> = {}
  for (const [k, v] of Object.entries(rawMapping))
    attributeMapping[k] = text(v, `${path}.attributeMapping['${k}']`)
  const attributeCondition = optionalText(o.attributeCondition, `${path}.attributeCondition`)
  try {
    compileProvider(attributeMapping, attributeCondition)
  } catch (err) {
    if (err instanceof CelError) fail(path, err.message)
    throw err
  }
  const provider: GcpProviderConfig = {
    providerId,
    oidc: {
      issuerUri,
      ...(allowedAudiences.length === 0 ? {} : { allowedAudiences }),
      ...(oidc.jwksJson === undefined
        ? {}
        : { jwksJson: parseJwksJson(oidc.jwksJson, `${path}.oidc.jwksJson`) }),
    },
    attributeMapping,
  }
  const displayName = optionalText(o.displayName, `${path}.displayName`)
  if (displayName !== undefined) provider.displayName = displayName
  const description = optionalText(o.description, `${path}.description`)
  if (description !== undefined) provider.description = description
  const disabled = optionalBool(o.disabled, `${path}.disabled`)
  if (disabled !== undefined) provider.disabled = disabled
  if (attributeCondition !== undefined) provider.attributeCondition = attributeCondition
  return provider
}

function parsePool(value: unknown, path: string): GcpPoolConfig {
  const o = object(value, path, {
    required: ['poolId'],
    optional: ['displayName', 'description', 'disabled', 'sessionDuration', 'providers'],
  })
  const poolId = text(o.poolId, `${path}.poolId`)
  if (!POOL_OR_PROVIDER_ID.test(poolId) || poolId.startsWith('gcp-')) {
    fail(`${path}.poolId`, "must be 4-32 characters of [a-z0-9-], not starting with 'gcp-'")
  }
  const ids = new Set<string>()
  const providers = optionalList(o.providers, `${path}.providers`).map((p, i) => {
    const provider = parseProvider(p, `${path}.providers[${i}]`)
    if (ids.has(provider.providerId))
      fail(`${path}.providers[${i}].providerId`, `duplicates '${provider.providerId}'`)
    ids.add(provider.providerId)
    return provider
  })
  const pool: GcpPoolConfig = { poolId, providers }
  const displayName = optionalText(o.displayName, `${path}.displayName`)
  if (displayName !== undefined) {
    if (displayName.length > 32) fail(`${path}.displayName`, 'is longer than 32 characters')
    pool.displayName = displayName
  }
  const description = optionalText(o.description, `${path}.description`)
  if (description !== undefined) pool.description = description
  const disabled = optionalBool(o.disabled, `${path}.disabled`)
  if (disabled !== undefined) pool.disabled = disabled
  if (o.sessionDuration !== undefined) {
    pool.sessionDuration = `${parseDuration(o.sessionDuration, `${path}.sessionDuration`)}s`
  }
  return pool
}

function parseServiceAccount(
  value: unknown,
  path: string,
  projectId: string,
): GcpServiceAccountConfig {
  const o = object(value, path, {
    optional: ['email', 'accountId', 'uniqueId', 'displayName', 'disabled', 'bindings'],
  })
  let email: string
  if (o.email !== undefined) {
    email = text(o.email, `${path}.email`).toLowerCase()
    const m = /^([^@]*)@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com$/.exec(email)
    if (m === null || m[2] !== projectId) {
      fail(`${path}.email`, `must be NAME@${projectId}.iam.gserviceaccount.com`)
    }
    // The account part is the account id: the same 6-30 character rule applies.
    const name = m[1] ?? ''
    if (!ACCOUNT_ID.test(name)) {
      fail(
        `${path}.email`,
        `account '${name}' must be 6-30 characters of [a-z0-9-], starting with a letter`,
      )
    }
    if (o.accountId !== undefined && text(o.accountId, `${path}.accountId`) !== name) {
      fail(`${path}.accountId`, `'${String(o.accountId)}' disagrees with email '${email}'`)
    }
  } else {
    const accountId = text(o.accountId, `${path}.accountId`)
    if (!ACCOUNT_ID.test(accountId))
      fail(`${path}.accountId`, 'must be 6-30 characters of [a-z0-9-], starting with a letter')
    email = `${accountId}@${projectId}.iam.gserviceaccount.com`
  }
  const uniqueId =
    optional(o.uniqueId, (v) => scalarString(v, `${path}.uniqueId`, { min: 1 })) ??
    deriveUniqueId(email)
  if (!/^\d{1,30}$/.test(uniqueId)) fail(`${path}.uniqueId`, 'must be numeric')
  const bindings = optionalList(o.bindings, `${path}.bindings`).map((b, i) => {
    const bp = `${path}.bindings[${i}]`
    const bo = object(b, bp, { required: ['role'], optional: ['members'] })
    const role = text(bo.role, `${bp}.role`)
    if (
      !/^(roles|projects\/[^/]+\/roles|organizations\/[^/]+\/roles)\/[A-Za-z0-9_.]+$/.test(role)
    ) {
      fail(`${bp}.role`, "must be a role name such as 'roles/iam.workloadIdentityUser'")
    }
    const members = optionalList(bo.members, `${bp}.members`).map((m, mi) => {
      const member = text(m, `${bp}.members[${mi}]`)
      if (!isValidMember(member))
        fail(`${bp}.members[${mi}]`, `'${member}' is not a valid IAM member`)
      return member
    })
    if (members.length === 0) fail(`${bp}.members`, 'must hold at least one member')
    return { role, members }
  })
  const sa: GcpServiceAccountConfig = { email, uniqueId, bindings }
  const displayName = optionalText(o.displayName, `${path}.displayName`)
  if (displayName !== undefined) sa.displayName = displayName
  const disabled = optionalBool(o.disabled, `${path}.disabled`)
  if (disabled !== undefined) sa.disabled = disabled
  return sa
}

export function parseGcpConfig(value: unknown, path: string): GcpConfig {
  const root = object(value, path, { optional: ['projects'] })
  const seenIds = new Set<string>()
  const seenNumbers = new Set<string>()
  const projects = optionalList(root.projects, `${path}.projects`).map((p, i) => {
    const pp = `${path}.projects[${i}]`
    const o = object(p, pp, {
      required: ['projectId', 'projectNumber'],
      optional: ['pools', 'serviceAccounts'],
    })
    const projectId = text(o.projectId, `${pp}.projectId`)
    if (!PROJECT_ID.test(projectId))
      fail(`${pp}.projectId`, 'must be 6-30 characters of [a-z0-9-], starting with a letter')
    const projectNumber = scalarString(o.projectNumber, `${pp}.projectNumber`, { min: 1 })
    if (!PROJECT_NUMBER.test(projectNumber))
      fail(`${pp}.projectNumber`, 'must be a positive number')
    if (seenIds.has(projectId)) fail(`${pp}.projectId`, `duplicates '${projectId}'`)
    if (seenNumbers.has(projectNumber)) fail(`${pp}.projectNumber`, `duplicates '${projectNumber}'`)
    seenIds.add(projectId)
    seenNumbers.add(projectNumber)
    const poolIds = new Set<string>()
    const pools = optionalList(o.pools, `${pp}.pools`).map((pool, pi) => {
      const parsed = parsePool(pool, `${pp}.pools[${pi}]`)
      if (poolIds.has(parsed.poolId))
        fail(`${pp}.pools[${pi}].poolId`, `duplicates '${parsed.poolId}'`)
      poolIds.add(parsed.poolId)
      return parsed
    })
    const emails = new Set<string>()
    const serviceAccounts = optionalList(o.serviceAccounts, `${pp}.serviceAccounts`).map(
      (s, si) => {
        const parsed = parseServiceAccount(s, `${pp}.serviceAccounts[${si}]`, projectId)
        if (emails.has(parsed.email))
          fail(`${pp}.serviceAccounts[${si}]`, `duplicates '${parsed.email}'`)
        emails.add(parsed.email)
        return parsed
      },
    )
    return { projectId, projectNumber, pools, serviceAccounts }
  })
  return { projects }
}

export async function applyGcpConfig(
  tx: Queryable,
  config: GcpConfig,
  env: ConfigEnv,
): Promise<void> {
  for (const [pi, project] of config.projects.entries()) {
    await putProject(
      tx,
      { projectId: project.projectId, projectNumber: project.projectNumber },
      env.now,
    )
    for (const pool of project.pools) {
      const record: PoolRecord = {
        projectNumber: project.projectNumber,
        poolId: pool.poolId,
        displayName: pool.displayName,
        description: pool.description,
        disabled: pool.disabled ?? false,
        sessionDurationSeconds:
          pool.sessionDuration === undefined
            ? undefined
            : parseDuration(pool.sessionDuration, 'sessionDuration'),
      }
      await putPool(tx, record, env.now)
      const providers: ProviderRecord[] = pool.providers.map((p) => ({
        projectNumber: project.projectNumber,
        poolId: pool.poolId,
        providerId: p.providerId,
        displayName: p.displayName,
        description: p.description,
        disabled: p.disabled ?? false,
        issuerUri: p.oidc.issuerUri,
        allowedAudiences: p.oidc.allowedAudiences ?? [],
        jwksJson: p.oidc.jwksJson,
        attributeMapping: p.attributeMapping,
        attributeCondition: p.attributeCondition,
      }))
      await replaceProviders(tx, project.projectNumber, pool.poolId, providers, env.now)
    }
    for (const [si, sa] of project.serviceAccounts.entries()) {
      await checkUniqueId(tx, sa, `${gcpConfigSection.key}.projects[${pi}].serviceAccounts[${si}]`)
      const record: ServiceAccountRecord = {
        email: sa.email,
        projectId: project.projectId,
        uniqueId: sa.uniqueId,
        displayName: sa.displayName,
        disabled: sa.disabled ?? false,
      }
      await putServiceAccount(tx, record, env.now)
      await replaceBindings(tx, sa.email, sa.bindings)
    }
  }
}

/**
 * A service account's uniqueId is its identity (the `sub` and `azp` of its tokens): it never changes, and
 * no two accounts share one.
 */
async function checkUniqueId(
  tx: Queryable,
  sa: GcpServiceAccountConfig,
  path: string,
): Promise<void> {
  const existing = await getServiceAccount(tx, sa.email)
  if (existing !== undefined && existing.uniqueId !== sa.uniqueId) {
    throw invalidAt(
      `${path}.uniqueId`,
      `service account '${sa.email}' exists with uniqueId ${existing.uniqueId}; a uniqueId cannot change`,
      `write uniqueId: '${existing.uniqueId}' (podtrust export writes it)`,
    )
  }
  const holder = existing === undefined ? await getServiceAccount(tx, sa.uniqueId) : undefined
  if (holder !== undefined) {
    throw invalidAt(
      `${path}.uniqueId`,
      `${sa.uniqueId} is already the uniqueId of service account '${holder.email}'`,
    )
  }
}

export async function exportGcpConfig(db: Queryable): Promise<GcpConfig | undefined> {
  const projects: GcpProjectConfig[] = []
  for (const project of await listProjects(db)) {
    const pools: GcpPoolConfig[] = []
    for (const pool of await listPools(db, project.projectNumber)) {
      const providers = (await listProviders(db, project.projectNumber, pool.poolId)).map((p) => {
        const out: GcpProviderConfig = {
          providerId: p.providerId,
          oidc: {
            issuerUri: p.issuerUri,
            ...(p.allowedAudiences.length === 0 ? {} : { allowedAudiences: p.allowedAudiences }),
            ...(p.jwksJson === undefined ? {} : { jwksJson: p.jwksJson }),
          },
          attributeMapping: p.attributeMapping,
        }
        if (p.displayName !== undefined) out.displayName = p.displayName
        if (p.description !== undefined) out.description = p.description
        if (p.disabled) out.disabled = true
        if (p.attributeCondition !== undefined) out.attributeCondition = p.attributeCondition
        return out
      })
      const out: GcpPoolConfig = { poolId: pool.poolId, providers }
      if (pool.displayName !== undefined) out.displayName = pool.displayName
      if (pool.description !== undefined) out.description = pool.description
      if (pool.disabled) out.disabled = true
      if (pool.sessionDurationSeconds !== undefined)
        out.sessionDuration = `${pool.sessionDurationSeconds}s`
      pools.push(out)
    }
    const serviceAccounts: GcpServiceAccountConfig[] = []
    for (const sa of await listServiceAccounts(db, project.projectId)) {
      const out: GcpServiceAccountConfig = {
        email: sa.email,
        uniqueId: sa.uniqueId,
        bindings: await getBindings(db, sa.email),
      }
      if (sa.displayName !== undefined) out.displayName = sa.displayName
      if (sa.disabled) out.disabled = true
      serviceAccounts.push(out)
    }
    projects.push({
      projectId: project.projectId,
      projectNumber: project.projectNumber,
      pools,
      serviceAccounts,
    })
  }
  return projects.length === 0 ? undefined : { projects }
}

export const gcpConfigSection: ConfigSection<GcpConfig> = {
  key: 'gcp',
  parse: parseGcpConfig,
  apply: applyGcpConfig,
  export: exportGcpConfig,
}
