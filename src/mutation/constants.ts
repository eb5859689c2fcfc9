/**
 * @module mutation/constants
 * Every annotation, label, env var, volume name and path the pod mutation reads or writes. The AWS and Azure
 * values are the reference webhooks' (https://github.com/aws/amazon-eks-pod-identity-webhook,
 * https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html); the GCP
 * and self-hosted ones are podtrust's own (docs/webhook.md).
 */

// ---- AWS (aws/amazon-eks-pod-identity-webhook) -------------------------------------------------------

/** The default `--annotation-prefix`; every IRSA annotation key is `<prefix>/<name>`. */
export const AWS_ANNOTATION_PREFIX = 'eks.amazonaws.com'

/** IRSA annotation names (after `<prefix>/`). */
export const AWS_ANNOTATIONS = {
  roleArn: 'role-arn',
  audience: 'audience',
  stsRegionalEndpoints: 'sts-regional-endpoints',
  tokenExpiration: 'token-expiration',
  skipContainers: 'skip-containers',
} as const

/** Read on the ServiceAccount. */
export const AWS_SA_ANNOTATIONS = [
  'role-arn',
  'audience',
  'sts-regional-endpoints',
  'token-expiration',
]
/** Read on the pod. */
export const AWS_POD_ANNOTATIONS = ['token-expiration', 'skip-containers']

/** The objectSelector label: a pod carrying this key is never sent to `/mutate`. */
export const AWS_SKIP_LABEL = 'eks.amazonaws.com/skip-pod-identity-webhook'
/** Added to Pod Identity pods (reference since v0.6.15); not prefix-dependent in the reference. */
export const POD_IDENTITY_LABEL = 'eks.amazonaws.com/pod-identity'
export const POD_IDENTITY_LABEL_VALUE = 'enabled'

/** IRSA's projected volume: name and token file are hard-coded in the reference. */
export const IRSA_VOLUME_NAME = 'aws-iam-token'
export const IRSA_TOKEN_PATH = 'token'

export const DEFAULT_TOKEN_AUDIENCE = 'sts.amazonaws.com'
export const DEFAULT_TOKEN_MOUNT_PATH = '/var/run/secrets/eks.amazonaws.com/serviceaccount'
/** Seconds. */
export const DEFAULT_TOKEN_EXPIRATION = 86_400
/** Seconds; shorter values are clamped up to this (`pkg/validation.go#ValidateMinTokenExpiration`). */
export const MIN_TOKEN_EXPIRATION = 600
/** Pod Identity jitter: a default 86400 s token becomes 79200 + [0, 7200] s. */
export const POD_IDENTITY_JITTER_BASE = 79_200
export const POD_IDENTITY_JITTER_SPAN = 7_201

export const DEFAULT_CONTAINER_CREDENTIALS = {
  audience: 'pods.eks.amazonaws.com',
  mountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
  volumeName: 'eks-pod-identity-token',
  tokenPath: 'eks-pod-identity-token',
  fullUri: 'http://169.254.170.23/v1/credentials',
} as const

export const AWS_ENV = {
  stsRegionalEndpoints: 'AWS_STS_REGIONAL_ENDPOINTS',
  defaultRegion: 'AWS_DEFAULT_REGION',
  region: 'AWS_REGION',
  roleArn: 'AWS_ROLE_ARN',
  webIdentityTokenFile: 'AWS_WEB_IDENTITY_TOKEN_FILE',
  containerCredentialsFullUri: 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  containerAuthorizationTokenFile: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  /** Self-hosted mode only. */
  endpointUrlSts: 'AWS_ENDPOINT_URL_STS',
  /** Self-hosted mode only, for an https endpoint. */
  caBundle: 'AWS_CA_BUNDLE',
} as const

/** The reference's role ARN check; a mismatch only warns (`pkg/cache/cache.go#addSA`). */
export const ROLE_ARN_PATTERN = /^arn:aws[a-z0-9-]*:iam::\d{12}:role\/[\w\-/.@+=,]+$/

// ---- Azure (Azure/azure-workload-identity v1.6.0) ----------------------------------------------------

export const AZURE_PREFIX = 'azure.workload.identity'
/** The pod label the reference's objectSelector requires, with value `"true"`. */
export const AZURE_USE_LABEL = 'azure.workload.identity/use'
export const AZURE_USE_LABEL_VALUE = 'true'

export const AZURE_ANNOTATIONS = {
  clientId: 'azure.workload.identity/client-id',
  tenantId: 'azure.workload.identity/tenant-id',
  tokenExpiration: 'azure.workload.identity/service-account-token-expiration',
  skipContainers: 'azure.workload.identity/skip-containers',
  injectProxySidecar: 'azure.workload.identity/inject-proxy-sidecar',
  proxySidecarPort: 'azure.workload.identity/proxy-sidecar-port',
} as const

export const AZURE_SA_ANNOTATIONS = [
  AZURE_ANNOTATIONS.clientId,
  AZURE_ANNOTATIONS.tenantId,
  AZURE_ANNOTATIONS.tokenExpiration,
]
export const AZURE_POD_ANNOTATIONS = [
  AZURE_ANNOTATIONS.tokenExpiration,
  AZURE_ANNOTATIONS.skipContainers,
  AZURE_ANNOTATIONS.injectProxySidecar,
  AZURE_ANNOTATIONS.proxySidecarPort,
]

