/**
 * @module analysis/inputs/azure
 * Azure exports as `podtrust scan` reads them, in the shapes the az CLI prints and the ARM/Graph REST APIs return
 * (a bare array, or `{ "value": [...] }`; ARM items may nest their fields under `properties`):
 * - federated identity credentials: `az identity federated-credential list` (ARM
 *   `Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials`: `issuer`, `subject`,
 *   `audiences`, `claimsMatchingExpression`) and `az ad app federated-credential list` (Microsoft Graph
 *   `federatedIdentityCredential`, which names no owner: give `CLIENT_ID=FILE`);
 * - identities: `az identity list` (`clientId`, `principalId`, `id`) or `az ad sp list` (`appId`, `id`);
 * - role assignments: `az role assignment list --all` (`principalId`, `roleDefinitionId`, `roleDefinitionName`,
 *   `scope`); role definitions: `az role definition list` (`roleName`, `permissions[].actions|notActions`);
 * - AKS clusters: `az aks show` / `az aks list` (`oidcIssuerProfile.issuerUrl`, `identityProfile.kubeletidentity`).
 * References: https://learn.microsoft.com/rest/api/managedidentity/federated-identity-credentials/list,
 * https://learn.microsoft.com/graph/api/resources/federatedidentitycredential,
 * https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-subscription,
 * https://learn.microsoft.com/rest/api/aks/managed-clusters/get.
 */
import type {
  AksCluster,
  AzureFederatedCredential,
  AzureIdentity,
  AzureRoleAssignment,
  AzureRoleDefinition,
} from '../model.ts'
import { isObject, join, JsonReader } from './json-path.ts'

/** ARM items carry their fields under `properties`; az CLI output and Graph items have them at the top. */
function fieldsOf(
  r: JsonReader,
  item: unknown,
  path: string,
): { obj: Record<string, unknown>; path: string } {
  const top = r.object(item, path)
  if (isObject(top.properties))
    return { obj: { ...top, ...top.properties }, path: join(path, 'properties') }
  return { obj: top, path }
}

const IDENTITY_IN_ID =
  /^(.*\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+))\/federatedIdentityCredentials\//i

/**
 * `owner` is the client id of the app or identity the file belongs to (`CLIENT_ID=FILE`); without it the owner
 * comes from each item's ARM `id`, and its client id from `identities` (matched by resource id).
 */
export function parseAzureFederatedCredentials(
  json: unknown,
  source: string,
  options: { owner?: string; identities?: AzureIdentity[] } = {},
): AzureFederatedCredential[] {
  const r: JsonReader = new JsonReader(source)
  const out: AzureFederatedCredential[] = []
  for (const { item, path: itemPath } of r.items(
    json,
    ['value'],
    'federated identity credentials',
  )) {
    const { obj, path } = fieldsOf(r, item, itemPath)
    const name = r.string(obj, 'name', itemPath)
    const issuer = r.string(obj, 'issuer', path)
    const subject = r.optionalString(obj, 'subject', path)
    const expr = obj.claimsMatchingExpression
    let claimsMatchingExpression: string | undefined
    if (typeof expr === 'string') claimsMatchingExpression = expr
    else if (isObject(expr))
      claimsMatchingExpression = r.string(expr, 'value', join(path, 'claimsMatchingExpression'))
    else if (expr !== undefined && expr !== null)
      r.fail(
        join(path, 'claimsMatchingExpression'),
        'expected a string or {value, languageVersion}',
      )
    if ((subject === undefined || subject === '') && claimsMatchingExpression === undefined)
      r.fail(path, 'a federated credential needs subject or claimsMatchingExpression')
    const audiences = r.strings(obj, 'audiences', path, true)
    const id = typeof obj.id === 'string' ? obj.id : ''
    const arm = IDENTITY_IN_ID.exec(id)
    const identityId = arm?.[1]
    const known =
      identityId !== undefined
        ? options.identities?.find((i) => i.id?.toLowerCase() === identityId.toLowerCase())
        : options.owner !== undefined
          ? options.identities?.find((i) => i.clientId === options.owner)
          : undefined
    if (options.owner === undefined && identityId === undefined)
      r.fail(
        join(itemPath, 'id'),
        'cannot tell which app or identity this credential belongs to',
        'az ad app federated-credential list output names no owner: give it as CLIENT_ID=FILE',
      )
    const fic: AzureFederatedCredential = {
      identity: known?.name ?? arm?.[2] ?? options.owner!,
      clientId: options.owner ?? known?.clientId ?? '',
      name,
      issuer,
      audiences,
    }
    if (identityId !== undefined) fic.identityId = identityId
    const principalId = known?.principalId
    if (principalId !== undefined) fic.principalId = principalId
    if (subject !== undefined && subject !== '') fic.subject = subject
    if (claimsMatchingExpression !== undefined)
      fic.claimsMatchingExpression = claimsMatchingExpression
    out.push(fic)
  }
  return out
}

