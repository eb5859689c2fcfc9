/**
 * @module mutation/azure
 * The `/mutate-v1-pod` endpoint (fail-closed), as Azure/azure-workload-identity v1.6.0's `Handle`
 * (https://azure.github.io/azure-workload-identity/docs/installation/mutating-admission-webhook.html,
 * docs/webhook.md): label-gated, the ServiceAccount must exist, the token expiration must lie in
 * 3600–86400 s, env appended when absent and non-empty, the mount replaced in place or appended, the
 * projected volume replaced or appended, and the patch an RFC 6902 diff of the original and mutated pod.
 * The `v1.5` layout reproduces ≤ v1.5.x paths and volume handling. The proxy sidecar is not injected.
 */
import { createHash } from 'node:crypto'
import {
  AZURE_ANNOTATIONS,
  AZURE_DEFAULT_AUDIENCE,
  AZURE_ENV,
  AZURE_LAYOUTS,
  AZURE_MAX_VOLUME_NAME,
  AZURE_POD_ANNOTATIONS,
  AZURE_PREFIX,
  AZURE_SA_ANNOTATIONS,
  AZURE_TOKEN_EXPIRATION,
  AZURE_USE_LABEL,
  AZURE_USE_LABEL_VALUE,
  CA_VOLUME_NAME,
} from './constants.ts'
import { diffJson } from './json-patch.ts'
import { parseGoInt64, quoteValue } from './parse.ts'
import {
  appendEnvIfAbsent,
  appendMountIfAbsent,
  cloneJson,
  containerName,
  goJoin,
  isRecord,
  podFacts,
  serviceAccountAnnotations,
  type PodFacts,
} from './pod.ts'
import {
  applySelfHostedPlan,
  azureAuthorityFor,
  caTrustPlan,
  caVolume,
  type SelfHostedPlan,
} from './self-hosted.ts'
import type { Container, MutationRequest, MutationResult, Pod, Volume } from './types.ts'
import { annotationKeyWarnings, type Warnings } from './warnings.ts'

/** The reference's pod name for hashing: `metadata.name`, else `generateName + " (prefix)"`. */
export function azurePodName(pod: PodFacts): string {
  return pod.name !== '' ? pod.name : `${pod.generateName} (prefix)`
}

/** v1.6.0's reserved volume name: the prefix + the first 30 hex chars of sha256(podName) (63 chars). */
export function azureVolumeName(podName: string): string {
  const prefix = 'azure-workload-identity-reserved-'
  const hash = createHash('sha256').update(podName, 'utf8').digest('hex')
  return prefix + hash.slice(0, AZURE_MAX_VOLUME_NAME - prefix.length)
}

/** Semicolon-separated, each item trimmed (reference `getSkipContainers`); undefined when unset or empty. */
export function azureSkipContainers(annotation: string | undefined): Set<string> | undefined {
  if (annotation === undefined || annotation === '') return undefined
  return new Set(annotation.split(';').map((s) => s.trim()))
}

export type AzureExpiration = { ok: true; seconds: number } | { ok: false; message: string }

/** Pod annotation over ServiceAccount annotation (empty strings count as absent), default 3600, 3600–86400. */
export function azureTokenExpiration(
  podValue: string | undefined,
  saValue: string | undefined,
): AzureExpiration {
  let seconds = BigInt(AZURE_TOKEN_EXPIRATION.default)
  const source =
    podValue !== undefined && podValue !== ''
      ? podValue
      : saValue !== undefined && saValue !== ''
        ? saValue
        : undefined
  if (source !== undefined) {
    const parsed = parseGoInt64(source)
    if (!parsed.ok) return { ok: false, message: parsed.error }
    seconds = parsed.value
  }
  if (
    seconds < BigInt(AZURE_TOKEN_EXPIRATION.min) ||
    seconds > BigInt(AZURE_TOKEN_EXPIRATION.max)
  ) {
    return {
      ok: false,
      message: `token expiration ${seconds} not valid. Expected value to be between ${AZURE_TOKEN_EXPIRATION.min} and ${AZURE_TOKEN_EXPIRATION.max}`,
    }
  }
  return { ok: true, seconds: Number(seconds) }
}

interface Layout {
  volumeName: string
  mountPath: string
  tokenPath: string
  version: 'v1.5' | 'v1.6'
}

/** True for a volume projecting a ServiceAccount token at `path`. */
function projectsTokenAt(volume: Volume, path: string): boolean {
  const projected = volume['projected']
  if (!isRecord(projected) || !Array.isArray(projected['sources'])) return false
  return projected['sources'].some(
    (s: unknown) =>
      isRecord(s) &&
      isRecord(s['serviceAccountToken']) &&
      s['serviceAccountToken']['path'] === path,
  )
}

