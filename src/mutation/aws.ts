/**
 * @module mutation/aws
 * IRSA and EKS Pod Identity, as aws/amazon-eks-pod-identity-webhook
 * (https://github.com/aws/amazon-eks-pod-identity-webhook, docs/webhook.md): which mode a
 * pod gets and with which values (`decideAws`), and the per-container env and mount rules
 * (`mutateAwsContainer`). The patch itself is assembled in `mutate-aws.ts`.
 */
import {
  AWS_ANNOTATIONS,
  AWS_ENV,
  AWS_POD_ANNOTATIONS,
  AWS_SA_ANNOTATIONS,
  DEFAULT_TOKEN_EXPIRATION,
  IRSA_TOKEN_PATH,
  IRSA_VOLUME_NAME,
  MIN_TOKEN_EXPIRATION,
  POD_IDENTITY_JITTER_BASE,
  POD_IDENTITY_JITTER_SPAN,
  ROLE_ARN_PATTERN,
} from './constants.ts'
import { goCsvFirstRecord, parseGoBool, parseGoInt64, quoteValue } from './parse.ts'
import { appendMountIfAbsent, containerName, goJoin, type PodFacts } from './pod.ts'
import type { Container, IrsaConfigMapEntry, MutationRequest, Volume } from './types.ts'
import { annotationKeyWarnings, type Warnings } from './warnings.ts'

/** Role ARNs are at most 2048 characters (IAM); longer values are not used. */
const MAX_ROLE_ARN = 2048

