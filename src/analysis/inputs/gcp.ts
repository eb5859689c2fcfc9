/**
 * @module analysis/inputs/gcp
 * Google Cloud exports as `podtrust scan` reads them, in the shapes gcloud prints with `--format=json` and the REST
 * APIs return:
 * - workload identity pools and providers: `gcloud iam workload-identity-pools list` and `… providers list`
 *   (IAM v1 `WorkloadIdentityPool` / `WorkloadIdentityPoolProvider`: `name`, `disabled`, `state`,
 *   `attributeMapping`, `attributeCondition`, `oidc.issuerUri`, `oidc.allowedAudiences`; REST lists wrap them in
 *   `workloadIdentityPools` / `workloadIdentityPoolProviders`), in one file or several;
 * - IAM policies: `gcloud projects get-iam-policy` / `gcloud iam service-accounts get-iam-policy` (`Policy`:
 *   `bindings[].role`, `members`, `condition.expression`), named by the resource they belong to
 *   (`projects/ID=FILE`, `serviceAccounts/EMAIL=FILE`): a policy does not say whose it is;
 * - GKE clusters: `gcloud container clusters list|describe` (`workloadIdentityConfig.workloadPool`,
 *   `nodePools[].config.workloadMetadataConfig.mode`, `…config.serviceAccount`, `autopilot.enabled`).
 * References: https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers,
 * https://cloud.google.com/iam/docs/reference/rest/v1/Policy,
 * https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters.
 */
import type { GcpBinding, GcpProvider, GkeCluster } from '../model.ts'
import { isObject, join, JsonReader } from './json-path.ts'

const POOL_NAME = /^projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+$/
const PROVIDER_NAME =
  /^(projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+)\/providers\/[^/]+$/

/** Providers (OIDC only: the Kubernetes case); pools in the same input disable their providers when disabled. */
export function parseGcpProviders(json: unknown, source: string): GcpProvider[] {
  const r: JsonReader = new JsonReader(source)
  const disabledPools = new Set<string>()
  const providers: GcpProvider[] = []
  const all = r.items(
    json,
    ['workloadIdentityPoolProviders', 'workloadIdentityPools'],
    'workload identity pools or providers',
  )
  for (const { item, path } of all) {
    const obj = r.object(item, path)
    const name = r.string(obj, 'name', path)
    const deleted = obj.state === 'DELETED'
    if (POOL_NAME.test(name)) {
      if (obj.disabled === true || deleted) disabledPools.add(name)
      continue
    }
    if (!PROVIDER_NAME.test(name))
      r.fail(
        join(path, 'name'),
        `'${name}' is not projects/N/locations/global/workloadIdentityPools/POOL[/providers/ID]`,
      )
    if (obj.oidc === undefined) continue // AWS, SAML and X.509 providers do not take Kubernetes tokens.
    const oidc = r.object(obj.oidc, join(path, 'oidc'))
    const provider: GcpProvider = {
      name,
      issuerUri: r.string(oidc, 'issuerUri', join(path, 'oidc')),
      allowedAudiences: r.strings(oidc, 'allowedAudiences', join(path, 'oidc')),
      disabled: obj.disabled === true || deleted,
    }
    if (obj.attributeMapping !== undefined) {
      const m = r.object(obj.attributeMapping, join(path, 'attributeMapping'))
      const mapping: Record<string, string> = {}
      for (const k of Object.keys(m)) mapping[k] = r.string(m, k, join(path, 'attributeMapping'))
      provider.attributeMapping = mapping
    }
    const condition = r.optionalString(obj, 'attributeCondition', path)
    if (condition !== undefined) provider.attributeCondition = condition
    providers.push(provider)
  }
  for (const p of providers)
    if (disabledPools.has(PROVIDER_NAME.exec(p.name)![1]!)) p.disabled = true
  return providers
}

/** `Policy.bindings` of one resource's IAM policy. */
export function parseGcpPolicy(json: unknown, source: string): GcpBinding[] {
  const r: JsonReader = new JsonReader(source)
  const policy = r.object(json, '')
  const bindings = policy.bindings
  if (bindings === undefined) return [] // an empty policy has no bindings key.
  if (!Array.isArray(bindings)) r.fail('bindings', 'expected an array')
  return bindings.map((b, i) => {
    const path = `bindings[${i}]`
    const obj = r.object(b, path)
    const binding: GcpBinding = {
      role: r.string(obj, 'role', path),
      members: r.strings(obj, 'members', path, true),
    }
    if (obj.condition !== undefined && obj.condition !== null) {
      const c = r.object(obj.condition, join(path, 'condition'))
      binding.condition = r.string(c, 'expression', join(path, 'condition'))
    }
    return binding
  })
}

export type GcpPolicyOwner =
  | { kind: 'serviceAccount'; email: string; projectId: string }
  | { kind: 'resource'; resource: string }

/**
 * `projects/ID`, `folders/N`, `organizations/N`, `serviceAccounts/EMAIL` or `projects/ID/serviceAccounts/EMAIL`;
 * a service account's project is the one in its email (`NAME@PROJECT.iam.gserviceaccount.com`).
 */
export function parseGcpPolicyOwner(value: string): GcpPolicyOwner | undefined {
  const sa =
    /^(?:projects\/([^/]+)\/)?serviceAccounts\/([^/@]+@([^/.]+)\.iam\.gserviceaccount\.com)$/.exec(
      value,
    )
  if (sa !== null)
    return {
      kind: 'serviceAccount',
      email: sa[2]!,
      projectId: sa[1] !== undefined && sa[1] !== '-' ? sa[1] : sa[3]!,
    }
  if (/^(projects|folders|organizations)\/[^/]+$/.test(value))
    return { kind: 'resource', resource: value }
  return undefined
}

/** Node pools that run the GKE metadata server: `GKE_METADATA` (Autopilot always does). */
export function parseGkeClusters(json: unknown, source: string): GkeCluster[] {
  const r: JsonReader = new JsonReader(source)
  return r.items(json, ['clusters'], 'GKE clusters').map(({ item, path }) => {
    const obj = r.object(item, path)
    const cluster: GkeCluster = { name: r.string(obj, 'name', path), nodePools: [] }
    const location = r.optionalString(obj, 'location', path)
    if (location !== undefined) cluster.location = location
    if (isObject(obj.workloadIdentityConfig)) {
      const pool = r.optionalString(
        obj.workloadIdentityConfig,
        'workloadPool',
        join(path, 'workloadIdentityConfig'),
      )
      if (pool !== undefined && pool !== '') cluster.workloadPool = pool
    }
    const autopilot = isObject(obj.autopilot) && obj.autopilot.enabled === true
    const pools = obj.nodePools === undefined ? [] : obj.nodePools
    if (!Array.isArray(pools)) r.fail(join(path, 'nodePools'), 'expected an array')
    pools.forEach((p, i) => {
      const pp = `${join(path, 'nodePools')}[${i}]`
      const pool = r.object(p, pp)
      const config = isObject(pool.config) ? pool.config : {}
      const meta = isObject(config.workloadMetadataConfig) ? config.workloadMetadataConfig : {}
      const mode = autopilot
        ? 'GKE_METADATA'
        : typeof meta.mode === 'string'
          ? meta.mode
          : undefined
      cluster.nodePools.push({
        name: r.string(pool, 'name', pp),
        ...(mode !== undefined ? { metadataMode: mode } : {}),
        ...(typeof config.serviceAccount === 'string'
          ? { serviceAccount: config.serviceAccount }
          : {}),
      })
    })
    return cluster
  })
}
