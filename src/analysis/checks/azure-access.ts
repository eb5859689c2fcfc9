/**
 * @module analysis/checks/azure-access
 * Azure Workload Identity checks on issuers and access (AZ-002, AZ-004, AZ-007).
 * - Which ServiceAccounts a federated credential admits is decided by Entra's own match rule (the federation port:
 *   exact issuer, exact subject or the claims-matching expression, audience), asked with each ServiceAccount's token
 *   (https://learn.microsoft.com/entra/workload-id/workload-identity-federation).
 * - Role power follows Azure RBAC's evaluation of `actions` minus `notActions`, with `*` wildcards, case-insensitive
 *   (https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions); built-in roles by their
 *   fixed ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged).
 * - AKS nodes reach the Azure Instance Metadata Service at 169.254.169.254, which answers any caller with the
 *   `Metadata: true` header — no hop limit, no session token — so every pod gets the kubelet identity's tokens unless
 *   a NetworkPolicy blocks the address (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service,
 *   https://learn.microsoft.com/azure/aks/use-managed-identity).
 */
import { finding, saKey, type ScanContext } from '../context.ts'
import { imdsBlockingPolicies } from '../imds.ts'
import type {
  AzureFederatedCredential,
  AzureRoleAssignment,
  AzureRoleDefinition,
  ScanFinding,
  ServiceAccountInfo,
} from '../model.ts'
import { isMultiTenantIssuer, subjectOf } from '../reachability.ts'
import { actionGlob, issuerKey } from './util.ts'

const AZURE_AUDIENCE = 'api://AzureADTokenExchange'
const ROLE_ASSIGNMENT_WRITE = 'Microsoft.Authorization/roleAssignments/write'
/** An action no role names explicitly: only `*` grants it (full control of resources). */
const ANY_ACTION_PROBE = 'Microsoft.ZzPodtrustProbe/zzProbe/write'

/**
 * Built-in roles whose power matters here, by their fixed role definition ids (the same in every tenant:
 * https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
 */
export const BUILT_IN_ROLES: AzureRoleDefinition[] = [
  { id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', roleName: 'Owner', actions: ['*'], notActions: [] },
  {
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
      'Microsoft.Blueprint/blueprintAssignments/write',
      'Microsoft.Blueprint/blueprintAssignments/delete',
      'Microsoft.Compute/galleries/share/action',
      'Microsoft.Purview/consents/write',
      'Microsoft.Purview/consents/delete',
    ],
  },
  {
    id: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
    roleName: 'User Access Administrator',
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
    notActions: [],
  },
  {
    id: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
    roleName: 'Role Based Access Control Administrator',
    actions: [
      'Microsoft.Authorization/roleAssignments/write',
      'Microsoft.Authorization/roleAssignments/delete',
      '*/read',
      'Microsoft.Support/*',
    ],
    notActions: [],
  },
]

const guidOf = (id: string): string => id.slice(id.lastIndexOf('/') + 1).toLowerCase()

export function roleAllows(def: AzureRoleDefinition, action: string): boolean {
  return (
    def.actions.some((a) => actionGlob(a, action)) &&
    !def.notActions.some((a) => actionGlob(a, action))
  )
}

/** `/subscriptions/S`, management groups and `/` are broad; resource groups and resources are not. */
export function isBroadScope(scope: string): boolean {
  return (
    scope === '/' ||
    /^\/subscriptions\/[^/]+\/?$/i.test(scope) ||
    /^\/providers\/Microsoft\.Management\/managementGroups\/[^/]+\/?$/i.test(scope)
  )
}

export interface AssignmentPower {
  assignment: AzureRoleAssignment
  roleName: string
  /** Can grant roles (roleAssignments/write): itself or anything else. */
  privilegedAccess: boolean
  /** Full control of resources (`*`). */
  fullControl: boolean
}

