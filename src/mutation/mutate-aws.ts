/**
 * @module mutation/mutate-aws
 * The `/mutate` endpoint (fail-open): IRSA or Pod Identity, then GCP, then self-hosted additions, combined
 * into one patch of the shape aws/amazon-eks-pod-identity-webhook returns (docs/webhook.md,
 * https://github.com/aws/amazon-eks-pod-identity-webhook): label (Pod Identity) → the token volume
 * (`/spec/volumes`, or prepended at `/spec/volumes/0`) → further volumes appended → the whole
 * `/spec/containers` → the whole `/spec/initContainers` when the pod has any.
 */
import {
  AZURE_ANNOTATIONS,
  AZURE_USE_LABEL,
  AZURE_USE_LABEL_VALUE,
  POD_IDENTITY_LABEL,
  POD_IDENTITY_LABEL_VALUE,
} from './constants.ts'
import {
  awsAnnotationWarnings,
  awsTokenFile,
  awsVolume,
  decideAws,
  mutateAwsContainer,
  skipContainers,
  type AwsDecision,
} from './aws.ts'
import { decideGcp, gcpAnnotationWarnings, gcpVolumes, mutateGcpContainer } from './gcp.ts'
import { escapePointerToken } from './json-patch.ts'
import {
  cloneJson,
  containerName,
  podFacts,
  serviceAccountAnnotations,
  windowsPath,
  type PodFacts,
} from './pod.ts'
import {
  applySelfHostedPlan,
  caTrustPlan,
  caVolume,
  irsaPlan,
  podIdentityAgentUrl,
  podIdentityPlan,
  type SelfHostedPlan,
} from './self-hosted.ts'
import type {
  Container,
  JsonPatchOperation,
  MutationMode,
  MutationRequest,
  MutationResult,
  Volume,
} from './types.ts'
import type { Warnings } from './warnings.ts'

/** Mutates the AWS endpoint's pod; the pod's shape has been checked by the caller. */
export function mutateAwsEndpoint(request: MutationRequest, warnings: Warnings): MutationResult {
  const pod = podFacts(request.pod)
  const saAnnotations = serviceAccountAnnotations(request.serviceAccount, (m) => warnings.add(m))
  const prefix = request.config.aws.annotationPrefix
  awsAnnotationWarnings(pod, saAnnotations, prefix, warnings)
  gcpAnnotationWarnings(saAnnotations, warnings)
  azureLabelWarning(pod, saAnnotations, warnings)
  if (!pod.hasSpec) return { kind: 'allow', reason: 'pod has no spec', warnings: warnings.list }
  if (pod.containers === undefined) {
    return { kind: 'allow', reason: 'pod has no spec.containers', warnings: warnings.list }
  }

  const aws = decideAws(request, pod, saAnnotations, warnings)
  const gcp = decideGcp(request.serviceAccount, saAnnotations, request.config.gcp, warnings)
  if (aws.kind === 'none' && gcp === undefined) {
    return { kind: 'allow', reason: aws.reason, warnings: warnings.list }
  }
  const decision = aws.kind === 'mutate' ? aws.decision : undefined
  const selfHosted = request.config.selfHosted
  if (decision?.mode === 'pod-identity' && selfHosted !== undefined) {
    decision.fullUri = podIdentityAgentUrl(selfHosted, decision.fullUri, warnings)
  }
  const skip = skipContainers(pod, prefix, warnings)

  let awsPlan: SelfHostedPlan | undefined
  let gcpPlan: SelfHostedPlan | undefined
  if (selfHosted !== undefined) {
    if (decision?.mode === 'irsa') awsPlan = irsaPlan(selfHosted, pod.windows, warnings)
    if (decision?.mode === 'pod-identity') awsPlan = podIdentityPlan(decision.fullUri, pod.windows)
    if (gcp !== undefined) gcpPlan = caTrustPlan(selfHosted, pod.windows, warnings)
  }

  const mutateOne = (original: Container): Container => {
    const container = cloneJson(original)
    if (skip.has(containerName(container))) return container
    if (decision !== undefined) {
      const file = awsTokenFile(decision)
      mutateAwsContainer(
        container,
        decision,
        request.config.aws.region,
        pod.windows ? windowsPath(file) : file,
      )
      if (awsPlan !== undefined) applySelfHostedPlan(container, awsPlan)
    }
    if (gcp !== undefined) {
      mutateGcpContainer(container, gcp, pod.windows)
      if (gcpPlan !== undefined) applySelfHostedPlan(container, gcpPlan)
    }
    return container
  }
  const initContainers = (pod.initContainers ?? []).map(mutateOne)
  const containers = (pod.containers ?? []).map(mutateOne)

  const volumes: Volume[] = []
  if (gcp !== undefined) volumes.push(...gcpVolumes(gcp))
  if (selfHosted !== undefined && (awsPlan?.ca === true || gcpPlan?.ca === true))
    volumes.push(caVolume(selfHosted))

  const modes: MutationMode[] = []
  if (decision !== undefined) modes.push(decision.mode)
  if (gcp !== undefined) modes.push('gcp')
  return {
    kind: 'patch',
    patch: buildPatch(pod, decision, volumes, containers, initContainers),
    modes,
    warnings: warnings.list,
  }
}