export interface AwsDecision {
  mode: 'irsa' | 'pod-identity'
  /** IRSA only. */
  roleArn: string
  /** '' leaves `audience` out of the projection (the API server's default audiences). */
  audience: string
  regionalSts: boolean
  /** Seconds, after precedence, clamping and (Pod Identity) jitter. */
  expiration: number
  volumeName: string
  mountPath: string
  tokenPath: string
  /** Pod Identity only: `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
  fullUri: string
}

export type AwsOutcome =
  { kind: 'mutate'; decision: AwsDecision } | { kind: 'none'; reason: string }

/** Seconds from an annotation, or undefined (with a warning) when Go's ParseInt would fail. */
function annotationSeconds(value: string, key: string, warnings: Warnings): bigint | undefined {
  const parsed = parseGoInt64(value)
  if (!parsed.ok) {
    warnings.add(`annotation "${key}" value ${quoteValue(value)} is not an integer; ignored`)
    return undefined
  }
  if (parsed.value > BigInt(Number.MAX_SAFE_INTEGER)) {
    warnings.add(`annotation "${key}" value ${quoteValue(value)} is too large; ignored`)
    return undefined
  }
  return parsed.value
}

/** `ValidateMinTokenExpiration`: below 600 s becomes 600 s, with a warning naming the source. */
function clampSeconds(seconds: bigint | number, source: string, warnings: Warnings): number {
  const value = Number(seconds)
  if (value < MIN_TOKEN_EXPIRATION) {
    warnings.add(
      `token expiration ${value} s from ${source} raised to the minimum ${MIN_TOKEN_EXPIRATION} s`,
    )
    return MIN_TOKEN_EXPIRATION
  }
  return value
}

/** The `--token-expiration` flag value, clamped as the reference does at startup. */
function flagExpiration(request: MutationRequest): number {
  const flag = request.config.aws.tokenExpiration
  return Number.isSafeInteger(flag)
    ? Math.max(flag, MIN_TOKEN_EXPIRATION)
    : DEFAULT_TOKEN_EXPIRATION
}

/** The pod's `skip-containers`: one CSV record, not trimmed; a CSV error skips nothing. */
export function skipContainers(pod: PodFacts, prefix: string, warnings: Warnings): Set<string> {
  const key = `${prefix}/${AWS_ANNOTATIONS.skipContainers}`
  const value = pod.annotations[key]
  if (value === undefined) return new Set()
  const names = goCsvFirstRecord(value)
  if (names === undefined) {
    warnings.add(`annotation "${key}" is not a valid comma-separated list; no container is skipped`)
    return new Set()
  }
  const present = new Set(
    [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map(containerName),
  )
  for (const name of names) {
    if (name !== '' && !present.has(name)) {
      const hint =
        name !== name.trim() && present.has(name.trim())
          ? ' (names are not trimmed: remove the spaces)'
          : ''
      warnings.add(
        `annotation "${key}" names ${quoteValue(name)}, which matches no container${hint}`,
      )
    }
  }
  return new Set(names)
}

interface SaSettings {
  roleArn: string
  audience: string
  regionalSts: boolean
  expiration: number
}

/** `addSA`: the ServiceAccount's annotations over the flag defaults. */
function fromServiceAccount(
  annotations: Readonly<Record<string, string>>,
  request: MutationRequest,
  warnings: Warnings,
): SaSettings {
  const { aws } = request.config
  const p = aws.annotationPrefix
  let roleArn = annotations[`${p}/${AWS_ANNOTATIONS.roleArn}`] ?? ''
  if (roleArn.length > MAX_ROLE_ARN) {
    warnings.add(`annotation "${p}/role-arn" is longer than ${MAX_ROLE_ARN} characters; ignored`)
    roleArn = ''
  }
  if (roleArn !== '' && !roleArn.includes('arn:') && aws.composeRoleArn !== undefined) {
    roleArn = `arn:${aws.composeRoleArn.partition}:iam::${aws.composeRoleArn.accountId}:role/${roleArn}`
  }
  if (roleArn !== '' && !ROLE_ARN_PATTERN.test(roleArn)) {
    warnings.add(
      `annotation "${p}/role-arn" value ${quoteValue(roleArn)} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); AWS will reject it`,
    )
  }
  const audienceValue = annotations[`${p}/${AWS_ANNOTATIONS.audience}`]
  const stsValue = annotations[`${p}/${AWS_ANNOTATIONS.stsRegionalEndpoints}`]
  let regionalSts = aws.regionalSts
  if (stsValue !== undefined) {
    const parsed = parseGoBool(stsValue)
    if (parsed === undefined) {
      warnings.add(
        `annotation "${p}/sts-regional-endpoints" value ${quoteValue(stsValue)} is not a boolean; ignored`,
      )
    } else regionalSts = parsed
  }
  let expiration = flagExpiration(request)
  const expKey = `${p}/${AWS_ANNOTATIONS.tokenExpiration}`
  const expValue = annotations[expKey]
  if (expValue !== undefined) {
    const seconds = annotationSeconds(expValue, expKey, warnings)
    if (seconds !== undefined)
      expiration = clampSeconds(seconds, `ServiceAccount annotation "${expKey}"`, warnings)
  }
  return { roleArn, audience: audienceValue ?? aws.tokenAudience, regionalSts, expiration }
}

/** The `--watch-config-map` entry for the ServiceAccount: `ns/sa`, else `*\/sa` (an exact `*`, not a glob). */
function configMapEntry(
  request: MutationRequest,
  saName: string,
): { key: string; entry: IrsaConfigMapEntry } | undefined {
  const map = request.irsaConfigMap
  if (map === undefined) return undefined
  for (const key of [`${request.namespace}/${saName}`, `*/${saName}`]) {
    const entry = Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined
    if (entry !== undefined && entry !== null && typeof entry === 'object') return { key, entry }
  }
  return undefined
}

function fromConfigMap(
  entry: IrsaConfigMapEntry,
  request: MutationRequest,
  key: string,
  warnings: Warnings,
): SaSettings {
  const roleArn = typeof entry.RoleARN === 'string' ? entry.RoleARN : ''
  if (roleArn !== '' && !ROLE_ARN_PATTERN.test(roleArn)) {
    warnings.add(
      `ConfigMap entry "${key}" RoleARN ${quoteValue(roleArn)} is not an IAM role ARN; AWS will reject it`,
    )
  }
  const seconds = entry.TokenExpiration
  const expiration =
    typeof seconds === 'number' && Number.isSafeInteger(seconds) && seconds !== 0
      ? clampSeconds(seconds, `ConfigMap entry "${key}"`, warnings)
      : flagExpiration(request)
  return {
    roleArn,
    // The reference does not default a ConfigMap audience: '' gives the API server's default audiences.
    audience: typeof entry.Audience === 'string' ? entry.Audience : '',
    regionalSts: entry.UseRegionalSTS === true,
    expiration,
  }
}

/** Pod annotation `<prefix>/token-expiration` over `base`, clamped. */
function podExpiration(
  pod: PodFacts,
  base: number,
  request: MutationRequest,
  warnings: Warnings,
): number {
  const key = `${request.config.aws.annotationPrefix}/${AWS_ANNOTATIONS.tokenExpiration}`
  const value = pod.annotations[key]
  if (value === undefined) return base
  const seconds = annotationSeconds(value, key, warnings)
  return seconds === undefined ? base : clampSeconds(seconds, `pod annotation "${key}"`, warnings)
}

/** Typo warnings for `<prefix>/*` keys on the pod and the ServiceAccount. */
export function awsAnnotationWarnings(
  pod: PodFacts,
  saAnnotations: Readonly<Record<string, string>>,
  prefix: string,
  warnings: Warnings,
): void {
  const podOnly = AWS_POD_ANNOTATIONS.filter((n) => !AWS_SA_ANNOTATIONS.includes(n))
  const saOnly = AWS_SA_ANNOTATIONS.filter((n) => !AWS_POD_ANNOTATIONS.includes(n))
  for (const w of annotationKeyWarnings(Object.keys(saAnnotations), {
    prefix,
    here: AWS_SA_ANNOTATIONS,
    elsewhere: podOnly,
    object: 'ServiceAccount',
    other: 'pod',
  })) {
    warnings.add(w)
  }
  for (const w of annotationKeyWarnings(Object.keys(pod.annotations), {
    prefix,
    here: AWS_POD_ANNOTATIONS,
    elsewhere: saOnly,
    object: 'pod',
    other: 'ServiceAccount',
  })) {
    warnings.add(w)
  }
}

/**
 * `buildPodPatchConfig`: Pod Identity when the (namespace, ServiceAccount) has an association (it wins over
 * `role-arn`), else IRSA when the ServiceAccount (or the ConfigMap source) names a role, else nothing.
 */
export function decideAws(
  request: MutationRequest,
  pod: PodFacts,
  saAnnotations: Readonly<Record<string, string>>,
  warnings: Warnings,
): AwsOutcome {
  const { aws } = request.config
  const saName = request.serviceAccount?.metadata.name ?? (pod.serviceAccountName || 'default')
  const saRef = `${request.namespace}/${saName}`
  const cm = configMapEntry(request, saName)

  if (request.podIdentity) {
    // GetCommonConfigurations: the SA's parsed settings, else the ConfigMap's, else (false, 86400).
    let regionalSts = false
    let expiration = DEFAULT_TOKEN_EXPIRATION
    if (request.serviceAccount !== undefined) {
      ;({ regionalSts, expiration } = fromServiceAccount(saAnnotations, request, warnings))
    } else if (cm !== undefined) {
      ;({ regionalSts, expiration } = fromConfigMap(cm.entry, request, cm.key, warnings))
    }
    expiration = podExpiration(pod, expiration, request, warnings)
    if (expiration === DEFAULT_TOKEN_EXPIRATION) {
      // Spread the refresh of pods created together; only in this mode, only for exactly 86400 s.
      const r = request.random()
      const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0
      expiration = POD_IDENTITY_JITTER_BASE + Math.floor(unit * POD_IDENTITY_JITTER_SPAN)
    }
    const cc = aws.containerCredentials
    return {
      kind: 'mutate',
      decision: {
        mode: 'pod-identity',
        roleArn: '',
        audience: cc.audience,
        regionalSts,
        expiration,
        volumeName: cc.volumeName,
        mountPath: cc.mountPath,
        tokenPath: cc.tokenPath,
        fullUri: cc.fullUri,
      },
    }
  }

  let settings: SaSettings | undefined
  if (request.serviceAccount !== undefined)
    settings = fromServiceAccount(saAnnotations, request, warnings)
  if ((settings === undefined || settings.roleArn === '') && cm !== undefined) {
    settings = fromConfigMap(cm.entry, request, cm.key, warnings)
  }
  if (settings === undefined) {
    return {
      kind: 'none',
      reason: `ServiceAccount ${saRef} not found; admitted unmutated (fail-open)`,
    }
  }
  if (settings.roleArn === '') {
    return {
      kind: 'none',
      reason: `ServiceAccount ${saRef} has no ${aws.annotationPrefix}/role-arn annotation`,
    }
  }
  return {
    kind: 'mutate',
    decision: {
      mode: 'irsa',
      roleArn: settings.roleArn,
      audience: settings.audience,
      regionalSts: settings.regionalSts,
      expiration: podExpiration(pod, settings.expiration, request, warnings),
      volumeName: IRSA_VOLUME_NAME,
      mountPath: aws.tokenMountPath,
      tokenPath: IRSA_TOKEN_PATH,
      fullUri: '',
    },
  }
}

/** The projected token volume, with the reference's field set (`audience` omitted when empty). */
export function awsVolume(decision: AwsDecision): Volume {
  const serviceAccountToken: Record<string, unknown> = {}
  if (decision.audience !== '') serviceAccountToken['audience'] = decision.audience
  serviceAccountToken['expirationSeconds'] = decision.expiration
  serviceAccountToken['path'] = decision.tokenPath
  return { name: decision.volumeName, projected: { sources: [{ serviceAccountToken }] } }
}

/**
 * `addEnvToContainer` on a copy of one container: early exit when the mode's pair, a region and the STS
 * variable are all present; else append (never overwrite) STS, both region variables, the mode's pair (each
 * group both-or-neither), and the mount unless one with the volume's name exists. Returns whether it
 * exited early (the container is then left completely untouched).
 */
export function mutateAwsContainer(
  container: Container,
  decision: AwsDecision,
  region: string,
  tokenFile: string,
): 'untouched' | 'mutated' {
  const env = Array.isArray(container.env) ? container.env : []
  const names = new Set(env.map((e) => e.name))
  const pair =
    decision.mode === 'irsa'
      ? [AWS_ENV.roleArn, AWS_ENV.webIdentityTokenFile]
      : [AWS_ENV.containerCredentialsFullUri, AWS_ENV.containerAuthorizationTokenFile]
  const pairDefined = pair.some((n) => names.has(n))
  const regionDefined = names.has(AWS_ENV.region) || names.has(AWS_ENV.defaultRegion)
  const stsDefined = names.has(AWS_ENV.stsRegionalEndpoints)
  if (pairDefined && regionDefined && stsDefined) return 'untouched'

  const added: { name: string; value: string }[] = []
  if (!stsDefined && decision.regionalSts)
    added.push({ name: AWS_ENV.stsRegionalEndpoints, value: 'regional' })
  if (!regionDefined && region !== '') {
    added.push(
      { name: AWS_ENV.defaultRegion, value: region },
      { name: AWS_ENV.region, value: region },
    )
  }
  if (!pairDefined) {
    if (decision.mode === 'irsa') {
      added.push(
        { name: AWS_ENV.roleArn, value: decision.roleArn },
        { name: AWS_ENV.webIdentityTokenFile, value: tokenFile },
      )
    } else {
      added.push(
        { name: AWS_ENV.containerCredentialsFullUri, value: decision.fullUri },
        { name: AWS_ENV.containerAuthorizationTokenFile, value: tokenFile },
      )
    }
  }
  if (added.length > 0) container.env = [...env, ...added]
  appendMountIfAbsent(container, decision.volumeName, decision.mountPath)
  return 'mutated'
}

/** `filepath.Join(mountPath, tokenPath)`; the env value for the token file. */
export function awsTokenFile(decision: AwsDecision): string {
  return goJoin(decision.mountPath, decision.tokenPath)
}