export function assignmentPower(
  assignment: AzureRoleAssignment,
  definitions: readonly AzureRoleDefinition[],
): AssignmentPower | undefined {
  const guid = guidOf(assignment.roleDefinitionId)
  const def =
    definitions.find((d) => guidOf(d.id) === guid) ??
    BUILT_IN_ROLES.find((d) => d.id === guid) ??
    (assignment.roleDefinitionName !== undefined
      ? [...definitions, ...BUILT_IN_ROLES].find(
          (d) => d.roleName === assignment.roleDefinitionName,
        )
      : undefined)
  if (def === undefined) return undefined
  const privilegedAccess = roleAllows(def, ROLE_ASSIGNMENT_WRITE)
  const fullControl = roleAllows(def, ANY_ACTION_PROBE)
  if (!privilegedAccess && !fullControl) return undefined
  return { assignment, roleName: def.roleName, privilegedAccess, fullControl }
}

/** The ServiceAccounts of the inventory whose tokens Entra accepts for the credential (by the port). */
function admittedServiceAccounts(
  ctx: ScanContext,
  fic: AzureFederatedCredential,
  issuers: string[],
): ServiceAccountInfo[] {
  const port = ctx.options.federation
  if (port === undefined) return []
  const candidates = issuers.length > 0 ? issuers : [fic.issuer]
  return [...ctx.inputs.kube.serviceAccounts.values()].filter((sa) =>
    candidates.some((issuer) => {
      const subject = subjectOf(sa.namespace, sa.name)
      return port.azureAccepts(fic, {
        issuer,
        subject,
        audience: AZURE_AUDIENCE,
        claims: {
          iss: issuer,
          sub: subject,
          aud: AZURE_AUDIENCE,
          'kubernetes.io': { namespace: sa.namespace, serviceaccount: { name: sa.name } },
        },
      })
    }),
  )
}

/** Issuer URLs of the known clusters: `--issuer` and the AKS clusters' OIDC issuers. */
function clusterIssuers(ctx: ScanContext): string[] {
  const out = [...(ctx.options.issuers ?? [])]
  for (const c of ctx.inputs.side.azureDirectory?.clusters ?? [])
    if (c.issuerUrl !== undefined) out.push(c.issuerUrl)
  return out
}

