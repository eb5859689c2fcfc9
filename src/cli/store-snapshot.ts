/**
 * @module cli/store-snapshot
 * Reads the live store (IAM roles with their policies, OIDC providers, EKS clusters and Pod Identity associations,
 * Azure federated credentials) into the plain snapshot the pure doctor and policy-test cores take.
 *
 * Layering (docs/architecture.md): this is the interfaces layer reading the adapters below it, which the table
 * allows; the analysis core never sees a store. Role lookups go through the identity ports' shapes (`RoleLookup`,
 * `ManagedPolicyLookup`); the listings (accounts, roles, users, keys, providers) are an export of the store the
 * identity domain never performs, so they stay on the IAM repository rather than widening `IdentityPorts`.
 */
import { doctorRole, type DoctorRole, type FederatedCredential } from '../analysis/doctor.ts'
import type {
  AzureFederatedCredential,
  GcpProvider,
  GcpServiceAccountPolicy,
  PodIdentityAssociation,
} from '../analysis/model.ts'
import {
  getBindings,
  listPools,
  listProjects,
  listProviders,
  listServiceAccounts,
} from '../gcp/repo.ts'
import { resolveCluster } from '../aws/eks/clusters.ts'
import { createEksRepo } from '../aws/eks/repo.ts'
import { createIamRepo } from '../aws/iam/repo.ts'
import type { IdentityRole, ManagedPolicyLookup, RoleLookup } from '../identity/ports.ts'
import { listFederatedCredentials, listIdentities, listTenants } from '../azure/repo.ts'
import { compilePolicy, type CompiledPolicy } from '../policy/index.ts'
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from '../server/start.ts'
import type { Db } from '../store/db.ts'
import { getIssuer } from '../tokens/issuer.ts'

export type StoreSnapshot = Awaited<ReturnType<typeof loadStoreSnapshot>>

/** The account to read: the flag, else the store's first account, else podtrust's default. */
export async function storeAccount(db: Db, flag: string | undefined): Promise<string> {
  return flag ?? (await createIamRepo(db).listAccounts())[0]?.accountId ?? DEFAULT_ACCOUNT_ID
}

/** One role with its policies, through the identity domain's lookup ports (the IAM repository implements them). */
async function loadRole(
  repo: RoleLookup & ManagedPolicyLookup,
  record: IdentityRole,
): Promise<DoctorRole> {
  const docs = await repo.getRolePolicyDocuments(record.accountId, record.roleName)
  const boundaryDoc =
    record.permissionsBoundaryArn === undefined
      ? undefined
      : await repo.getManagedPolicyDocument(record.permissionsBoundaryArn)
  return doctorRole({
    arn: record.arn,
    accountId: record.accountId,
    trust: record.assumeRolePolicyDocument,
    identity: docs.map((d) => ({ id: d.id, document: d.document })),
    ...(boundaryDoc !== undefined
      ? { boundary: { id: record.permissionsBoundaryArn!, document: boundaryDoc } }
      : {}),
  })
}

