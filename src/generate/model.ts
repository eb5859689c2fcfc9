/**
 * @module generate/model
 * The one in-memory model every emitter (Terraform, CloudFormation, manifests, podtrust YAML) renders: the
 * exact trust policies, permission documents, associations, federated credentials and bindings a spec
 * means. Emitters only format it, so what they describe cannot drift apart (the equivalence tests compare
 * each rendering with this model).
 *
 * Trust policies follow AWS's documentation:
 * - IRSA: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
 *   (Federated = the OIDC provider's ARN, sts:AssumeRoleWithWebIdentity, StringEquals on `HOST:sub` and `HOST:aud`).
 * - Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
 *   (Service = pods.eks.amazonaws.com, sts:AssumeRole and sts:TagSession).
 */
import type { IacSpec, WorkloadSpec } from './spec.ts'

export type PolicyDocument = {
  Version: '2012-10-17'
  Statement: Array<Record<string, unknown>>
}

export interface OidcProviderModel {
  readonly url: string
  /** The provider's URL without `https://`: the prefix of its condition keys. */
  readonly host: string
  readonly arn: string
  readonly clientIds: readonly string[]
  readonly thumbprints: readonly string[]
  readonly existing: boolean
}

export interface AwsRoleModel {
  readonly workload: string
  readonly name: string
  readonly path: string
  readonly arn: string
  readonly method: 'irsa' | 'pod-identity'
  readonly trustPolicy: PolicyDocument
  /** The workload's own permissions as one customer managed policy, named `<role>-permissions`. */
  readonly permissionsPolicy: { name: string; arn: string; document: PolicyDocument } | undefined
  readonly managedPolicyArns: readonly string[]
  readonly association: { cluster: string; namespace: string; serviceAccount: string } | undefined
}

export interface AzureIdentityModel {
  readonly workload: string
  readonly name: string
  readonly clientId: string | undefined
  readonly federatedCredential: { name: string; issuer: string; subject: string; audience: string }
  readonly roleAssignments: ReadonlyArray<{ role: string; scope: string }>
}

export interface GcpWorkloadModel {
  readonly workload: string
  /** `principal://…/subject/system:serviceaccount:NS:SA` (GKE: `…/subject/ns/NS/sa/SA`): the pods' identity. */
  readonly principal: string
  /** Who gets roles/iam.workloadIdentityUser on the Google service account (GKE: `serviceAccount:P.svc.id.goog[NS/SA]`). */
  readonly impersonationMember: string
  readonly serviceAccount: { accountId: string; email: string } | undefined
  /** Project roles granted: to the Google service account when there is one, else to the principal. */
  readonly roles: readonly string[]
}

export interface GcpPoolModel {
  /** GKE Workload Identity: the project's own pool; nothing to create, no credential file. */
  readonly gke: boolean
  readonly projectId: string
  readonly projectNumber: string
  readonly poolId: string
  readonly providerId: string
  readonly issuer: string
  readonly audience: string
  readonly attributeMapping: Readonly<Record<string, string>>
  readonly attributeCondition: string
}

export interface ServiceAccountModel {
  readonly namespace: string
  readonly name: string
  readonly workload: string
  readonly annotations: Readonly<Record<string, string>>
  /** Labels the workload's pods need (Azure: azure.workload.identity/use). */
  readonly podLabels: Readonly<Record<string, string>>
  /** GCP federation: the credential configuration file the pods mount. */
  readonly gcpCredentialConfig: Record<string, unknown> | undefined
}

export interface IacModel {
  readonly spec: IacSpec
  readonly oidcProvider: OidcProviderModel | undefined
  readonly roles: readonly AwsRoleModel[]
  readonly azure: readonly AzureIdentityModel[]
  readonly gcpPool: GcpPoolModel | undefined
  readonly gcp: readonly GcpWorkloadModel[]
  readonly serviceAccounts: readonly ServiceAccountModel[]
}

export const IRSA_AUDIENCE = 'sts.amazonaws.com'
export const POD_IDENTITY_SERVICE = 'pods.eks.amazonaws.com'
/** https://learn.microsoft.com/azure/aks/workload-identity-overview — the audience of federated tokens. */
export const AZURE_AUDIENCE = 'api://AzureADTokenExchange'