/**
 * `/mutate` sees every pod, `/mutate-v1-pod` only those labelled: the missing label is the most common
 * reason Azure env is not injected (https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html),
 * so say so where it can be seen.
 */
function azureLabelWarning(
  pod: PodFacts,
  saAnnotations: Readonly<Record<string, string>>,
  warnings: Warnings,
): void {
  if (pod.labels[AZURE_USE_LABEL] === AZURE_USE_LABEL_VALUE) return
  const asAnnotation = pod.annotations[AZURE_USE_LABEL] !== undefined
  if (asAnnotation || saAnnotations[AZURE_ANNOTATIONS.clientId] !== undefined) {
    warnings.add(
      `pod lacks the label ${AZURE_USE_LABEL}: "${AZURE_USE_LABEL_VALUE}"${asAnnotation ? ' (it is set as an annotation)' : ''}; Azure workload identity is not injected without it`,
    )
  }
}

function buildPatch(
  pod: PodFacts,
  decision: AwsDecision | undefined,
  extraVolumes: Volume[],
  containers: Container[],
  initContainers: Container[],
): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = []
  if (decision?.mode === 'pod-identity') {
    const labels = { [POD_IDENTITY_LABEL]: POD_IDENTITY_LABEL_VALUE }
    patch.push(
      !pod.hasMetadata
        ? { op: 'add', path: '/metadata', value: { labels } }
        : pod.hasLabels
          ? {
              op: 'add',
              path: `/metadata/labels/${escapePointerToken(POD_IDENTITY_LABEL)}`,
              value: POD_IDENTITY_LABEL_VALUE,
            }
          : { op: 'add', path: '/metadata/labels', value: labels },
    )
  }
  const existing = new Set((pod.volumes ?? []).map((v) => v.name))
  let haveVolumes = pod.volumes !== undefined
  if (decision !== undefined && !existing.has(decision.volumeName)) {
    // The reference checks the name only (not the volume's type) and prepends to an existing list.
    const volume = awsVolume(decision)
    patch.push(
      haveVolumes
        ? { op: 'add', path: '/spec/volumes/0', value: volume }
        : { op: 'add', path: '/spec/volumes', value: [volume] },
    )
    haveVolumes = true
    existing.add(decision.volumeName)
  }
  const missing = extraVolumes.filter((v) => !existing.has(v.name))
  if (missing.length > 0) {
    if (haveVolumes)
      for (const volume of missing)
        patch.push({ op: 'add', path: '/spec/volumes/-', value: volume })
    else patch.push({ op: 'add', path: '/spec/volumes', value: missing })
  }
  patch.push({ op: 'add', path: '/spec/containers', value: containers })
  if (initContainers.length > 0)
    patch.push({ op: 'add', path: '/spec/initContainers', value: initContainers })
  return patch
}