export function checkAzureAccess(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const fics = ctx.inputs.side.azure ?? []
  const directory = ctx.inputs.side.azureDirectory ?? {}
  const issuers = clusterIssuers(ctx)

  // AZ-002: the issuer is a multi-tenant CI issuer used for ServiceAccount subjects, several clusters', or none's.
  const clustersByIssuer = new Map<string, string[]>()
  for (const c of directory.clusters ?? [])
    if (c.issuerUrl !== undefined)
      clustersByIssuer.set(c.issuerUrl, [...(clustersByIssuer.get(c.issuerUrl) ?? []), c.name])
  for (const fic of fics) {
    const id = `${fic.identity}/${fic.name}`
    const pattern = fic.subject ?? fic.claimsMatchingExpression ?? ''
    const shared = clustersByIssuer.get(fic.issuer) ?? []
    if (isMultiTenantIssuer(issuerKey(fic.issuer)) && pattern.includes('system:serviceaccount:'))
      out.push(
        finding(
          'AZ-002',
          'high',
          [id],
          `federated credential ${id} expects a ServiceAccount subject from ${fic.issuer}, a public multi-tenant issuer: anyone who can get a token there with that sub obtains ${fic.identity}`,
          "use your cluster's own OIDC issuer",
        ),
      )
    else if (shared.length > 1)
      out.push(
        finding(
          'AZ-002',
          'high',
          [id, ...shared],
          `federated credential ${id} trusts ${fic.issuer}, the issuer of ${shared.length} clusters (${shared.join(', ')}): ${pattern} in any of them obtains ${fic.identity}`,
          'one issuer and signing key per cluster (AKS: one OIDC issuer per cluster; self-managed: distinct --service-account-issuer and keys)',
        ),
      )
    else if (issuers.length > 0 && !issuers.includes(fic.issuer)) {
      const near = issuers.find((i) => issuerKey(i) === issuerKey(fic.issuer))
      out.push(
        finding(
          'AZ-002',
          'high',
          [id],
          near !== undefined
            ? `federated credential ${id} has issuer ${JSON.stringify(fic.issuer)}, but the cluster's is ${JSON.stringify(near)}: Entra compares exactly (AADSTS700211)`
            : `federated credential ${id} trusts ${fic.issuer}, which is no known cluster's issuer (${issuers.join(', ')}): whoever controls that issuer obtains ${fic.identity}`,
          near !== undefined
            ? `set the credential's issuer to exactly ${near}`
            : 'remove the credential, or add the issuer to the cluster inventory (--issuer, --aks-clusters) if it is yours',
        ),
      )
    }
  }

  // AZ-004: identities behind federated credentials with privileged-access or full-control roles.
  const assignments = directory.roleAssignments
  if (assignments !== undefined) {
    const definitions = directory.roleDefinitions ?? []
    const byPrincipal = new Map<string, AzureFederatedCredential[]>()
    for (const fic of fics) {
      const principal =
        fic.principalId ??
        directory.identities?.find(
          (i) =>
            (fic.clientId !== '' && i.clientId === fic.clientId) ||
            (fic.identityId !== undefined && i.id?.toLowerCase() === fic.identityId.toLowerCase()),
        )?.principalId
      if (principal === undefined) continue
      byPrincipal.set(principal, [...(byPrincipal.get(principal) ?? []), fic])
    }
    for (const [principal, list] of byPrincipal) {
      const powers = assignments
        .filter((a) => a.principalId === principal)
        .map((a) => assignmentPower(a, definitions))
        .filter((p) => p !== undefined)
      if (powers.length === 0) continue
      const reach = new Set<string>()
      for (const fic of list)
        for (const sa of admittedServiceAccounts(ctx, fic, issuers))
          reach.add(saKey(sa.namespace, sa.name))
      for (const power of powers) {
        const broad = isBroadScope(power.assignment.scope)
        const conditional = power.assignment.condition !== undefined
        let severity: ScanFinding['severity'] = power.privilegedAccess ? 'critical' : 'high'
        if (!broad || conditional) severity = severity === 'critical' ? 'high' : 'medium'
        const identity = list[0]!.identity
        out.push(
          finding(
            'AZ-004',
            severity,
            [identity, power.assignment.scope, ...[...reach].slice(0, 20)],
            `${identity} (federated: ${list.map((f) => f.subject ?? f.claimsMatchingExpression).join(', ')}) holds ${power.roleName} at ${power.assignment.scope}${conditional ? ' (with a condition)' : ''}: ${power.privilegedAccess ? 'it can assign itself any role' : 'full control of every resource there'}${reach.size > 0 ? `; reachable from ${[...reach].slice(0, 5).join(', ')}` : ''}`,
            'assign a least-privilege role at resource-group or resource scope; keep role-assignment rights out of workload identities',
          ),
        )
      }
    }
  }

  // AZ-007: the kubelet identity of an AKS cluster, reachable through IMDS from pods no NetworkPolicy confines.
  for (const cluster of directory.clusters ?? []) {
    const kubelet = cluster.kubeletIdentity
    if (kubelet === undefined) continue
    const pods = ctx.inputs.kube.pods.filter(
      (p) => imdsBlockingPolicies(p, ctx.inputs.kube.networkPolicies).length === 0,
    )
    if (pods.length === 0) continue
    const powers =
      kubelet.objectId === undefined
        ? []
        : (assignments ?? [])
            .filter((a) => a.principalId === kubelet.objectId)
            .map((a) => assignmentPower(a, directory.roleDefinitions ?? []))
            .filter((p) => p !== undefined)
    const name =
      kubelet.resourceId?.slice(kubelet.resourceId.lastIndexOf('/') + 1) ??
      kubelet.clientId ??
      'kubelet identity'
    const labels = pods.map((p) => `${p.namespace}/${p.name}`)
    out.push(
      finding(
        'AZ-007',
        powers.length > 0 ? 'high' : 'medium',
        [cluster.name, name, ...labels.slice(0, 20)],
        `${labels.length} pod(s) of AKS cluster ${cluster.name} can get tokens for its kubelet identity ${name} from IMDS (169.254.169.254, no NetworkPolicy blocks it): ${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', …' : ''}${powers.length > 0 ? `; it holds ${powers.map((p) => `${p.roleName} at ${p.assignment.scope}`).join(', ')}` : ''}`,
        'deny egress to 169.254.169.254/32 with a NetworkPolicy (keep it for system pods that need it), and give the kubelet identity only AcrPull',
      ),
    )
  }
  return out
}
