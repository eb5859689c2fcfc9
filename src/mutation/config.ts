/**
 * @module mutation/config
 * The webhook's defaults (every reference flag's default) and the Azure authority-host table.
 */
import {
  AWS_ANNOTATION_PREFIX,
  AZURE_AUTHORITY_HOSTS,
  AZURE_DEFAULT_AUDIENCE,
  DEFAULT_CONTAINER_CREDENTIALS,
  DEFAULT_GCP_CREDENTIALS_MOUNT_PATH,
  DEFAULT_GCP_TOKEN_EXPIRATION,
  DEFAULT_GCP_TOKEN_MOUNT_PATH,
  DEFAULT_TOKEN_AUDIENCE,
  DEFAULT_TOKEN_EXPIRATION,
  DEFAULT_TOKEN_MOUNT_PATH,
} from './constants.ts'
import type { WebhookConfig } from './types.ts'

/**
 * A fresh config with the reference defaults: AWS flags as aws/amazon-eks-pod-identity-webhook's `main.go`,
 * Azure as azure-workload-identity v1.6.0 (public cloud, tenant unset), GCP as podtrust's, self-hosted off.
 *
 * @example
 * const config = defaultWebhookConfig()
 * config.aws.region = 'eu-west-1'
 */
export function defaultWebhookConfig(): WebhookConfig {
  return {
    aws: {
      annotationPrefix: AWS_ANNOTATION_PREFIX,
      tokenAudience: DEFAULT_TOKEN_AUDIENCE,
      tokenMountPath: DEFAULT_TOKEN_MOUNT_PATH,
      tokenExpiration: DEFAULT_TOKEN_EXPIRATION,
      region: '',
      regionalSts: false,
      containerCredentials: { ...DEFAULT_CONTAINER_CREDENTIALS },
    },
    azure: {
      tenantId: '',
      authorityHost: azureAuthorityHost(''),
      audience: AZURE_DEFAULT_AUDIENCE,
      tokenLayout: 'v1.6',
    },
    gcp: {
      tokenMountPath: DEFAULT_GCP_TOKEN_MOUNT_PATH,
      credentialsMountPath: DEFAULT_GCP_CREDENTIALS_MOUNT_PATH,
      tokenExpiration: DEFAULT_GCP_TOKEN_EXPIRATION,
    },
  }
}

/** go-autorest's `EnvironmentFromName` upper-cases the name and also knows these aliases. */
const AZURE_ENVIRONMENT_ALIASES: Readonly<Record<string, string>> = {
  AZURECLOUD: 'AzurePublicCloud',
  AZUREUSGOVERNMENT: 'AzureUSGovernmentCloud',
}

/**
 * `AZURE_ENVIRONMENT` → `AZURE_AUTHORITY_HOST`, as the reference's `getAzureAuthorityHost`: empty means the
 * public cloud; names match case-insensitively (go-autorest upper-cases them), with its two aliases.
 *
 * @throws TypeError for an unknown environment (a startup error in the reference).
 * @example azureAuthorityHost('AzureChinaCloud') // 'https://login.chinacloudapi.cn/'
 */
export function azureAuthorityHost(environment: string): string {
  if (environment === '') return AZURE_AUTHORITY_HOSTS['AzurePublicCloud'] as string
  const upper = environment.toUpperCase()
  const canonical =
    AZURE_ENVIRONMENT_ALIASES[upper] ??
    Object.keys(AZURE_AUTHORITY_HOSTS).find((name) => name.toUpperCase() === upper)
  const host = canonical === undefined ? undefined : AZURE_AUTHORITY_HOSTS[canonical]
  if (host === undefined) {
    throw new TypeError(
      `unknown Azure environment '${environment.slice(0, 64)}': expected one of ${Object.keys(AZURE_AUTHORITY_HOSTS).join(', ')}`,
    )
  }
  return host
}
