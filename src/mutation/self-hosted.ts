/**
 * @module mutation/self-hosted
 * Self-hosted mode (`config.selfHosted`, off by default): point pods at podtrust itself instead of AWS or
 * Entra, and make them trust podtrust's CA. Every addition is appended only when the pod does not set the
 * variable already; with the mode off nothing here runs, so the reference-exact patches are unchanged.
 * - IRSA: `AWS_ENDPOINT_URL_STS` = the endpoint (+ `AWS_CA_BUNDLE` for https).
 * - Pod Identity: `AWS_CONTAINER_CREDENTIALS_FULL_URI` = the agent URL (+ `AWS_CA_BUNDLE` for https).
 * - Azure: `AZURE_AUTHORITY_HOST` = endpoint + `/` (+ the CA-trust variables for https).
 * - GCP: the CA-trust variables for https; the endpoints live in the credential configuration, which
 *   `podtrust gcp cred-config --url` writes (the webhook only mounts it).
 */
import {
  AWS_ENV,
  CA_CONFIGMAP_KEY,
  CA_FILE,
  CA_MOUNT_PATH,
  CA_TRUST_ENV,
  CA_VOLUME_NAME,
  DEFAULT_CA_CONFIGMAP,
} from './constants.ts'
import { appendEnvIfAbsent, appendMountIfAbsent, windowsPath } from './pod.ts'
import type { Container, SelfHostedConfig, Volume } from './types.ts'
import type { Warnings } from './warnings.ts'

/** What self-hosted mode adds to each mutated container of one mode. */
export interface SelfHostedPlan {
  env: { name: string; value: string }[]
  /** Mount the CA ConfigMap (the endpoint is https). */
  ca: boolean
}

function isHttps(url: string): boolean {
  return url.toLowerCase().startsWith('https://')
}

/** A usable http(s) URL without a trailing slash, or undefined with a warning. */
export function selfHostedEndpoint(
  selfHosted: SelfHostedConfig,
  warnings: Warnings,
): string | undefined {
  return checkedUrl(selfHosted.endpoint, 'self-hosted endpoint', warnings)
}

function checkedUrl(value: unknown, what: string, warnings: Warnings): string | undefined {
  if (typeof value !== 'string') return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    warnings.add(`${what} "${value.slice(0, 80)}" is not a URL; self-hosted additions skipped`)
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    warnings.add(`${what} "${value.slice(0, 80)}" is not http(s); self-hosted additions skipped`)
    return undefined
  }
  return value.replace(/\/+$/, '')
}

function caTrust(windows: boolean): { name: string; value: string }[] {
  const file = windows ? windowsPath(CA_FILE) : CA_FILE
  return CA_TRUST_ENV.map((name) => ({ name, value: file }))
}

/** IRSA: STS at podtrust. */
export function irsaPlan(
  selfHosted: SelfHostedConfig,
  windows: boolean,
  warnings: Warnings,
): SelfHostedPlan {
  const endpoint = selfHostedEndpoint(selfHosted, warnings)
  if (endpoint === undefined) return { env: [], ca: false }
  const env: { name: string; value: string }[] = [{ name: AWS_ENV.endpointUrlSts, value: endpoint }]
  const ca = isHttps(endpoint)
  if (ca) env.push({ name: AWS_ENV.caBundle, value: windows ? windowsPath(CA_FILE) : CA_FILE })
  return { env, ca }
}

/** Pod Identity: the agent URL replaces `--container-credentials-full-uri`; CA trust for an https agent. */
export function podIdentityAgentUrl(
  selfHosted: SelfHostedConfig,
  fallback: string,
  warnings: Warnings,
): string {
  if (selfHosted.agentUrl === undefined) return fallback
  return checkedUrl(selfHosted.agentUrl, 'self-hosted agent URL', warnings) ?? fallback
}

export function podIdentityPlan(agentUrl: string, windows: boolean): SelfHostedPlan {
  const ca = isHttps(agentUrl)
  return {
    env: ca ? [{ name: AWS_ENV.caBundle, value: windows ? windowsPath(CA_FILE) : CA_FILE }] : [],
    ca,
  }
}

/** Azure: the authority host (trailing slash, as the cloud hosts) and CA trust for https. */
export function azureAuthorityFor(
  selfHosted: SelfHostedConfig,
  warnings: Warnings,
): string | undefined {
  const endpoint = selfHostedEndpoint(selfHosted, warnings)
  return endpoint === undefined ? undefined : `${endpoint}/`
}

/** CA trust only (Azure and GCP): for an https endpoint. */
export function caTrustPlan(
  selfHosted: SelfHostedConfig,
  windows: boolean,
  warnings: Warnings,
): SelfHostedPlan {
  const endpoint = selfHostedEndpoint(selfHosted, warnings)
  if (endpoint === undefined || !isHttps(endpoint)) return { env: [], ca: false }
  return { env: caTrust(windows), ca: true }
}

/** Appends the plan's env (never overwriting) and the CA mount to one container copy. */
export function applySelfHostedPlan(container: Container, plan: SelfHostedPlan): void {
  for (const { name, value } of plan.env) appendEnvIfAbsent(container, name, value)
  if (plan.ca) appendMountIfAbsent(container, CA_VOLUME_NAME, CA_MOUNT_PATH)
}

/** The CA ConfigMap volume (key `ca.crt`). */
export function caVolume(selfHosted: SelfHostedConfig): Volume {
  const name =
    typeof selfHosted.caConfigMap === 'string' && selfHosted.caConfigMap !== ''
      ? selfHosted.caConfigMap
      : DEFAULT_CA_CONFIGMAP
  return {
    name: CA_VOLUME_NAME,
    configMap: { name, items: [{ key: CA_CONFIGMAP_KEY, path: CA_CONFIGMAP_KEY }] },
  }
}
