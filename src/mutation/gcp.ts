/**
 * @module mutation/gcp
 * Google workload identity federation for pods outside GKE (podtrust's own design; GKE itself uses its
 * metadata server, so there is no reference webhook). A ServiceAccount annotated with a workload identity
 * pool provider gets:
 * - a projected token with the provider's audience `//iam.googleapis.com/<provider name>`,
 * - the `external_account` credential configuration mounted from a ConfigMap that
 *   `podtrust gcp cred-config --configmap` generates ahead of time (the webhook only mounts it, so it keeps
 *   `sideEffects: None` and read-only RBAC; the endpoints inside are the generator's business),
 * - `GOOGLE_APPLICATION_CREDENTIALS` and, where the project is annotated, `GOOGLE_CLOUD_PROJECT`.
 */
import {
  GCP_ANNOTATIONS,
  GCP_CONFIGMAP_PREFIX,
  GCP_CREDENTIAL_CONFIG_KEY,
  GCP_CREDENTIALS_VOLUME_NAME,
  GCP_ENV,
  GCP_PROVIDER_PATTERN,
  GCP_TOKEN_PATH,
  GCP_TOKEN_VOLUME_NAME,
  MIN_TOKEN_EXPIRATION,
  PODTRUST_PREFIX,
} from './constants.ts'
import { quoteValue } from './parse.ts'
import { appendEnvIfAbsent, appendMountIfAbsent, goJoin, windowsPath } from './pod.ts'
import type { Container, GcpMutationConfig, ServiceAccount, Volume } from './types.ts'
import { annotationKeyWarnings, type Warnings } from './warnings.ts'

/** Kubernetes object names (ConfigMaps): a DNS-1123 subdomain. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_SUBDOMAIN = 253
/** GCP project ids (6–30 chars) or numbers. */
const PROJECT = /^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[1-9][0-9]{0,18})$/
const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,255}$/

export interface GcpDecision {
  audience: string
  configMapName: string
  project: string | undefined
  expiration: number
  tokenMountPath: string
  credentialsMountPath: string
}

/** Accepts the provider's resource name with or without `//iam.googleapis.com/`. */
function providerName(value: string): string {
  const trimmed = value.trim()
  return trimmed.startsWith('//iam.googleapis.com/')
    ? trimmed.slice('//iam.googleapis.com/'.length)
    : trimmed
}

export function isDnsSubdomain(name: string): boolean {
  return name.length <= MAX_SUBDOMAIN && DNS_SUBDOMAIN.test(name)
}

/** Typo warnings for `podtrust.io/*` and `iam.gke.io/*` keys on the ServiceAccount. */
export function gcpAnnotationWarnings(
  saAnnotations: Readonly<Record<string, string>>,
  warnings: Warnings,
): void {
  const keys = Object.keys(saAnnotations)
  const podtrustNames = [
    GCP_ANNOTATIONS.provider,
    GCP_ANNOTATIONS.project,
    GCP_ANNOTATIONS.credentialConfigMap,
  ].map((k) => k.slice(PODTRUST_PREFIX.length + 1))
  for (const w of annotationKeyWarnings(keys, {
    prefix: PODTRUST_PREFIX,
    here: podtrustNames,
    elsewhere: [],
    object: 'ServiceAccount',
    other: 'pod',
    // Only `gcp-*` names are this module's; other podtrust.io keys belong elsewhere.
    ignore: (name) => !name.toLowerCase().startsWith('gcp'),
  })) {
    warnings.add(w)
  }
  for (const w of annotationKeyWarnings(keys, {
    prefix: 'iam.gke.io',
    here: ['gcp-service-account'],
    elsewhere: [],
    object: 'ServiceAccount',
    other: 'pod',
  })) {
    warnings.add(w)
  }
}

/** The GCP wiring the ServiceAccount asks for, or undefined (with warnings when it asks wrongly). */
export function decideGcp(
  serviceAccount: ServiceAccount | undefined,
  saAnnotations: Readonly<Record<string, string>>,
  config: GcpMutationConfig,
  warnings: Warnings,
): GcpDecision | undefined {
  if (serviceAccount === undefined) return undefined
  const providerValue = saAnnotations[GCP_ANNOTATIONS.provider]
  const email = saAnnotations[GCP_ANNOTATIONS.serviceAccount]
  if (providerValue === undefined) return undefined
  const provider = providerName(providerValue)
  if (!GCP_PROVIDER_PATTERN.test(provider)) {
    warnings.add(
      `annotation "${GCP_ANNOTATIONS.provider}" value ${quoteValue(providerValue)} is not a provider name (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER); GCP credentials not injected`,
    )
    return undefined
  }
  if (email !== undefined && !EMAIL.test(email)) {
    warnings.add(
      `annotation "${GCP_ANNOTATIONS.serviceAccount}" value ${quoteValue(email)} is not a service account email`,
    )
  }
  const configMapName =
    saAnnotations[GCP_ANNOTATIONS.credentialConfigMap] ??
    `${GCP_CONFIGMAP_PREFIX}${serviceAccount.metadata.name}`
  if (!isDnsSubdomain(configMapName)) {
    warnings.add(
      `credential ConfigMap name ${quoteValue(configMapName)} is not a valid object name; set "${GCP_ANNOTATIONS.credentialConfigMap}"; GCP credentials not injected`,
    )
    return undefined
  }
  const projectValue = saAnnotations[GCP_ANNOTATIONS.project]
  let project: string | undefined
  if (projectValue !== undefined && projectValue !== '') {
    if (PROJECT.test(projectValue)) project = projectValue
    else
      warnings.add(
        `annotation "${GCP_ANNOTATIONS.project}" value ${quoteValue(projectValue)} is not a project id; GOOGLE_CLOUD_PROJECT not set`,
      )
  }
  const seconds = Number.isSafeInteger(config.tokenExpiration) ? config.tokenExpiration : 3600
  return {
    audience: `//iam.googleapis.com/${provider}`,
    configMapName,
    project,
    expiration: Math.max(seconds, MIN_TOKEN_EXPIRATION),
    tokenMountPath: config.tokenMountPath,
    credentialsMountPath: config.credentialsMountPath,
  }
}

/** The token and credential-configuration volumes. */
export function gcpVolumes(decision: GcpDecision): Volume[] {
  return [
    {
      name: GCP_TOKEN_VOLUME_NAME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: decision.audience,
              expirationSeconds: decision.expiration,
              path: GCP_TOKEN_PATH,
            },
          },
        ],
      },
    },
    {
      name: GCP_CREDENTIALS_VOLUME_NAME,
      configMap: {
        name: decision.configMapName,
        items: [{ key: GCP_CREDENTIAL_CONFIG_KEY, path: GCP_CREDENTIAL_CONFIG_KEY }],
      },
    },
  ]
}

/** Env (never overwritten) and the two read-only mounts on one container copy. */
export function mutateGcpContainer(
  container: Container,
  decision: GcpDecision,
  windows: boolean,
): void {
  const file = goJoin(decision.credentialsMountPath, GCP_CREDENTIAL_CONFIG_KEY)
  appendEnvIfAbsent(container, GCP_ENV.applicationCredentials, windows ? windowsPath(file) : file)
  if (decision.project !== undefined)
    appendEnvIfAbsent(container, GCP_ENV.cloudProject, decision.project)
  appendMountIfAbsent(container, GCP_TOKEN_VOLUME_NAME, decision.tokenMountPath)
  appendMountIfAbsent(container, GCP_CREDENTIALS_VOLUME_NAME, decision.credentialsMountPath)
}