export const AZURE_DEFAULT_AUDIENCE = 'api://AzureADTokenExchange'
/** Seconds: default, and the accepted range (outside it the pod is denied). */
export const AZURE_TOKEN_EXPIRATION = { default: 3600, min: 3600, max: 86_400 } as const

/** The reference's proxy sidecar names; podtrust does not inject it (a warning says so). */
export const AZURE_PROXY = {
  defaultPort: 8000,
  initContainerName: 'azwi-proxy-init',
  sidecarName: 'azwi-proxy',
  portEnv: 'PROXY_PORT',
} as const

/** v1.6.0: the volume name is this prefix + the first 30 hex chars of sha256(podName) (63 chars). */
export const AZURE_VOLUME_NAME_PREFIX = 'azure-workload-identity-reserved-'
export const AZURE_MAX_VOLUME_NAME = 63

/** The two token layouts (`tokenLayout`), D.4. */
export const AZURE_LAYOUTS = {
  'v1.6': {
    mountPath: '/var/run/secrets/azure/wi',
    tokenPath: 'token/azure-identity-token',
    tokenFile: '/var/run/secrets/azure/wi/token/azure-identity-token',
  },
  'v1.5': {
    volumeName: 'azure-identity-token',
    mountPath: '/var/run/secrets/azure/tokens',
    tokenPath: 'azure-identity-token',
    tokenFile: '/var/run/secrets/azure/tokens/azure-identity-token',
  },
} as const

export const AZURE_ENV = {
  clientId: 'AZURE_CLIENT_ID',
  tenantId: 'AZURE_TENANT_ID',
  federatedTokenFile: 'AZURE_FEDERATED_TOKEN_FILE',
  authorityHost: 'AZURE_AUTHORITY_HOST',
} as const

/** `AZURE_ENVIRONMENT` → the Entra authority host (go-autorest `ActiveDirectoryEndpoint`). */
export const AZURE_AUTHORITY_HOSTS: Readonly<Record<string, string>> = {
  AzurePublicCloud: 'https://login.microsoftonline.com/',
  AzureUSGovernmentCloud: 'https://login.microsoftonline.us/',
  AzureChinaCloud: 'https://login.chinacloudapi.cn/',
  AzureGermanCloud: 'https://login.microsoftonline.de/',
}

// ---- GCP (podtrust's own design; GKE itself uses the metadata server) --------------------------------

export const GCP_ANNOTATIONS = {
  /** SA: the Google service account email (same key as GKE's Workload Identity). */
  serviceAccount: 'iam.gke.io/gcp-service-account',
  /** SA: `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`. */
  provider: 'podtrust.io/gcp-workload-identity-provider',
  /** SA, optional: `GOOGLE_CLOUD_PROJECT`. */
  project: 'podtrust.io/gcp-project',
  /** SA, optional: the credential-configuration ConfigMap; default `podtrust-gcp-<SA name>`. */
  credentialConfigMap: 'podtrust.io/gcp-credential-configmap',
} as const

export const PODTRUST_PREFIX = 'podtrust.io'
export const GCP_CONFIGMAP_PREFIX = 'podtrust-gcp-'
/** The ConfigMap key `podtrust gcp cred-config --configmap` writes and the webhook mounts. */
export const GCP_CREDENTIAL_CONFIG_KEY = 'credential-configuration.json'
export const GCP_TOKEN_VOLUME_NAME = 'podtrust-gcp-token'
export const GCP_CREDENTIALS_VOLUME_NAME = 'podtrust-gcp-credentials'
export const GCP_TOKEN_PATH = 'token'
export const DEFAULT_GCP_TOKEN_MOUNT_PATH = '/var/run/secrets/podtrust.io/gcp'
export const DEFAULT_GCP_CREDENTIALS_MOUNT_PATH = '/etc/podtrust/gcp'
/** Seconds. */
export const DEFAULT_GCP_TOKEN_EXPIRATION = 3600
/** The projected token file with the default mount path: what the credential config's `credential_source.file` names. */
export const DEFAULT_GCP_TOKEN_FILE = `${DEFAULT_GCP_TOKEN_MOUNT_PATH}/${GCP_TOKEN_PATH}`
export const GCP_PROVIDER_PATTERN =
  /^projects\/[1-9][0-9]{0,18}\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/
export const GCP_ENV = {
  applicationCredentials: 'GOOGLE_APPLICATION_CREDENTIALS',
  cloudProject: 'GOOGLE_CLOUD_PROJECT',
} as const

// ---- Self-hosted mode (podtrust's own) ---------------------------------------------------------------

/** The CA ConfigMap volume (key `ca.crt`) mounted into pods that must trust podtrust's endpoint. */
export const CA_VOLUME_NAME = 'podtrust-ca'
export const CA_CONFIGMAP_KEY = 'ca.crt'
export const CA_MOUNT_PATH = '/etc/podtrust/ca'
export const CA_FILE = `${CA_MOUNT_PATH}/${CA_CONFIGMAP_KEY}`
export const DEFAULT_CA_CONFIGMAP = 'podtrust-ca'
/** The CA-trust variables Node.js, Python (requests) and OpenSSL/Go clients read. */
export const CA_TRUST_ENV = ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE'] as const
