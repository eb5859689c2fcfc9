/**
 * @module analysis/model
 * The offline auditor's data model: what `podtrust scan` reads (Kubernetes objects, IAM account authorization
 * details and side inputs, already parsed by `analysis/inputs/`) and what it reports (findings, workloads, the
 * trust graph). Pure data; no I/O.
 */
import type { CompiledPolicy } from '../policy/index.ts'

export type FindingSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info'

export const severityRank: Record<FindingSeverity, number> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
}

export function isSeverity(value: string): value is FindingSeverity {
  return Object.hasOwn(severityRank, value)
}

export interface ScanFinding {
  /** A check id of the catalog (`IRSA-001`, `BIND-003`, …). */
  id: string
  severity: FindingSeverity
  /** The objects concerned: role ARNs, `namespace/serviceaccount`, `namespace/pod`, user ARNs, … */
  objects: string[]
  message: string
  remediation: string
  /** Where the evidence came from (file names), when known. */
  sources?: string[]
}

// ---------------------------------------------------------------- Kubernetes

/** One object as read from a manifest, `kubectl get -o json|yaml` list, or kustomize output. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    annotations: Record<string, string>
    labels: Record<string, string>
    creationTimestamp?: string
    ownerReferences?: { kind: string; name: string }[]
  }
  raw: Record<string, unknown>
  /** File (and document index) it came from. */
  source: string
}

export interface EnvVar {
  name: string
  value?: string
  secretKeyRef?: { name: string; key: string }
  configMapKeyRef?: { name: string; key: string }
}

export interface Container {
  name: string
  init: boolean
  env: EnvVar[]
  envFrom: { secretRef?: string; configMapRef?: string; prefix?: string }[]
  volumeMounts: { name: string; mountPath: string }[]
  args: string[]
  command: string[]
}

export interface Volume {
  name: string
  secret?: string
  configMap?: string
  hostPath?: string
  /** Projected ServiceAccount token audiences (projected.sources[].serviceAccountToken.audience). */
  tokenAudiences: string[]
  projectedSecrets: string[]
  projectedConfigMaps: string[]
}

/** A pod, or a workload's pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet). */
export interface PodSpecInfo {
  namespace: string
  /** Pod name, or the workload name for templates. */
  name: string
  /** `Pod`, or the workload kind the template belongs to. */
  kind: string
  /** True for a live `Pod` object (then the webhook's mutation is visible in its spec). */
  live: boolean
  serviceAccountName: string
  automountServiceAccountToken: boolean | undefined
  hostNetwork: boolean
  annotations: Record<string, string>
  labels: Record<string, string>
  containers: Container[]
  volumes: Volume[]
  source: string
}

export interface ServiceAccountInfo {
  namespace: string
  name: string
  annotations: Record<string, string>
  labels: Record<string, string>
  automountServiceAccountToken: boolean | undefined
  /** False when the SA is implied (a pod names it but no object was given). */
  declared: boolean
  source: string
}

export interface DataObject {
  kind: 'Secret' | 'ConfigMap'
  namespace: string
  name: string
  type?: string
  /** Decoded values (Secret `data` base64-decoded, `stringData`, ConfigMap `data`). */
  data: Record<string, string>
  source: string
}

export interface RbacRule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  resourceNames: string[]
}

export interface RbacRole {
  kind: 'Role' | 'ClusterRole'
  namespace?: string
  name: string
  rules: RbacRule[]
}

export interface RbacBinding {
  kind: 'RoleBinding' | 'ClusterRoleBinding'
  namespace?: string
  name: string
  roleRef: { kind: string; name: string }
  subjects: { kind: string; name: string; namespace?: string }[]
}

/** One `matchExpressions` entry of a Kubernetes label selector. */
export interface LabelSelectorRequirement {
  key: string
  operator: string
  values: string[]
}

export interface NetworkPolicyInfo {
  namespace: string
  name: string
  /** True when `podSelector` is empty (all pods of the namespace). */
  selectsAll: boolean
  matchLabels: Record<string, string>
  /** `podSelector.matchExpressions`, ANDed with `matchLabels` (Kubernetes label selectors). */
  matchExpressions: LabelSelectorRequirement[]
  egressRestricted: boolean
  /** Whether some egress rule admits 169.254.169.254 (an ipBlock containing it and not excepting it, or a rule without `to`). */
  allowsImds: boolean
}

