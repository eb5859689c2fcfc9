/**
 * @module azure/config
 * The `azure` section of podtrust's YAML config: tenants, their identities (app registrations or
 * user-assigned managed identities, by client id) and each identity's federated identity credentials.
 * Declared tenants and identities are upserted; an identity's FIC list is replaced as a whole.
 *
 * @example
 * azure:
 *   tenants:
 *     - tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
 *       identities:
 *         - name: app
 *           clientId: 11111111-2222-3333-4444-555555555555
 *           federatedCredentials:
 *             - name: kube-default-app
 *               issuer: https://127.0.0.1:7443
 *               subject: system:serviceaccount:default:app
 */
import { createHash } from 'node:crypto'
import type { ConfigEnv, ConfigSection } from '../config/section.ts'
import type { Queryable } from '../store/db.ts'
import { invalidAt } from '../config/errors.ts'
import { list, object, optional, optionalList, string } from '../config/schema.ts'
import {
  DEFAULT_FIC_AUDIENCE,
  validateFederatedCredential,
  validateFederatedCredentialSet,
  type FederatedCredential,
} from './fic.ts'
import {
  listFederatedCredentials,
  listIdentities,
  listTenants,
  putIdentity,
  putTenant,
  replaceFederatedCredentials,
  type IdentityKind,
} from './repo.ts'

export interface AzureIdentityConfig {
  name: string
  clientId: string
  objectId: string
  type: IdentityKind
  federatedCredentials: FederatedCredential[]
}

export interface AzureTenantConfig {
  tenantId: string
  displayName?: string
  identities: AzureIdentityConfig[]
}

