/**
 * @module mutation/types
 * The contract between the pure pod mutation (`src/mutation/`) and its callers: the admission server
 * (`src/kube/`), `podtrust webhook mutate` and the conformance runner. Pure data: no I/O, no clock; the
 * jitter random source is injected.
 */

/** One RFC 6902 operation, as the reference webhooks emit them. */
export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove'
  path: string
  value?: unknown
}

/** The parts of a Kubernetes object's metadata the mutation reads. Unknown fields are kept verbatim. */
export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [field: string]: unknown
}

/** A core/v1 Pod as decoded from the AdmissionRequest's `object` (JSON). */
export interface Pod {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  spec?: PodSpec
  [field: string]: unknown
}

export interface PodSpec {
  serviceAccountName?: string
  containers?: Container[]
  initContainers?: Container[]
  volumes?: Volume[]
  nodeSelector?: Record<string, string>
  [field: string]: unknown
}

export interface Container {
  name: string
  env?: EnvVar[]
  volumeMounts?: VolumeMount[]
  [field: string]: unknown
}

export interface EnvVar {
  name: string
  value?: string
  [field: string]: unknown
}

export interface VolumeMount {
  name: string
  mountPath: string
  readOnly?: boolean
  [field: string]: unknown
}

export interface Volume {
  name: string
  [field: string]: unknown
}

/** A core/v1 ServiceAccount; only metadata matters to the mutation. */
export interface ServiceAccount {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta & { name: string; namespace: string }
  [field: string]: unknown
}

/** One entry of the reference `pod-identity-webhook` ConfigMap (`--watch-config-map`), key `ns/sa` or `*\/sa`. */
export interface IrsaConfigMapEntry {
  RoleARN?: string
  Audience?: string
  UseRegionalSTS?: boolean
  /** Seconds; 0 means the flag default. */
  TokenExpiration?: number
}

/** The AWS side (`/mutate`): every flag of aws/amazon-eks-pod-identity-webhook, with the reference defaults. */
export interface AwsMutationConfig {
  /** `--annotation-prefix`, default `eks.amazonaws.com` (ServiceAccount and pod annotations). */
  annotationPrefix: string
  /** `--token-audience`, default `sts.amazonaws.com`. */
  tokenAudience: string
  /** `--token-mount-path`, default `/var/run/secrets/eks.amazonaws.com/serviceaccount`. */
  tokenMountPath: string
  /** `--token-expiration` in seconds, default 86400, clamped up to 600. */
  tokenExpiration: number
  /** `--aws-default-region`, default '' (no region variables injected). */
  region: string
  /** `--sts-regional-endpoint`, default false. */
  regionalSts: boolean
  /** `--compose-role-arn`: a role name without `arn:` becomes a role ARN in this partition/account. */
  composeRoleArn?: { partition: string; accountId: string }
  /** Pod Identity (container credentials) settings; the identities themselves come in the request. */
  containerCredentials: {
    /** `--container-credentials-audience`, default `pods.eks.amazonaws.com`. */
    audience: string
    /** `--container-credentials-token-mount-path`, default `/var/run/secrets/pods.eks.amazonaws.com/serviceaccount`. */
    mountPath: string
    /** `--container-credentials-token-volume-name`, default `eks-pod-identity-token`. */
    volumeName: string
    /** `--container-credentials-token-path`, default `eks-pod-identity-token`. */
    tokenPath: string
    /** `--container-credentials-full-uri`, default `http://169.254.170.23/v1/credentials`. */
    fullUri: string
  }
}

/** The Azure side (`/mutate-v1-pod`): Azure/azure-workload-identity v1.6.0's settings. */
export interface AzureMutationConfig {
  /** Webhook-wide `AZURE_TENANT_ID`, the fallback when the ServiceAccount has no tenant-id annotation. */
  tenantId: string
  /** `AZURE_AUTHORITY_HOST` injected into pods (from `AZURE_ENVIRONMENT`, or podtrust's endpoint in self-hosted mode). */
  authorityHost: string
  /** `--audience`, default `api://AzureADTokenExchange`. */
  audience: string
  /** Token volume layout: `v1.6` (default, reference v1.6.0) or `v1.5` (≤ v1.5.x paths and volume name). */
  tokenLayout: 'v1.5' | 'v1.6'
}

/** The GCP side (on `/mutate`, podtrust's own design: no reference webhook exists). */
export interface GcpMutationConfig {
  /** Where the projected token is mounted; default `/var/run/secrets/podtrust.io/gcp`. */
  tokenMountPath: string
  /** Where the credential-configuration ConfigMap is mounted; default `/etc/podtrust/gcp`. */
  credentialsMountPath: string
  /** Token lifetime in seconds, default 3600. */
  tokenExpiration: number
}

/** Self-hosted mode: point pods at podtrust itself. Absent (the default) leaves EKS/AKS/GKE pods unaffected. */
export interface SelfHostedConfig {
  /** podtrust's base URL as pods reach it, e.g. `https://podtrust.podtrust-system.svc:8443`. */
  endpoint: string
  /** The agent's container-credentials URL for Pod Identity pods; default the AWS one above. */
  agentUrl?: string
  /** Name of the ConfigMap (key `ca.crt`) holding podtrust's CA, mounted into pods that need to trust it. */
  caConfigMap: string
}

export interface WebhookConfig {
  aws: AwsMutationConfig
  azure: AzureMutationConfig
  gcp: GcpMutationConfig
  selfHosted?: SelfHostedConfig
}

export interface MutationRequest {
  /** Which registration called: `aws` = `/mutate` (IRSA, Pod Identity, GCP; fail-open), `azure` = `/mutate-v1-pod` (fail-closed). */
  endpoint: 'aws' | 'azure'
  /** The pod as sent in the AdmissionRequest. Never modified. */
  pod: Pod
  /** The AdmissionRequest's namespace (wins over the pod's). */
  namespace: string
  /** The pod's ServiceAccount; undefined when it could not be found (after the caller's grace period). */
  serviceAccount: ServiceAccount | undefined
  /** True when (namespace, serviceAccountName) has a Pod Identity association (file or podtrust's EKS API). */
  podIdentity: boolean
  /** Entries of the reference ConfigMap source (`--watch-config-map`), keyed `ns/sa` or `*\/sa`. */
  irsaConfigMap?: Readonly<Record<string, IrsaConfigMapEntry>>
  config: WebhookConfig
  /** Uniform in [0, 1): Pod Identity expiration jitter. The conformance harness passes `() => 0`. */
  random: () => number
}

/** Which identity path a mutation wired (metrics label and logs). */
export type MutationMode = 'irsa' | 'pod-identity' | 'azure' | 'gcp'

export type MutationResult =
  /** Mutate: `patch` may be a no-op patch (as the reference emits when nothing changed). */
  | { kind: 'patch'; patch: JsonPatchOperation[]; modes: MutationMode[]; warnings: string[] }
  /** Admit unmutated (no identity configured, SA not found on the fail-open path). */
  | { kind: 'allow'; reason: string; warnings: string[] }
  /** Deny with this message (Azure fail-closed rules: bad expiration, missing ServiceAccount). */
  | { kind: 'deny'; message: string; warnings: string[] }
