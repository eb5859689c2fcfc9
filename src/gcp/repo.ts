/**
 * @module gcp/repo
 * Storage of projects, workload identity pools and providers, service accounts and their IAM bindings.
 */
import type { JSONWebKeySet } from 'jose'
import type { Queryable } from '../store/db.ts'
import { GcpStoreError } from './errors.ts'

export interface ProjectRecord {
  projectId: string
  projectNumber: string
}

export interface PoolRecord {
  projectNumber: string
  poolId: string
  displayName: string | undefined
  description: string | undefined
  disabled: boolean
  /** Seconds; undefined = the remaining OIDC token lifetime, capped at one hour. */
  sessionDurationSeconds: number | undefined
}

export interface ProviderRecord {
  projectNumber: string
  poolId: string
  providerId: string
  displayName: string | undefined
  description: string | undefined
  disabled: boolean
  issuerUri: string
  allowedAudiences: string[]
  jwksJson: string | undefined
  attributeMapping: Record<string, string>
  attributeCondition: string | undefined
}

export interface ServiceAccountRecord {
  email: string
  projectId: string
  uniqueId: string
  displayName: string | undefined
  disabled: boolean
}

export interface Binding {
  role: string
  members: string[]
}

const opt = (v: string | null): string | undefined => (v === null ? undefined : v)

export async function putProject(db: Queryable, p: ProjectRecord, now: Date): Promise<void> {
  await db.run(
    `INSERT INTO gcp_projects (project_id, project_number, created_at) VALUES (?, ?, ?)
     ON CONFLICT (project_id) DO UPDATE SET project_number = excluded.project_number`,
    [p.projectId, p.projectNumber, now.getTime()],
  )
}

export async function listProjects(db: Queryable): Promise<ProjectRecord[]> {
  const rows = await db.all<{ project_id: string; project_number: string }>(
    'SELECT project_id, project_number FROM gcp_projects ORDER BY project_id',
  )
  return rows.map((r) => ({ projectId: r.project_id, projectNumber: String(r.project_number) }))
}

/** By project id or number (Google accepts either in most resource names). */
export async function getProject(
  db: Queryable,
  idOrNumber: string,
): Promise<ProjectRecord | undefined> {
  const r = await db.get<{ project_id: string; project_number: string }>(
    'SELECT project_id, project_number FROM gcp_projects WHERE project_id = ? OR project_number = ?',
    [idOrNumber, idOrNumber],
  )
  return r === undefined
    ? undefined
    : { projectId: r.project_id, projectNumber: String(r.project_number) }
}

interface PoolRow {
  project_number: string
  pool_id: string
  display_name: string | null
  description: string | null
  disabled: number
  session_duration_seconds: number | null
}

function pool(r: PoolRow): PoolRecord {
  return {
    projectNumber: String(r.project_number),
    poolId: r.pool_id,
    displayName: opt(r.display_name),
    description: opt(r.description),
    disabled: Number(r.disabled) === 1,
    sessionDurationSeconds:
      r.session_duration_seconds === null ? undefined : Number(r.session_duration_seconds),
  }
}

export async function putPool(db: Queryable, p: PoolRecord, now: Date): Promise<void> {
  await db.run(
    `INSERT INTO gcp_pools (project_number, pool_id, display_name, description, disabled,
       session_duration_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (project_number, pool_id) DO UPDATE SET display_name = excluded.display_name,
       description = excluded.description, disabled = excluded.disabled,
       session_duration_seconds = excluded.session_duration_seconds`,
    [
      p.projectNumber,
      p.poolId,
      p.displayName ?? null,
      p.description ?? null,
      p.disabled ? 1 : 0,
      p.sessionDurationSeconds ?? null,
      now.getTime(),
    ],
  )
}

export async function getPool(
  db: Queryable,
  projectNumber: string,
  poolId: string,
): Promise<PoolRecord | undefined> {
  const r = await db.get<PoolRow>(
    'SELECT * FROM gcp_pools WHERE project_number = ? AND pool_id = ?',
    [projectNumber, poolId],
  )
  return r === undefined ? undefined : pool(r)
}

export async function listPools(db: Queryable, projectNumber: string): Promise<PoolRecord[]> {
  const rows = await db.all<PoolRow>(
    'SELECT * FROM gcp_pools WHERE project_number = ? ORDER BY pool_id',
    [projectNumber],
  )
  return rows.map(pool)
}

interface ProviderRow {
  project_number: string
  pool_id: string
  provider_id: string
  display_name: string | null
  description: string | null
  disabled: number
  issuer_uri: string
  allowed_audiences: string
  jwks_json: string | null
  attribute_mapping: string
  attribute_condition: string | null
}

function provider(r: ProviderRow): ProviderRecord {
  return {
    projectNumber: String(r.project_number),
    poolId: r.pool_id,
    providerId: r.provider_id,
    displayName: opt(r.display_name),
    description: opt(r.description),
    disabled: Number(r.disabled) === 1,
    issuerUri: r.issuer_uri,
    allowedAudiences: JSON.parse(r.allowed_audiences) as string[],
    jwksJson: opt(r.jwks_json),
    attributeMapping: JSON.parse(r.attribute_mapping) as Record<string, string>,
    attributeCondition: opt(r.attribute_condition),
  }
}