export interface KubeInventory {
  objects: number
  namespaces: Map<string, { name: string; annotations: Record<string, string> }>
  serviceAccounts: Map<string, ServiceAccountInfo>
  pods: PodSpecInfo[]
  data: DataObject[]
  roles: RbacRole[]
  bindings: RbacBinding[]
  networkPolicies: NetworkPolicyInfo[]
  /** Other kinds seen (ESO, Secrets Store CSI, AAD Pod Identity, …), by kind. */
  others: KubeObject[]
  /** Documents that were skipped (not Kubernetes objects), with why. */
  skipped: { source: string; reason: string }[]
}

// ---------------------------------------------------------------- AWS IAM

export interface PolicyDocumentRef {
  name: string
  /** Managed policy ARN, or `inline:<entity>/<name>`. */
  id: string
  document: Record<string, unknown>
  compiled: CompiledPolicy | undefined
  /** Size in characters of the JSON text without whitespace outside strings (IAM's quota measure). */
  size: number
  error?: string
}

export interface IamRole {
  arn: string
  name: string
  accountId: string
  partition: string
  path: string
  createDate?: Date
  trust: PolicyDocumentRef
  inline: PolicyDocumentRef[]
  attached: string[]
  boundaryArn?: string
  instanceProfiles: string[]
  lastUsed?: Date
  lastUsedKnown: boolean
  tags: Record<string, string>
}

export interface IamUser {
  arn: string
  name: string
  accountId: string
  inline: PolicyDocumentRef[]
  attached: string[]
  groups: string[]
  boundaryArn?: string
}

export interface IamGroup {
  arn: string
  name: string
  inline: PolicyDocumentRef[]
  attached: string[]
}

export interface ManagedPolicy {
  arn: string
  name: string
  defaultVersion: PolicyDocumentRef | undefined
}

export interface IamInventory {
  roles: Map<string, IamRole>
  users: Map<string, IamUser>
  groups: Map<string, IamGroup>
  policies: Map<string, ManagedPolicy>
  accounts: Set<string>
  /** Problems met while reading (bad documents); the scan goes on without them. */
  warnings: string[]
}

export interface OidcProvider {
  arn: string
  /** Issuer URL without `https://`, as IAM keys its condition keys. */
  url: string
  clientIds: string[]
  thumbprints: string[]
}

export interface PodIdentityAssociation {
  clusterName: string
  clusterArn?: string
  namespace: string
  serviceAccount: string
  roleArn: string
  targetRoleArn?: string
  externalId?: string
  disableSessionTags: boolean
  associationId?: string
}

export interface NodeInfo {
  name: string
  httpTokens: 'required' | 'optional'
  httpEndpoint: 'enabled' | 'disabled'
  hopLimit: number
  instanceProfileArn?: string
  /** The role the node's metadata endpoint vends directly (podtrust's IMDS: `--imds-role`). */
  roleArn?: string
}

export interface AccessKeyInfo {
  userName: string
  accessKeyId: string
  status: 'Active' | 'Inactive'
  createDate?: Date
  lastUsed?: Date
}

/** An Azure federated identity credential on an app or user-assigned identity. */
export interface AzureFederatedCredential {
  identity: string
  /** The identity's client (application) id; empty when the input does not say (AZ-005 then skips it). */
  clientId: string
  /** ARM resource id of the user-assigned identity, when known (links role assignments through `principalId`). */
  identityId?: string
  /** The identity's service principal object id (role assignments name it), when known. */
  principalId?: string
  name: string
  issuer: string
  subject?: string
  claimsMatchingExpression?: string
  audiences: string[]
}

/** A user-assigned managed identity (`az identity list`) or app (`az ad app list` / service principal). */
export interface AzureIdentity {
  name: string
  id?: string
  clientId: string
  principalId?: string
}

/** An Azure RBAC role assignment (`az role assignment list`, ARM `roleAssignments`). */
export interface AzureRoleAssignment {
  principalId: string
  principalType?: string
  roleDefinitionId: string
  roleDefinitionName?: string
  scope: string
  condition?: string
}

/** An Azure role definition (`az role definition list`): the permission lists the checks read. */
export interface AzureRoleDefinition {
  id: string
  roleName: string
  actions: string[]
  notActions: string[]
}

/** An AKS cluster (`az aks show` / `az aks list`): its issuer and kubelet (node) identity. */
export interface AksCluster {
  name: string
  id?: string
  issuerUrl?: string
  kubeletIdentity?: { clientId?: string; objectId?: string; resourceId?: string }
}

export interface AzureSideInputs {
  identities?: AzureIdentity[]
  roleAssignments?: AzureRoleAssignment[]
  roleDefinitions?: AzureRoleDefinition[]
  clusters?: AksCluster[]
}