/** Reads what the doctor and `podtrust test` need from the store (associations of one SA, or all). */
export async function loadStoreSnapshot(
  db: Db,
  accountId: string,
  filter: { namespace?: string; serviceAccount?: string },
  wanted: string[] = [],
) {
  const iam = createIamRepo(db)
  const eks = createEksRepo(db)
  const providers = (await iam.listOidcProviders(accountId)).map((p) => ({
    arn: p.arn,
    url: p.url,
    clientIds: p.clientIds,
    thumbprints: p.thumbprints,
  }))
  const clusters = []
  const associations: PodIdentityAssociation[] = []
  const associationPolicies: Record<string, CompiledPolicy> = {}
  for (const row of await eks.listClusters()) {
    const view = await resolveCluster(
      row,
      { accountId, region: DEFAULT_REGION },
      async (name) => (await getIssuer(db, name))?.url ?? '',
    )
    clusters.push({
      name: view.name,
      arn: view.arn,
      issuerUrl: view.issuerUrl,
      accountId: view.accountId,
    })
    for (const a of await eks.listAssociations(row.name, filter)) {
      associations.push({
        clusterName: a.clusterName,
        clusterArn: view.arn,
        namespace: a.namespace,
        serviceAccount: a.serviceAccount,
        roleArn: a.roleArn,
        ...(a.targetRoleArn !== undefined ? { targetRoleArn: a.targetRoleArn } : {}),
        ...(a.externalId !== undefined ? { externalId: a.externalId } : {}),
        disableSessionTags: a.disableSessionTags,
        associationId: a.associationId,
      })
      if (a.policy !== undefined) {
        try {
          associationPolicies[a.associationId] = compilePolicy(a.policy, {
            id: `association ${a.associationId} policy`,
            type: 'session',
          })
        } catch {
          // An unreadable session policy: the permissions link then ignores it.
        }
      }
    }
  }
  const roles = new Map<string, DoctorRole>()
  for (const record of await iam.listRoles(accountId))
    roles.set(record.arn, await loadRole(iam, record))
  for (const arn of [
    ...wanted,
    ...associations.flatMap((a) => [a.roleArn, a.targetRoleArn ?? '']),
  ]) {
    if (arn === '' || roles.has(arn)) continue
    const record = await iam.getRoleByArn(arn)
    if (record !== undefined) roles.set(arn, await loadRole(iam, record))
  }
  const federatedCredentials: FederatedCredential[] = []
  for (const tenant of await listTenants(db)) {
    for (const identity of await listIdentities(db, tenant.tenantId)) {
      for (const f of await listFederatedCredentials(db, tenant.tenantId, identity.clientId)) {
        if (f.subject === undefined) continue
        federatedCredentials.push({
          identity: identity.name,
          clientId: identity.clientId,
          tenantId: tenant.tenantId,
          issuer: f.issuer,
          subject: f.subject,
          audiences: f.audiences,
        })
      }
    }
  }
  return { providers, clusters, associations, associationPolicies, roles, federatedCredentials }
}

/**
 * The store as `get-account-authorization-details` output (roles, users, managed policies, documents as JSON text),
 * plus its OIDC providers, Pod Identity associations and access keys: podtrust's own store as scan input.
 */