export async function getProvider(
  db: Queryable,
  projectNumber: string,
  poolId: string,
  providerId: string,
): Promise<ProviderRecord | undefined> {
  const r = await db.get<ProviderRow>(
    'SELECT * FROM gcp_providers WHERE project_number = ? AND pool_id = ? AND provider_id = ?',
    [projectNumber, poolId, providerId],
  )
  return r === undefined ? undefined : provider(r)
}

export async function listProviders(
  db: Queryable,
  projectNumber: string,
  poolId: string,
): Promise<ProviderRecord[]> {
  const rows = await db.all<ProviderRow>(
    'SELECT * FROM gcp_providers WHERE project_number = ? AND pool_id = ? ORDER BY provider_id',
    [projectNumber, poolId],
  )
  return rows.map(provider)
}

/** Replaces a pool's provider set (the config file declares the whole set). */
export async function replaceProviders(
  db: Queryable,
  projectNumber: string,
  poolId: string,
  providers: readonly ProviderRecord[],
  now: Date,
): Promise<void> {
  await db.run('DELETE FROM gcp_providers WHERE project_number = ? AND pool_id = ?', [
    projectNumber,
    poolId,
  ])
  for (const p of providers) {
    await db.run(
      `INSERT INTO gcp_providers (project_number, pool_id, provider_id, display_name, description, disabled,
         issuer_uri, allowed_audiences, jwks_json, attribute_mapping, attribute_condition, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        projectNumber,
        poolId,
        p.providerId,
        p.displayName ?? null,
        p.description ?? null,
        p.disabled ? 1 : 0,
        p.issuerUri,
        JSON.stringify(p.allowedAudiences),
        p.jwksJson ?? null,
        JSON.stringify(p.attributeMapping),
        p.attributeCondition ?? null,
        now.getTime(),
      ],
    )
  }
}

export function parseJwks(jwksJson: string | undefined): JSONWebKeySet | undefined {
  return jwksJson === undefined ? undefined : (JSON.parse(jwksJson) as JSONWebKeySet)
}

interface SaRow {
  email: string
  project_id: string
  unique_id: string
  display_name: string | null
  disabled: number
}

function sa(r: SaRow): ServiceAccountRecord {
  return {
    email: r.email,
    projectId: r.project_id,
    uniqueId: String(r.unique_id),
    displayName: opt(r.display_name),
    disabled: Number(r.disabled) === 1,
  }
}

/**
 * Creates or updates a service account. Its uniqueId is its identity (the `sub` of its tokens): an update
 * carrying another uniqueId is refused (`GCP_UNIQUE_ID_CHANGED`) rather than ignored.
 */
export async function putServiceAccount(
  db: Queryable,
  s: ServiceAccountRecord,
  now: Date,
): Promise<void> {
  const { changes } = await db.run(
    `INSERT INTO gcp_service_accounts (email, project_id, unique_id, display_name, disabled, created_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (email) DO UPDATE SET project_id = excluded.project_id, display_name = excluded.display_name,
       disabled = excluded.disabled
     WHERE gcp_service_accounts.unique_id = excluded.unique_id`,
    [s.email, s.projectId, s.uniqueId, s.displayName ?? null, s.disabled ? 1 : 0, now.getTime()],
  )
  if (changes === 0) {
    throw new GcpStoreError(
      'GCP_UNIQUE_ID_CHANGED',
      `service account '${s.email}' exists with another uniqueId; a uniqueId cannot change`,
    )
  }
}

/** By email or numeric unique id (generateAccessToken accepts either). */
export async function getServiceAccount(
  db: Queryable,
  emailOrId: string,
): Promise<ServiceAccountRecord | undefined> {
  const r = await db.get<SaRow>(
    'SELECT * FROM gcp_service_accounts WHERE email = ? OR unique_id = ?',
    [emailOrId, emailOrId],
  )
  return r === undefined ? undefined : sa(r)
}

export async function listServiceAccounts(
  db: Queryable,
  projectId: string,
): Promise<ServiceAccountRecord[]> {
  const rows = await db.all<SaRow>(
    'SELECT * FROM gcp_service_accounts WHERE project_id = ? ORDER BY email',
    [projectId],
  )
  return rows.map(sa)
}

export async function getBindings(db: Queryable, email: string): Promise<Binding[]> {
  const rows = await db.all<{ role: string; member: string }>(
    'SELECT role, member FROM gcp_bindings WHERE email = ? ORDER BY role, member',
    [email],
  )
  const byRole = new Map<string, string[]>()
  for (const r of rows) {
    const list = byRole.get(r.role) ?? []
    list.push(r.member)
    byRole.set(r.role, list)
  }
  return [...byRole].map(([role, members]) => ({ role, members }))
}

/** Replaces a service account's IAM policy bindings. */
export async function replaceBindings(
  db: Queryable,
  email: string,
  bindings: readonly Binding[],
): Promise<void> {
  await db.run('DELETE FROM gcp_bindings WHERE email = ?', [email])
  for (const b of bindings) {
    for (const member of new Set(b.members)) {
      await db.run('INSERT INTO gcp_bindings (email, role, member) VALUES (?, ?, ?)', [
        email,
        b.role,
        member,
      ])
    }
  }
}