export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`
}

export function irsaTrustPolicy(
  provider: { arn: string; host: string },
  subjects: readonly string[],
): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: provider.arn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${provider.host}:sub`]: subjects.length === 1 ? subjects[0] : [...subjects],
            [`${provider.host}:aud`]: IRSA_AUDIENCE,
          },
        },
      },
    ],
  }
}

export function podIdentityTrustStatement(): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { Service: POD_IDENTITY_SERVICE },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
  }
}

export function buildModel(spec: IacSpec): IacModel {
  const aws = spec.aws
  const host = spec.cluster.issuer.replace(/^https:\/\//, '')
  const needsProvider = aws !== undefined && spec.workloads.some((w) => w.aws?.method === 'irsa')
  const oidcProvider: OidcProviderModel | undefined =
    aws !== undefined && needsProvider
      ? {
          url: spec.cluster.issuer,
          host,
          arn: `arn:aws:iam::${aws.accountId}:oidc-provider/${host}`,
          clientIds: [IRSA_AUDIENCE],
          thumbprints: aws.thumbprints,
          existing: aws.existingOidcProvider,
        }
      : undefined
  const roles =
    aws === undefined
      ? []
      : spec.workloads.flatMap((w) =>
          w.aws === undefined ? [] : [roleModel(spec, w, oidcProvider)],
        )
  const gcpPool =
    spec.gcp === undefined || !spec.workloads.some((w) => w.gcp !== undefined)
      ? undefined
      : poolModel(spec)
  const azure = spec.workloads.flatMap((w) => (w.azure === undefined ? [] : [azureModel(spec, w)]))
  const gcp =
    gcpPool === undefined
      ? []
      : spec.workloads.flatMap((w) => (w.gcp === undefined ? [] : [gcpModel(gcpPool, w)]))
  const serviceAccounts = spec.workloads.map((w) =>
    serviceAccountModel(
      w,
      roles.find((r) => r.workload === w.name),
      azure.find((a) => a.workload === w.name),
      gcp.find((g) => g.workload === w.name),
      gcpPool,
    ),
  )
  return { spec, oidcProvider, roles, azure, gcpPool, gcp, serviceAccounts }
}

function roleModel(
  spec: IacSpec,
  w: WorkloadSpec,
  provider: OidcProviderModel | undefined,
): AwsRoleModel {
  const a = w.aws!
  const account = spec.aws!.accountId
  const subject = serviceAccountSubject(w.namespace, w.serviceAccount)
  const trustPolicy: PolicyDocument =
    a.method === 'irsa'
      ? irsaTrustPolicy(provider!, [subject])
      : { Version: '2012-10-17', Statement: [podIdentityTrustStatement()] }
  const policyName = `${a.roleName}-permissions`
  const permissionsPolicy =
    a.statements.length === 0
      ? undefined
      : {
          name: policyName,
          arn: `arn:aws:iam::${account}:policy${a.rolePath}${policyName}`,
          document: {
            Version: '2012-10-17' as const,
            Statement: a.statements.map((s) => ({
              Effect: s.effect,
              Action: s.actions.length === 1 ? s.actions[0] : [...s.actions],
              Resource: s.resources.length === 1 ? s.resources[0] : [...s.resources],
            })),
          },
        }
  return {
    workload: w.name,
    name: a.roleName,
    path: a.rolePath,
    arn: `arn:aws:iam::${account}:role${a.rolePath}${a.roleName}`,
    method: a.method,
    trustPolicy,
    permissionsPolicy,
    managedPolicyArns: a.managedPolicies,
    association:
      a.method === 'pod-identity'
        ? { cluster: spec.cluster.name, namespace: w.namespace, serviceAccount: w.serviceAccount }
        : undefined,
  }
}

function azureModel(spec: IacSpec, w: WorkloadSpec): AzureIdentityModel {
  const z = w.azure!
  return {
    workload: w.name,
    name: z.identityName,
    clientId: z.clientId,
    // https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster — issuer, subject, audience.
    federatedCredential: {
      name: `${spec.cluster.name}-${w.namespace}-${w.serviceAccount}`
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 120),
      issuer: spec.cluster.issuer,
      subject: serviceAccountSubject(w.namespace, w.serviceAccount),
      audience: AZURE_AUDIENCE,
    },
    roleAssignments: z.roleAssignments,
  }
}