export interface GcpProvider {
  /** `projects/N/locations/global/workloadIdentityPools/POOL/providers/P`. */
  name: string
  issuerUri: string
  allowedAudiences: string[]
  /** `google.subject`, `attribute.*` → CEL expression; absent when the input does not carry it. */
  attributeMapping?: Record<string, string>
  attributeCondition?: string
  disabled: boolean
}

export interface GcpBinding {
  role: string
  members: string[]
  /** An IAM condition (`condition.expression`) narrows the binding; checks then say "conditional". */
  condition?: string
}

export interface GcpServiceAccountPolicy {
  email: string
  /** The project id, for `serviceAccount:PROJECT.svc.id.goog[ns/ksa]` members. */
  projectId: string
  bindings: GcpBinding[]
}

/** A project's (or folder's, organization's) IAM policy: `gcloud projects get-iam-policy`. */
export interface GcpResourcePolicy {
  /** `projects/ID`, `folders/N` or `organizations/N`. */
  resource: string
  bindings: GcpBinding[]
}

/** A GKE cluster (`gcloud container clusters list|describe --format=json`). */
export interface GkeCluster {
  name: string
  location?: string
  /** `workloadIdentityConfig.workloadPool` (`PROJECT.svc.id.goog`); absent: Workload Identity disabled. */
  workloadPool?: string
  nodePools: { name: string; metadataMode?: string; serviceAccount?: string }[]
}

/** The keys one cluster's issuer publishes (`kubectl get --raw /openid/v1/jwks`). */
export interface ClusterJwks {
  cluster: string
  issuer?: string
  /** RFC 7638 thumbprints of the public keys, with their `kid`s. */
  keys: { kid?: string; thumbprint: string }[]
}

export interface AwsSideInputs {
  /** Azure and GCP federation (from files or podtrust's store); absent: AZ-* and GCP-* checks are skipped. */
  azure?: AzureFederatedCredential[]
  azureDirectory?: AzureSideInputs
  gcp?: {
    providers: GcpProvider[]
    serviceAccounts: GcpServiceAccountPolicy[]
    /** False when no service-account IAM policy was supplied (GCP-007 then skips, never guesses). */
    serviceAccountsKnown?: boolean
    resourcePolicies?: GcpResourcePolicy[]
    clusters?: GkeCluster[]
  }
  /** Every cluster's JWKS. */
  clusterJwks?: ClusterJwks[]
  /** Absent: not supplied (checks that need them are skipped, never guessed). */
  oidcProviders?: OidcProvider[]
  associations?: PodIdentityAssociation[]
  nodes?: NodeInfo[]
  accessKeys?: AccessKeyInfo[]
}

export interface ScanInputs {
  kube: KubeInventory
  iam: IamInventory
  side: AwsSideInputs
}

// ---------------------------------------------------------------- results

export type CredentialSource =
  | 'env-keys'
  | 'shared-credentials-file'
  | 'irsa'
  | 'pod-identity'
  | 'kube2iam'
  | 'node-imds'
  | 'none'

export interface Workload {
  /** `namespace/name` of the pod, or of the workload whose pod template this is (see `kind`). */
  pod: string
  serviceAccount: string
  /** Roles the pod can obtain: IRSA-reachable by evaluation, its Pod Identity association, kube2iam role. */
  roles: string[]
  /** What the AWS SDK in the pod really uses (botocore; `credentialSourceBySdk` when JS v3 differs). */
  credentialSource: CredentialSource
  credentialSourceBySdk: { python: CredentialSource; javascript: CredentialSource }
  nodeRoles: string[]
  /** `Pod` for a live pod, else the workload kind (Deployment, CronJob, …) whose template this is. */
  kind: string
}

export interface RolePermissionSummary {
  role: string
  /** Notable actions the role allows on any resource (privilege escalation, data access, admin). */
  unrestricted: string[]
  admin: boolean
  privilegeEscalation: string[]
}

export interface ScanReport {
  findings: ScanFinding[]
  workloads: Workload[]
  permissions: RolePermissionSummary[]
  /** Reachability edges: `namespace/serviceaccount` → role ARN, with the mechanism. */
  edges: {
    serviceAccount: string
    role: string
    via: 'irsa' | 'pod-identity' | 'kube2iam' | 'chain'
  }[]
  stats: {
    serviceAccounts: number
    pods: number
    roles: number
    trustEvaluations: number
    skippedDocuments: { source: string; reason: string }[]
    warnings: string[]
  }
}