export interface AzureConfig {
  tenants: AzureTenantConfig[]
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
/** A tenant id (GUID) or a verified domain name; `common`, `organizations`, `consumers`, `adfs` are reserved. */
const TENANT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/
const RESERVED_TENANTS = new Set(['common', 'organizations', 'consumers', 'adfs'])

export function isValidTenantId(value: string): boolean {
  return TENANT.test(value) && !RESERVED_TENANTS.has(value.toLowerCase())
}

/** A stable object id for an identity declared without one, so export and re-apply agree. */
export function deriveObjectId(tenantId: string, clientId: string): string {
  const h = createHash('sha256').update(`podtrust-azure-oid:${tenantId}:${clientId}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function fail(path: string, message: string): never {
  throw invalidAt(path, message, 'see docs/config.md, section "azure"')
}

/** A non-empty string. */
function text(value: unknown, path: string): string {
  return string(value, path, { min: 1 })
}

function optionalText(value: unknown, path: string): string | undefined {
  return optional(value, (v) => text(v, path))
}

function parseFic(value: unknown, path: string): FederatedCredential {
  const o = object(value, path, {
    required: ['name', 'issuer'],
    optional: ['subject', 'claimsMatchingExpression', 'audiences', 'description'],
  })
  const audiences =
    o.audiences === undefined || o.audiences === null
      ? [DEFAULT_FIC_AUDIENCE]
      : list(o.audiences, `${path}.audiences`).map((a, i) => text(a, `${path}.audiences[${i}]`))
  const fic: FederatedCredential = {
    name: text(o.name, `${path}.name`),
    issuer: text(o.issuer, `${path}.issuer`),
    audiences,
  }
  const subject = optionalText(o.subject, `${path}.subject`)
  if (subject !== undefined) fic.subject = subject
  const expression = optionalText(o.claimsMatchingExpression, `${path}.claimsMatchingExpression`)
  if (expression !== undefined) fic.claimsMatchingExpression = expression
  const description = optionalText(o.description, `${path}.description`)
  if (description !== undefined) fic.description = description
  const problems = validateFederatedCredential(fic)
  if (problems.length > 0) fail(path, problems.join('; '))
  return fic
}

export function parseAzureConfig(value: unknown, path: string): AzureConfig {
  const root = object(value, path, { optional: ['tenants'] })
  const tenantIds = new Set<string>()
  const tenants = optionalList(root.tenants, `${path}.tenants`).map((t, ti) => {
    const tp = `${path}.tenants[${ti}]`
    const o = object(t, tp, { required: ['tenantId'], optional: ['displayName', 'identities'] })
    const tenantId = text(o.tenantId, `${tp}.tenantId`)
    if (!isValidTenantId(tenantId))
      fail(
        `${tp}.tenantId`,
        'must be a GUID or a domain name (not common/organizations/consumers/adfs)',
      )
    if (tenantIds.has(tenantId.toLowerCase()))
      fail(`${tp}.tenantId`, `duplicates tenant '${tenantId}'`)
    tenantIds.add(tenantId.toLowerCase())
    const clientIds = new Set<string>()
    const identities = optionalList(o.identities, `${tp}.identities`).map((i, ii) => {
      const ip = `${tp}.identities[${ii}]`
      const io = object(i, ip, {
        required: ['name', 'clientId'],
        optional: ['objectId', 'type', 'federatedCredentials'],
      })
      const clientId = text(io.clientId, `${ip}.clientId`)
      if (!GUID.test(clientId)) fail(`${ip}.clientId`, 'must be a GUID')
      if (clientIds.has(clientId.toLowerCase()))
        fail(`${ip}.clientId`, `duplicates client id '${clientId}'`)
      clientIds.add(clientId.toLowerCase())
      const objectId =
        optionalText(io.objectId, `${ip}.objectId`) ??
        deriveObjectId(tenantId.toLowerCase(), clientId.toLowerCase())
      if (!GUID.test(objectId)) fail(`${ip}.objectId`, 'must be a GUID')
      const type = (optional(io.type, (v) =>
        string(v, `${ip}.type`, { oneOf: ['userAssignedIdentity', 'application'] }),
      ) ?? 'userAssignedIdentity') as IdentityKind
      const fics = optionalList(io.federatedCredentials, `${ip}.federatedCredentials`).map(
        (f, fi) => parseFic(f, `${ip}.federatedCredentials[${fi}]`),
      )
      const setProblems = validateFederatedCredentialSet(fics)
      if (setProblems.length > 0) fail(`${ip}.federatedCredentials`, setProblems.join('; '))
      return {
        name: text(io.name, `${ip}.name`),
        clientId: clientId.toLowerCase(),
        objectId: objectId.toLowerCase(),
        type,
        federatedCredentials: fics,
      } satisfies AzureIdentityConfig
    })
    const displayName = optionalText(o.displayName, `${tp}.displayName`)
    return {
      tenantId: tenantId.toLowerCase(),
      ...(displayName === undefined ? {} : { displayName }),
      identities,
    }
  })
  return { tenants }
}

export async function applyAzureConfig(
  tx: Queryable,
  config: AzureConfig,
  env: ConfigEnv,
): Promise<void> {
  for (const tenant of config.tenants) {
    await putTenant(tx, { tenantId: tenant.tenantId, displayName: tenant.displayName }, env.now)
    for (const identity of tenant.identities) {
      await putIdentity(
        tx,
        {
          tenantId: tenant.tenantId,
          clientId: identity.clientId,
          objectId: identity.objectId,
          name: identity.name,
          kind: identity.type,
        },
        env.now,
      )
      await replaceFederatedCredentials(
        tx,
        tenant.tenantId,
        identity.clientId,
        identity.federatedCredentials,
        env.now,
      )
    }
  }
}

export async function exportAzureConfig(db: Queryable): Promise<AzureConfig | undefined> {
  const tenants: AzureTenantConfig[] = []
  for (const tenant of await listTenants(db)) {
    const identities: AzureIdentityConfig[] = []
    for (const identity of await listIdentities(db, tenant.tenantId)) {
      identities.push({
        name: identity.name,
        clientId: identity.clientId,
        objectId: identity.objectId,
        type: identity.kind,
        federatedCredentials: await listFederatedCredentials(
          db,
          tenant.tenantId,
          identity.clientId,
        ),
      })
    }
    tenants.push({
      tenantId: tenant.tenantId,
      ...(tenant.displayName === undefined ? {} : { displayName: tenant.displayName }),
      identities,
    })
  }
  return tenants.length === 0 ? undefined : { tenants }
}

export const azureConfigSection: ConfigSection<AzureConfig> = {
  key: 'azure',
  parse: parseAzureConfig,
  apply: applyAzureConfig,
  export: exportAzureConfig,
}