function layoutFor(request: MutationRequest, pod: PodFacts): Layout {
  if (request.config.azure.tokenLayout === 'v1.5') {
    const l = AZURE_LAYOUTS['v1.5']
    return {
      volumeName: l.volumeName,
      mountPath: l.mountPath,
      tokenPath: l.tokenPath,
      version: 'v1.5',
    }
  }
  const l = AZURE_LAYOUTS['v1.6']
  // Reinvocation after another webhook set metadata.name would otherwise add a second volume at the same
  // mountPath (Azure/azure-workload-identity#1744); reuse the reserved volume already injected.
  const injected = (pod.volumes ?? []).find(
    (v) =>
      typeof v.name === 'string' &&
      v.name.startsWith('azure-workload-identity-reserved-') &&
      projectsTokenAt(v, l.tokenPath),
  )
  return {
    volumeName: injected?.name ?? azureVolumeName(azurePodName(pod)),
    mountPath: l.mountPath,
    tokenPath: l.tokenPath,
    version: 'v1.6',
  }
}

function deny(message: string, warnings: Warnings): MutationResult {
  return { kind: 'deny', message, warnings: warnings.list }
}

function typoWarnings(
  pod: PodFacts,
  saAnnotations: Readonly<Record<string, string>>,
  warnings: Warnings,
): void {
  const name = (key: string): string => key.slice(AZURE_PREFIX.length + 1)
  const saNames = AZURE_SA_ANNOTATIONS.map(name)
  const podNames = AZURE_POD_ANNOTATIONS.map(name)
  // `use-<suffix>` is the custom token endpoint opt-in (v1.6.0); `use` is the label.
  const ignore = (n: string): boolean => n === 'use' || n.startsWith('use-')
  const lists = [
    annotationKeyWarnings(Object.keys(saAnnotations), {
      prefix: AZURE_PREFIX,
      here: saNames,
      elsewhere: podNames.filter((n) => !saNames.includes(n)),
      object: 'ServiceAccount',
      other: 'pod',
      ignore,
    }),
    annotationKeyWarnings(Object.keys(pod.annotations), {
      prefix: AZURE_PREFIX,
      here: podNames,
      elsewhere: saNames.filter((n) => !podNames.includes(n)),
      object: 'pod',
      other: 'ServiceAccount',
      ignore,
    }),
  ]
  for (const w of lists.flat()) warnings.add(w)
}