function poolModel(spec: IacSpec): GcpPoolModel {
  const g = spec.gcp!
  const providerName = `projects/${g.projectNumber}/locations/global/workloadIdentityPools/${g.poolId}/providers/${g.providerId}`
  const namespaces = [
    ...new Set(spec.workloads.filter((w) => w.gcp !== undefined).map((w) => w.namespace)),
  ].sort()
  return {
    gke: g.gke,
    projectId: g.projectId,
    projectNumber: g.projectNumber,
    // https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity — the fleet pool.
    poolId: g.gke ? `${g.projectId}.svc.id.goog` : g.poolId,
    providerId: g.providerId,
    issuer: spec.cluster.issuer,
    // https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes: the default audience
    // is the provider's full resource name.
    audience: `//iam.googleapis.com/${providerName}`,
    attributeMapping: {
      'google.subject': 'assertion.sub',
      'attribute.namespace': "assertion['kubernetes.io']['namespace']",
      'attribute.service_account_name': "assertion['kubernetes.io']['serviceaccount']['name']",
    },
    // Only the namespaces the spec names may exchange tokens at all (defence in depth beside the bindings).
    attributeCondition: `attribute.namespace in [${namespaces.map((n) => `'${n}'`).join(', ')}]`,
  }
}

function gcpModel(pool: GcpPoolModel, w: WorkloadSpec): GcpWorkloadModel {
  const g = w.gcp!
  // GKE principals name the Kubernetes identity as ns/NS/sa/SA; other pools map google.subject = sub.
  const subject = pool.gke
    ? `ns/${w.namespace}/sa/${w.serviceAccount}`
    : serviceAccountSubject(w.namespace, w.serviceAccount)
  const principal = `principal://iam.googleapis.com/projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}/subject/${subject}`
  return {
    workload: w.name,
    principal,
    impersonationMember: pool.gke
      ? `serviceAccount:${pool.poolId}[${w.namespace}/${w.serviceAccount}]`
      : principal,
    serviceAccount:
      g.serviceAccountId === undefined
        ? undefined
        : {
            accountId: g.serviceAccountId,
            email: `${g.serviceAccountId}@${pool.projectId}.iam.gserviceaccount.com`,
          },
    roles: g.roles.map((r) => r.role),
  }
}

function serviceAccountModel(
  w: WorkloadSpec,
  role: AwsRoleModel | undefined,
  azure: AzureIdentityModel | undefined,
  gcp: GcpWorkloadModel | undefined,
  pool: GcpPoolModel | undefined,
): ServiceAccountModel {
  const annotations: Record<string, string> = {}
  const podLabels: Record<string, string> = {}
  // IRSA: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
  // Pod Identity needs no annotation: the association names the ServiceAccount.
  if (role?.method === 'irsa') annotations['eks.amazonaws.com/role-arn'] = role.arn
  // https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html
  // The client id is Azure's to assign: without it in the spec the manifests emitter says where to get it.
  if (azure !== undefined) {
    if (azure.clientId !== undefined)
      annotations['azure.workload.identity/client-id'] = azure.clientId
    podLabels['azure.workload.identity/use'] = 'true'
  }
  let gcpCredentialConfig: Record<string, unknown> | undefined
  // GKE: the metadata server serves the identity; the annotation names the service account to impersonate.
  if (gcp?.serviceAccount !== undefined && pool?.gke === true) {
    annotations['iam.gke.io/gcp-service-account'] = gcp.serviceAccount.email
  }
  if (gcp !== undefined && pool !== undefined && !pool.gke) {
    // https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes#deploy — the
    // credential configuration (external_account) the pod's client libraries read.
    gcpCredentialConfig = {
      universe_domain: 'googleapis.com',
      type: 'external_account',
      audience: pool.audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'https://sts.googleapis.com/v1/token',
      credential_source: { file: '/var/run/service-account/token', format: { type: 'text' } },
      ...(gcp.serviceAccount === undefined
        ? {}
        : {
            service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${gcp.serviceAccount.email}:generateAccessToken`,
          }),
    }
  }
  return {
    namespace: w.namespace,
    name: w.serviceAccount,
    workload: w.name,
    annotations,
    podLabels,
    gcpCredentialConfig,
  }
}