export function parseAzureIdentities(json: unknown, source: string): AzureIdentity[] {
  const r: JsonReader = new JsonReader(source)
  return r.items(json, ['value'], 'identities').map(({ item, path: itemPath }) => {
    const { obj, path } = fieldsOf(r, item, itemPath)
    // az ad sp list: appId is the client id, id the service principal's object id (what role assignments name).
    const isServicePrincipal = typeof obj.appId === 'string'
    const clientId = isServicePrincipal
      ? r.string(obj, 'appId', path)
      : r.string(obj, 'clientId', path)
    const identity: AzureIdentity = {
      name:
        r.optionalString(obj, 'name', itemPath) ??
        r.optionalString(obj, 'displayName', path) ??
        clientId,
      clientId,
    }
    const id = r.optionalString(obj, 'id', itemPath)
    if (isServicePrincipal) {
      if (id !== undefined) identity.principalId = id
    } else {
      if (id !== undefined) identity.id = id
      const principalId = r.optionalString(obj, 'principalId', path)
      if (principalId !== undefined) identity.principalId = principalId
    }
    return identity
  })
}

export function parseAzureRoleAssignments(json: unknown, source: string): AzureRoleAssignment[] {
  const r: JsonReader = new JsonReader(source)
  return r.items(json, ['value'], 'role assignments').map(({ item, path: itemPath }) => {
    const { obj, path } = fieldsOf(r, item, itemPath)
    const a: AzureRoleAssignment = {
      principalId: r.string(obj, 'principalId', path),
      roleDefinitionId: r.string(obj, 'roleDefinitionId', path),
      scope: r.string(obj, 'scope', path),
    }
    const type = r.optionalString(obj, 'principalType', path)
    if (type !== undefined) a.principalType = type
    const roleName = r.optionalString(obj, 'roleDefinitionName', path)
    if (roleName !== undefined) a.roleDefinitionName = roleName
    const condition = r.optionalString(obj, 'condition', path)
    if (condition !== undefined && condition !== '') a.condition = condition
    return a
  })
}

export function parseAzureRoleDefinitions(json: unknown, source: string): AzureRoleDefinition[] {
  const r: JsonReader = new JsonReader(source)
  return r.items(json, ['value'], 'role definitions').map(({ item, path: itemPath }) => {
    const { obj, path } = fieldsOf(r, item, itemPath)
    const permissions = obj.permissions
    if (!Array.isArray(permissions)) r.fail(join(path, 'permissions'), 'expected an array')
    const actions: string[] = []
    const notActions: string[] = []
    permissions.forEach((p, i) => {
      const pp = `${join(path, 'permissions')}[${i}]`
      const o = r.object(p, pp)
      actions.push(...r.strings(o, 'actions', pp))
      notActions.push(...r.strings(o, 'notActions', pp))
    })
    return {
      id: r.string(obj, 'id', itemPath),
      roleName: r.string(obj, 'roleName', path),
      actions,
      notActions,
    }
  })
}

export function parseAksClusters(json: unknown, source: string): AksCluster[] {
  const r: JsonReader = new JsonReader(source)
  return r.items(json, ['value'], 'AKS clusters').map(({ item, path: itemPath }) => {
    const { obj, path } = fieldsOf(r, item, itemPath)
    const cluster: AksCluster = { name: r.string(obj, 'name', itemPath) }
    const id = r.optionalString(obj, 'id', itemPath)
    if (id !== undefined) cluster.id = id
    if (obj.oidcIssuerProfile !== undefined && obj.oidcIssuerProfile !== null) {
      const p = r.object(obj.oidcIssuerProfile, join(path, 'oidcIssuerProfile'))
      const url = r.optionalString(p, 'issuerUrl', join(path, 'oidcIssuerProfile'))
      if (url !== undefined && p.enabled !== false) cluster.issuerUrl = url
    }
    const profile = obj.identityProfile
    if (isObject(profile) && isObject(profile.kubeletidentity)) {
      const k = profile.kubeletidentity
      const kp = join(path, 'identityProfile.kubeletidentity')
      const kubelet: NonNullable<AksCluster['kubeletIdentity']> = {}
      const clientId = r.optionalString(k, 'clientId', kp)
      const objectId = r.optionalString(k, 'objectId', kp)
      const resourceId = r.optionalString(k, 'resourceId', kp)
      if (clientId !== undefined) kubelet.clientId = clientId
      if (objectId !== undefined) kubelet.objectId = objectId
      if (resourceId !== undefined) kubelet.resourceId = resourceId
      cluster.kubeletIdentity = kubelet
    }
    return cluster
  })
}