/** Mutates the Azure endpoint's pod; the pod's shape has been checked by the caller. */
export function mutateAzureEndpoint(request: MutationRequest, warnings: Warnings): MutationResult {
  const pod = podFacts(request.pod)
  const label = pod.labels[AZURE_USE_LABEL]
  if (label !== AZURE_USE_LABEL_VALUE) {
    return {
      kind: 'allow',
      reason:
        label === undefined
          ? `pod has no label ${AZURE_USE_LABEL}: "${AZURE_USE_LABEL_VALUE}"`
          : `pod label ${AZURE_USE_LABEL} is ${quoteValue(label)}, not "${AZURE_USE_LABEL_VALUE}"`,
      warnings: warnings.list,
    }
  }
  if (!pod.hasSpec) return deny('pod has no spec', warnings)
  if (pod.containers === undefined) return deny('pod has no spec.containers', warnings)
  const saName = pod.serviceAccountName === '' ? 'default' : pod.serviceAccountName
  if (request.serviceAccount === undefined)
    return deny(`serviceaccounts "${saName}" not found`, warnings)
  const saAnnotations = serviceAccountAnnotations(request.serviceAccount, (m) => warnings.add(m))
  typoWarnings(pod, saAnnotations, warnings)

  if (pod.annotations[AZURE_ANNOTATIONS.injectProxySidecar] !== undefined) {
    warnings.add(
      `annotation "${AZURE_ANNOTATIONS.injectProxySidecar}" is not supported by podtrust: no proxy sidecar is injected; use an SDK that reads AZURE_FEDERATED_TOKEN_FILE`,
    )
  }
  const expiration = azureTokenExpiration(
    pod.annotations[AZURE_ANNOTATIONS.tokenExpiration],
    saAnnotations[AZURE_ANNOTATIONS.tokenExpiration],
  )
  if (!expiration.ok) return deny(expiration.message, warnings)

  const { azure, selfHosted } = request.config
  const clientId = saAnnotations[AZURE_ANNOTATIONS.clientId] ?? ''
  // Presence, not emptiness, selects the annotation (reference `getTenantID`).
  const tenantId = Object.prototype.hasOwnProperty.call(saAnnotations, AZURE_ANNOTATIONS.tenantId)
    ? (saAnnotations[AZURE_ANNOTATIONS.tenantId] as string)
    : azure.tenantId
  const saRef = `${request.namespace}/${saName}`
  if (clientId === '') {
    warnings.add(
      `ServiceAccount ${saRef} has no "${AZURE_ANNOTATIONS.clientId}" annotation; AZURE_CLIENT_ID is not set`,
    )
  }
  if (tenantId === '') {
    warnings.add(
      `no tenant id (ServiceAccount ${saRef} "${AZURE_ANNOTATIONS.tenantId}" or the webhook's); AZURE_TENANT_ID is not set`,
    )
  }
  const skip = azureSkipContainers(pod.annotations[AZURE_ANNOTATIONS.skipContainers])
  if (skip !== undefined) {
    const present = new Set(
      [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map(containerName),
    )
    for (const name of skip) {
      if (name !== '' && !present.has(name)) {
        warnings.add(
          `annotation "${AZURE_ANNOTATIONS.skipContainers}" names ${quoteValue(name)}, which matches no container`,
        )
      }
    }
  }

  let authorityHost = azure.authorityHost
  let plan: SelfHostedPlan | undefined
  if (selfHosted !== undefined) {
    authorityHost = azureAuthorityFor(selfHosted, warnings) ?? authorityHost
    plan = caTrustPlan(selfHosted, false, warnings)
  }
  const layout = layoutFor(request, pod)
  const tokenFile = goJoin(layout.mountPath, layout.tokenPath)
  const desired = [
    { name: AZURE_ENV.clientId, value: clientId },
    { name: AZURE_ENV.tenantId, value: tenantId },
    { name: AZURE_ENV.federatedTokenFile, value: tokenFile },
    { name: AZURE_ENV.authorityHost, value: authorityHost },
  ]

  const mutated = cloneJson(request.pod) as Pod & { spec: NonNullable<Pod['spec']> }
  const mutateList = (list: Container[] | undefined): void => {
    for (const container of list ?? []) {
      if (skip?.has(containerName(container)) === true) continue
      for (const { name, value } of desired)
        if (value !== '') appendEnvIfAbsent(container, name, value)
      if (plan !== undefined) applySelfHostedPlan(container, plan)
      addTokenMount(container, layout)
    }
  }
  mutateList(mutated.spec.initContainers)
  mutateList(mutated.spec.containers)
  addTokenVolume(mutated.spec, layout, expiration.seconds, azure.audience || AZURE_DEFAULT_AUDIENCE)
  if (plan?.ca === true && selfHosted !== undefined) {
    const volumes = mutated.spec.volumes ?? []
    if (!volumes.some((v) => v.name === CA_VOLUME_NAME))
      mutated.spec.volumes = [...volumes, caVolume(selfHosted)]
  }
  return {
    kind: 'patch',
    patch: diffJson(request.pod, mutated),
    modes: ['azure'],
    warnings: warnings.list,
  }
}

function addTokenMount(container: Container, layout: Layout): void {
  if (layout.version === 'v1.5') {
    appendMountIfAbsent(container, layout.volumeName, layout.mountPath)
    return
  }
  // v1.6: a same-named mount is replaced in place (its path fixed), else appended.
  const mount = { name: layout.volumeName, mountPath: layout.mountPath, readOnly: true }
  const mounts = container.volumeMounts ?? []
  const at = mounts.findIndex((m) => m.name === layout.volumeName)
  if (at === -1) container.volumeMounts = [...mounts, mount]
  else mounts[at] = mount
}

function addTokenVolume(
  spec: NonNullable<Pod['spec']>,
  layout: Layout,
  seconds: number,
  audience: string,
): void {
  const volume: Volume = {
    name: layout.volumeName,
    projected: {
      sources: [
        { serviceAccountToken: { path: layout.tokenPath, expirationSeconds: seconds, audience } },
      ],
    },
  }
  const volumes = spec.volumes ?? []
  if (layout.version === 'v1.5') {
    // ≤ v1.5: any projected token at the well-known path means the volume is already there.
    if (!volumes.some((v) => projectsTokenAt(v, layout.tokenPath)))
      spec.volumes = [...volumes, volume]
    return
  }
  const at = volumes.findIndex((v) => v.name === layout.volumeName)
  if (at === -1) spec.volumes = [...volumes, volume]
  else volumes[at] = volume
}
