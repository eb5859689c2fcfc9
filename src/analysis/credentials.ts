/**
 * @module analysis/credentials
 * Which credentials a pod's AWS SDK really uses, following each SDK's default provider chain:
 * - botocore (boto3, AWS CLI v1) `create_credential_resolver`: environment keys → assume-role profile → web
 *   identity (IRSA) → SSO → shared credentials/config file → … → container provider (Pod Identity) → IMDS;
 * - AWS SDK for JavaScript v3 `defaultProvider`: environment keys (skipped when `AWS_PROFILE` is set) → SSO → ini
 *   files → process → web identity → container / IMDS.
 * (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html; EKS user guide,
 * "pod-id-how-it-works": credentials earlier in the chain stay in use even with a Pod Identity association.)
 * kube2iam answers on the IMDS address, so it sits where IMDS does.
 */
import type { Container, CredentialSource, DataObject, PodSpecInfo } from './model.ts'

export const KUBE2IAM_ROLE_ANNOTATION = 'iam.amazonaws.com/role'
export const SKIP_CONTAINERS_ANNOTATION = 'eks.amazonaws.com/skip-containers'

export interface ContainerCredentials {
  container: string
  envKeys: { via: string; dummy: boolean } | undefined
  profile: boolean
  sharedFile: string | undefined
  irsa: boolean
  podIdentity: boolean
  kube2iam: boolean
  imds: boolean
  python: CredentialSource
  javascript: CredentialSource
}

/** Values obviously not keys (documentation placeholders); they still shadow later providers. */
export function isDummyKey(value: string): boolean {
  return (
    value.length < 16 ||
    /fake|dummy|example|changeme|placeholder|^x+$|^key$|^secret$|<|\$\{|\$\(/i.test(value)
  )
}

export interface PodIdentityFacts {
  /** The SA's IRSA annotation names a role (the webhook injects web identity into new pods). */
  irsaAnnotated: boolean
  /** A Pod Identity association exists for the SA. */
  podIdentityAssociated: boolean
  /** The node's IMDS answers this pod with node-role credentials. */
  imdsReachable: boolean
}

function findData(
  data: readonly DataObject[],
  kind: DataObject['kind'],
  namespace: string,
  name: string,
) {
  return data.find((d) => d.kind === kind && d.namespace === namespace && d.name === name)
}

/** Where a container's environment gets AWS access keys, if it does. */
export function envKeySource(
  pod: PodSpecInfo,
  container: Container,
  data: readonly DataObject[],
): { via: string; dummy: boolean } | undefined {
  const direct = container.env.find((e) => e.name === 'AWS_ACCESS_KEY_ID')
  if (direct !== undefined) {
    if (direct.value !== undefined) return { via: 'env value', dummy: isDummyKey(direct.value) }
    if (direct.secretKeyRef !== undefined) {
      const value = findData(data, 'Secret', pod.namespace, direct.secretKeyRef.name)?.data[
        direct.secretKeyRef.key
      ]
      return {
        via: `Secret ${pod.namespace}/${direct.secretKeyRef.name}`,
        dummy: value !== undefined && isDummyKey(value),
      }
    }
    if (direct.configMapKeyRef !== undefined) {
      const value = findData(data, 'ConfigMap', pod.namespace, direct.configMapKeyRef.name)?.data[
        direct.configMapKeyRef.key
      ]
      return {
        via: `ConfigMap ${pod.namespace}/${direct.configMapKeyRef.name}`,
        dummy: value !== undefined && isDummyKey(value),
      }
    }
  }
  for (const from of container.envFrom) {
    const kind = from.secretRef !== undefined ? 'Secret' : 'ConfigMap'
    const name = from.secretRef ?? from.configMapRef
    if (name === undefined) continue
    const obj = findData(data, kind, pod.namespace, name)
    const key = `${from.prefix ?? ''}AWS_ACCESS_KEY_ID`
    if (obj === undefined) continue
    for (const [k, v] of Object.entries(obj.data)) {
      if (`${from.prefix ?? ''}${k}` === key)
        return { via: `${kind} ${pod.namespace}/${name} (envFrom)`, dummy: isDummyKey(v) }
    }
  }
  return undefined
}

function envValue(container: Container, name: string): string | undefined {
  const e = container.env.find((x) => x.name === name)
  if (e === undefined) return undefined
  return e.value ?? '(from a reference)'
}

function sharedFileOf(container: Container): string | undefined {
  const file =
    envValue(container, 'AWS_SHARED_CREDENTIALS_FILE') ?? envValue(container, 'AWS_CONFIG_FILE')
  if (file !== undefined) return file
  const mount = container.volumeMounts.find((m) => /(^|\/)\.aws\/?$/.test(m.mountPath))
  return mount === undefined ? undefined : `${mount.mountPath.replace(/\/$/, '')}/credentials`
}

export function resolveContainerCredentials(
  pod: PodSpecInfo,
  container: Container,
  data: readonly DataObject[],
  facts: PodIdentityFacts,
): ContainerCredentials {
  const skipped = (pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes(container.name)
  const injectedIrsa =
    envValue(container, 'AWS_ROLE_ARN') !== undefined &&
    envValue(container, 'AWS_WEB_IDENTITY_TOKEN_FILE') !== undefined
  // A template is mutated at creation, so an annotated SA means web identity; a live pod shows what it got.
  const irsa = injectedIrsa || (!pod.live && facts.irsaAnnotated && !skipped)
  const injectedPodId = envValue(container, 'AWS_CONTAINER_CREDENTIALS_FULL_URI') !== undefined
  const podIdentity = injectedPodId || (!pod.live && facts.podIdentityAssociated)
  const kube2iam = pod.annotations[KUBE2IAM_ROLE_ANNOTATION] !== undefined
  const envKeys = envKeySource(pod, container, data)
  const profile = envValue(container, 'AWS_PROFILE') !== undefined
  const sharedFile = sharedFileOf(container)
  const imds = facts.imdsReachable

  const tail = (): CredentialSource =>
    podIdentity ? 'pod-identity' : kube2iam ? 'kube2iam' : imds ? 'node-imds' : 'none'
  const python: CredentialSource = envKeys
    ? 'env-keys'
    : irsa
      ? 'irsa'
      : sharedFile !== undefined || profile
        ? 'shared-credentials-file'
        : tail()
  const javascript: CredentialSource =
    envKeys && !profile
      ? 'env-keys'
      : sharedFile !== undefined || profile
        ? 'shared-credentials-file'
        : irsa
          ? 'irsa'
          : tail()
  return {
    container: container.name,
    envKeys,
    profile,
    sharedFile,
    irsa,
    podIdentity,
    kube2iam,
    imds,
    python,
    javascript,
  }
}
