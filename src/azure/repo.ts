/**
 * @module azure/repo
 * Storage of the Entra-compatible directory over the store's `Queryable` (SQLite or PostgreSQL). Tenant
 * and client ids are case-insensitive in Entra (GUIDs, domain names): they are stored and looked up lowercased.
 */
import type { Queryable } from '../store/db.ts'
import type { FederatedCredential } from './fic.ts'

export type IdentityKind = 'application' | 'userAssignedIdentity'

export interface TenantRecord {
  tenantId: string
  displayName: string | undefined
}

export interface IdentityRecord {
  tenantId: string
  clientId: string
  objectId: string
  name: string
  kind: IdentityKind
}

interface IdentityRow {
  tenant_id: string
  client_id: string
  object_id: string
  name: string
  kind: string
}

interface FicRow {
  name: string
  issuer: string
  subject: string | null
  claims_expression: string | null
  audience: string
  description: string | null
}

function identity(row: IdentityRow): IdentityRecord {
  return {
    tenantId: row.tenant_id,
    clientId: row.client_id,
    objectId: row.object_id,
    name: row.name,
    kind: row.kind === 'application' ? 'application' : 'userAssignedIdentity',
  }
}

function fic(row: FicRow): FederatedCredential {
  return {
    name: row.name,
    issuer: row.issuer,
    ...(row.subject === null ? {} : { subject: row.subject }),
    ...(row.claims_expression === null ? {} : { claimsMatchingExpression: row.claims_expression }),
    audiences: [row.audience],
    ...(row.description === null ? {} : { description: row.description }),
  }
}

export async function getTenant(
  db: Queryable,
  tenantId: string,
): Promise<TenantRecord | undefined> {
  const row = await db.get<{ tenant_id: string; display_name: string | null }>(
    'SELECT tenant_id, display_name FROM azure_tenants WHERE tenant_id = ?',
    [tenantId.toLowerCase()],
  )
  return row === undefined
    ? undefined
    : { tenantId: row.tenant_id, displayName: row.display_name ?? undefined }
}

export async function listTenants(db: Queryable): Promise<TenantRecord[]> {
  const rows = await db.all<{ tenant_id: string; display_name: string | null }>(
    'SELECT tenant_id, display_name FROM azure_tenants ORDER BY tenant_id',
  )
  return rows.map((r) => ({ tenantId: r.tenant_id, displayName: r.display_name ?? undefined }))
}

export async function putTenant(db: Queryable, tenant: TenantRecord, now: Date): Promise<void> {
  await db.run(
    `INSERT INTO azure_tenants (tenant_id, display_name, created_at) VALUES (?, ?, ?)
     ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name`,
    [tenant.tenantId.toLowerCase(), tenant.displayName ?? null, now.getTime()],
  )
}

export async function getIdentity(
  db: Queryable,
  tenantId: string,
  clientId: string,
): Promise<IdentityRecord | undefined> {
  const row = await db.get<IdentityRow>(
    'SELECT * FROM azure_identities WHERE tenant_id = ? AND client_id = ?',
    [tenantId.toLowerCase(), clientId.toLowerCase()],
  )
  return row === undefined ? undefined : identity(row)
}

export async function listIdentities(db: Queryable, tenantId: string): Promise<IdentityRecord[]> {
  const rows = await db.all<IdentityRow>(
    'SELECT * FROM azure_identities WHERE tenant_id = ? ORDER BY name, client_id',
    [tenantId.toLowerCase()],
  )
  return rows.map(identity)
}

export async function putIdentity(db: Queryable, record: IdentityRecord, now: Date): Promise<void> {
  await db.run(
    `INSERT INTO azure_identities (tenant_id, client_id, object_id, name, kind, created_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, client_id) DO UPDATE SET object_id = excluded.object_id,
       name = excluded.name, kind = excluded.kind`,
    [
      record.tenantId.toLowerCase(),
      record.clientId.toLowerCase(),
      record.objectId,
      record.name,
      record.kind,
      now.getTime(),
    ],
  )
}

export async function listFederatedCredentials(
  db: Queryable,
  tenantId: string,
  clientId: string,
): Promise<FederatedCredential[]> {
  const rows = await db.all<FicRow>(
    `SELECT name, issuer, subject, claims_expression, audience, description
     FROM azure_federated_credentials WHERE tenant_id = ? AND client_id = ? ORDER BY name`,
    [tenantId.toLowerCase(), clientId.toLowerCase()],
  )
  return rows.map(fic)
}

/** Replaces an identity's FIC set (the config file declares the whole set). */
export async function replaceFederatedCredentials(
  db: Queryable,
  tenantId: string,
  clientId: string,
  fics: readonly FederatedCredential[],
  now: Date,
): Promise<void> {
  await db.run('DELETE FROM azure_federated_credentials WHERE tenant_id = ? AND client_id = ?', [
    tenantId.toLowerCase(),
    clientId.toLowerCase(),
  ])
  for (const f of fics) {
    await db.run(
      `INSERT INTO azure_federated_credentials
         (tenant_id, client_id, name, issuer, subject, claims_expression, audience, description, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        tenantId.toLowerCase(),
        clientId.toLowerCase(),
        f.name,
        f.issuer,
        f.subject ?? null,
        f.claimsMatchingExpression ?? null,
        f.audiences[0] ?? '',
        f.description ?? null,
        now.getTime(),
      ],
    )
  }
}

/** Identities with this client id in any tenant (the `adfs` authority carries no tenant). */
export async function findIdentitiesByClientId(
  db: Queryable,
  clientId: string,
): Promise<IdentityRecord[]> {
  const rows = await db.all<IdentityRow>(
    'SELECT * FROM azure_identities WHERE client_id = ? ORDER BY tenant_id',
    [clientId.toLowerCase()],
  )
  return rows.map(identity)
}