export async function loadStoreAsScanJson(db: Db, accountId: string) {
  const iam = createIamRepo(db)
  const eks = createEksRepo(db)
  const policyArns = new Set<string>()
  const attached = async (type: 'role' | 'user', name: string) => {
    const list = await iam.listAttachedPolicies(accountId, type, name)
    for (const a of list) policyArns.add(a.policyArn)
    return list.map((a) => ({ PolicyName: a.policyName, PolicyArn: a.policyArn }))
  }
  const inline = async (type: 'role' | 'user', name: string) =>
    (await iam.listInlinePolicies(accountId, type, name)).map((p) => ({
      PolicyName: p.policyName,
      PolicyDocument: p.document,
    }))
  const RoleDetailList = []
  for (const r of await iam.listRoles(accountId)) {
    if (r.permissionsBoundaryArn !== undefined) policyArns.add(r.permissionsBoundaryArn)
    RoleDetailList.push({
      Path: r.path,
      RoleName: r.roleName,
      RoleId: r.roleId,
      Arn: r.arn,
      CreateDate: r.createDate.toISOString(),
      AssumeRolePolicyDocument: r.assumeRolePolicyDocument,
      InstanceProfileList: [],
      RolePolicyList: await inline('role', r.roleName),
      AttachedManagedPolicies: await attached('role', r.roleName),
      ...(r.permissionsBoundaryArn !== undefined
        ? {
            PermissionsBoundary: {
              PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
              PermissionsBoundaryArn: r.permissionsBoundaryArn,
            },
          }
        : {}),
      Tags: r.tags.map((t) => ({ Key: t.key, Value: t.value })),
      RoleLastUsed:
        r.roleLastUsed === undefined
          ? {}
          : {
              LastUsedDate: r.roleLastUsed.lastUsedDate.toISOString(),
              Region: r.roleLastUsed.region,
            },
    })
  }
  const UserDetailList = []
  const AccessKeyMetadata = []
  for (const u of await iam.listUsers(accountId)) {
    UserDetailList.push({
      Path: u.path,
      UserName: u.userName,
      UserId: u.userId,
      Arn: u.arn,
      CreateDate: u.createDate.toISOString(),
      UserPolicyList: await inline('user', u.userName),
      GroupList: [],
      AttachedManagedPolicies: await attached('user', u.userName),
    })
    for (const k of await iam.listAccessKeys(accountId, u.userName))
      AccessKeyMetadata.push({
        UserName: k.userName,
        AccessKeyId: k.accessKeyId,
        Status: k.status,
        CreateDate: k.createDate.toISOString(),
        ...(k.lastUsed !== undefined ? { LastUsedDate: k.lastUsed.date.toISOString() } : {}),
      })
  }
  const Policies = []
  for (const arn of policyArns) {
    const document = await iam.getManagedPolicyDocument(arn)
    if (document === undefined) continue
    Policies.push({
      Arn: arn,
      PolicyName: arn.slice(arn.lastIndexOf('/') + 1),
      DefaultVersionId: 'v1',
      PolicyVersionList: [{ VersionId: 'v1', IsDefaultVersion: true, Document: document }],
    })
  }
  const providers = (await iam.listOidcProviders(accountId)).map((p) => ({
    Arn: p.arn,
    Url: p.url,
    ClientIDList: p.clientIds,
    ThumbprintList: p.thumbprints,
  }))
  const associations = []
  for (const row of await eks.listClusters()) {
    const view = await resolveCluster(
      row,
      { accountId, region: DEFAULT_REGION },
      async (name) => (await getIssuer(db, name))?.url ?? '',
    )
    for (const a of await eks.listAssociations(row.name, {}))
      associations.push({
        clusterName: a.clusterName,
        namespace: a.namespace,
        serviceAccount: a.serviceAccount,
        roleArn: a.roleArn,
        associationArn: `arn:aws:eks:${view.region}:${view.accountId}:podidentityassociation/${a.clusterName}/${a.associationId}`,
        associationId: a.associationId,
        disableSessionTags: a.disableSessionTags,
        ...(a.targetRoleArn !== undefined ? { targetRoleArn: a.targetRoleArn } : {}),
        ...(a.externalId !== undefined ? { externalId: a.externalId } : {}),
      })
  }
  // Azure federated credentials and GCP providers and Google service-account bindings (AZ-*, GCP-* checks).
  const azure: AzureFederatedCredential[] = []
  for (const tenant of await listTenants(db))
    for (const identity of await listIdentities(db, tenant.tenantId))
      for (const f of await listFederatedCredentials(db, tenant.tenantId, identity.clientId))
        azure.push({
          identity: identity.name,
          clientId: identity.clientId,
          name: f.name,
          issuer: f.issuer,
          ...(f.subject !== undefined ? { subject: f.subject } : {}),
          ...(f.claimsMatchingExpression !== undefined
            ? { claimsMatchingExpression: f.claimsMatchingExpression }
            : {}),
          audiences: f.audiences,
        })
  const gcpProviders: GcpProvider[] = []
  const gcpAccounts: GcpServiceAccountPolicy[] = []
  for (const project of await listProjects(db)) {
    for (const pool of await listPools(db, project.projectNumber))
      for (const p of await listProviders(db, project.projectNumber, pool.poolId))
        gcpProviders.push({
          name: `projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.poolId}/providers/${p.providerId}`,
          issuerUri: p.issuerUri,
          allowedAudiences: p.allowedAudiences,
          attributeMapping: p.attributeMapping,
          ...(p.attributeCondition !== undefined
            ? { attributeCondition: p.attributeCondition }
            : {}),
          disabled: p.disabled || pool.disabled,
        })
    for (const gsa of await listServiceAccounts(db, project.projectId))
      gcpAccounts.push({
        email: gsa.email,
        projectId: project.projectId,
        bindings: await getBindings(db, gsa.email),
      })
  }
  return {
    gaad: { RoleDetailList, UserDetailList, GroupDetailList: [], Policies },
    providers,
    associations,
    accessKeys: { AccessKeyMetadata },
    azure,
    gcp: { providers: gcpProviders, serviceAccounts: gcpAccounts },
  }
}
