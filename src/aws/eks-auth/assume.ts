/**
 * @module aws/eks-auth/assume
 * EKS Auth `AssumeRoleForPodIdentity`, as steps: validate input → verify the pod-bound token against the
 * cluster's issuer → find the association → authorize the trust policy as service principal
 * `pods.eks.amazonaws.com` (with the context EKS sets) → create the session with the six transitive tags →
 * chain to the target role when set. The trust actions, the one-hour chaining cap, the transitive tags a
 * chained session inherits and session creation are steps of the assume-role pipeline
 * (`src/identity/assume-role/`); the wiring evaluates trust and issues sessions with it. Every side effect is
 * injected (`PodIdentityDeps`), so the flow is unit tested without a store, an STS or an HTTP server.
 */
import type { AuditEvent } from '../../audit/types.ts'
import { buildRequestContext } from '../../identity/context.ts'
import {
  CHAINED_MAX_DURATION_SECONDS,
  transitiveTagsOf,
  trustActions,
} from '../../identity/assume-role/index.ts'
import type { IdentityRole } from '../../identity/ports.ts'
import type { Caller, RoleSessionInfo, SessionTag } from '../../identity/types.ts'
import type { ClusterView } from '../eks/clusters.ts'
import { EksAuthError } from '../eks/errors.ts'
import { associationArn, clusterArn, uuidV4 } from '../eks/ids.ts'
import type { AssociationRow, EksRepo } from '../eks/repo.ts'
import { CLUSTER_NAME_PATTERN } from '../eks/validate.ts'
import {
  POD_IDENTITY_AUDIENCE,
  POD_IDENTITY_SERVICE_PRINCIPAL,
  POD_IDENTITY_TAG_KEYS,
  podIdentitySessionName,
  podIdentityTags,
} from './tags.ts'

/** JwtToken pattern of the eks-auth model. */
const TOKEN_PATTERN = /^[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+$/

/** The fields of an IAM role this flow reads (a subset of the role lookup port's `IdentityRole`). */
export type RoleLike = Pick<
  IdentityRole,
  'accountId' | 'roleName' | 'roleId' | 'arn' | 'assumeRolePolicyDocument' | 'maxSessionDuration'
>

export type { SessionTag }

export interface CreatedSession {
  credentials: {
    accessKeyId: string
    secretAccessKey: string
    sessionToken: string
    expiration: Date
  }
  assumedRoleUser: { arn: string; assumedRoleId: string }
  /** The session as STS sealed it: the principal of the target-role hop. */
  session?: RoleSessionInfo
}

/** The authenticated caller of the API (the node role), or undefined for the in-process agent. */
export interface EksAuthCaller {
  arn: string
  accountId: string
  userId?: string
  accessKeyId?: string
  type?: string
}

export interface TrustCheck {
  /** `pods.eks.amazonaws.com` for the first hop, the first session's ARN for the target-role hop. */
  principal: string
  action: string
  role: RoleLike
  context: Record<string, string | string[]>
  /** For the target-role hop: the first role (its identity policies may be needed cross-account). */
  callerRole?: RoleLike
}

export interface PodIdentityDeps {
  now: () => Date
  randomBytes: (size: number) => Uint8Array
  repo: EksRepo
  /** Cluster name → resolved cluster, or undefined when not registered. */
  getCluster(name: string): Promise<ClusterView | undefined>
  /** Verifies signature, issuer, audience and time claims (ctx.tokens); rejects with a TokenError. */
  verifyToken(
    token: string,
    options: { issuer: string; audiences: string[]; now: Date },
  ): Promise<{ claims: Record<string, unknown>; subject: string; audience: string[] }>
  getRole(arn: string): Promise<RoleLike | undefined>
  /**
   * Trust-policy decision through the policy engine (a trust policy that does not compile denies). Throws
   * only when a stored identity policy of `callerRole` does not compile: failing closed, never skipping it.
   */
  authorizeTrust(check: TrustCheck): Promise<{ allowed: boolean; decision: string }>
  /** Session creation: the assume-role pipeline's `issueRoleSession` (sealed session token). */
  createSession(input: {
    role: RoleLike
    sessionName: string
    durationSeconds: number
    tags?: SessionTag[]
    transitiveTagKeys?: string[]
    inheritedTransitiveTags?: SessionTag[]
    sessionPolicy?: string
    chained?: boolean
  }): Promise<CreatedSession>
  /** Optional: may the caller (node role) call eks-auth:AssumeRoleForPodIdentity on the cluster? */
  authorizeCaller?(caller: EksAuthCaller, clusterArn: string): Promise<boolean>
  audit?(event: AuditEvent): Promise<void>
  region: string
}

export interface AssumeRoleForPodIdentityInput {
  clusterName: string
  token: unknown
  caller?: EksAuthCaller
  sourceIp?: string
  userAgent?: string
  requestId: string
}

export interface AssumeRoleForPodIdentityOutput {
  subject: { namespace: string; serviceAccount: string }
  audience: string
  podIdentityAssociation: { associationArn: string; associationId: string }
  assumedRoleUser: { arn: string; assumeRoleId: string }
  credentials: {
    sessionToken: string
    secretAccessKey: string
    accessKeyId: string
    expiration: number
  }
}

/** What the rest of the flow knows about the pod once its token is verified. */
interface PodClaims {
  namespace: string
  serviceAccount: string
  podName: string
  podUid: string
}

/** Default and maximum lifetime of Pod Identity credentials (the agent renews after min(3 h, expiry)). */
export const POD_IDENTITY_MAX_DURATION_SECONDS = 6 * 3600
/** STS caps role-chained sessions at one hour (the assume-role pipeline's limit). */
export { CHAINED_MAX_DURATION_SECONDS }

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : undefined

/** Pulls the kubelet-projected pod binding out of verified claims; un-pod-bound tokens are refused. */
export function podClaims(claims: Record<string, unknown>, subject: string): PodClaims {
  const k8s = claims['kubernetes.io']
  const k = typeof k8s === 'object' && k8s !== null ? (k8s as Record<string, unknown>) : {}
  const sa =
    typeof k['serviceaccount'] === 'object' && k['serviceaccount'] !== null
      ? (k['serviceaccount'] as Record<string, unknown>)
      : {}
  const pod =
    typeof k['pod'] === 'object' && k['pod'] !== null ? (k['pod'] as Record<string, unknown>) : {}
  const namespace = str(k['namespace'])
  const serviceAccount = str(sa['name'])
  const podName = str(pod['name'])
  const podUid = str(pod['uid'])
  if (namespace === undefined || serviceAccount === undefined) {
    throw new EksAuthError(
      'InvalidTokenException',
      'token is not a Kubernetes service account token',
    )
  }
  if (podName === undefined || podUid === undefined) {
    throw new EksAuthError('InvalidTokenException', 'token is not bound to a pod')
  }
  if (subject !== `system:serviceaccount:${namespace}:${serviceAccount}`) {
    throw new EksAuthError(
      'InvalidTokenException',
      'token subject does not match its service account claims',
    )
  }
  return { namespace, serviceAccount, podName, podUid }
}

function mapTokenError(err: unknown): EksAuthError {
  const code = (err as { code?: unknown }).code
  switch (code) {
    case 'TOKEN_EXPIRED':
      return new EksAuthError('ExpiredTokenException', 'token is expired', { cause: err })
    case 'ISSUER_UNREACHABLE':
      return new EksAuthError(
        'ServiceUnavailableException',
        'the cluster issuer could not be reached',
        { cause: err },
      )
    case 'TOKEN_AUDIENCE_MISMATCH':
      return new EksAuthError(
        'InvalidTokenException',
        `token audience is not '${POD_IDENTITY_AUDIENCE}'`,
        { cause: err },
      )
    case 'TOKEN_ISSUER_MISMATCH':
      return new EksAuthError('InvalidTokenException', 'token was not issued by the cluster', {
        cause: err,
      })
    default:
      return new EksAuthError('InvalidTokenException', 'token could not be verified', {
        cause: err,
      })
  }
}

/** Runs the whole flow and records one audit event, success or failure. */
export async function assumeRoleForPodIdentity(
  deps: PodIdentityDeps,
  input: AssumeRoleForPodIdentityInput,
): Promise<AssumeRoleForPodIdentityOutput> {
  const auditBase = { clusterName: input.clusterName } as Record<string, unknown>
  try {
    const out = await run(deps, input, auditBase)
    await recordAudit(deps, input, auditBase, out, undefined)
    return out
  } catch (err) {
    await recordAudit(deps, input, auditBase, undefined, err)
    throw err
  }
}

async function run(
  deps: PodIdentityDeps,
  input: AssumeRoleForPodIdentityInput,
  auditParams: Record<string, unknown>,
): Promise<AssumeRoleForPodIdentityOutput> {
  const token = checkInput(input)
  const cluster = await authorizedCluster(deps, input)
  const now = deps.now()
  const pod = await verifyPodToken(deps, cluster, token, now)
  auditParams['namespace'] = pod.namespace
  auditParams['serviceAccount'] = pod.serviceAccount
  auditParams['podName'] = pod.podName
  const { association, assocArn } = await associationFor(deps, cluster, pod)
  auditParams['associationId'] = association.associationId
  const first = await assumeAssociationRole(deps, { cluster, pod, association, assocArn, now })
  const final =
    association.targetRoleArn === undefined
      ? first.session
      : await chainToTarget(
          deps,
          association,
          first.role,
          first.session,
          first.tags,
          first.sessionName,
          now,
        )
  return {
    subject: { namespace: pod.namespace, serviceAccount: pod.serviceAccount },
    audience: POD_IDENTITY_AUDIENCE,
    podIdentityAssociation: { associationArn: assocArn, associationId: association.associationId },
    assumedRoleUser: {
      arn: final.assumedRoleUser.arn,
      assumeRoleId: final.assumedRoleUser.assumedRoleId,
    },
    credentials: {
      sessionToken: final.credentials.sessionToken,
      secretAccessKey: final.credentials.secretAccessKey,
      accessKeyId: final.credentials.accessKeyId,
      expiration: Math.floor(final.credentials.expiration.getTime() / 1000),
    },
  }
}

/** The request members (model: ClusterName 1–100 pattern; JwtToken pattern); returns the trimmed token. */
function checkInput(input: AssumeRoleForPodIdentityInput): string {
  if (!CLUSTER_NAME_PATTERN.test(input.clusterName)) {
    throw new EksAuthError('InvalidParameterException', 'clusterName is not a valid cluster name')
  }
  if (typeof input.token !== 'string' || input.token.length === 0) {
    throw new EksAuthError('InvalidParameterException', 'token is required')
  }
  const token = input.token.trim()
  if (!TOKEN_PATTERN.test(token)) {
    throw new EksAuthError('InvalidTokenException', 'token is not a JWT')
  }
  return token
}

/** The cluster and, when the call came over the API, the caller's permission on it. */
async function authorizedCluster(
  deps: PodIdentityDeps,
  input: AssumeRoleForPodIdentityInput,
): Promise<ClusterView> {
  const cluster = await deps.getCluster(input.clusterName)
  // Authorization before existence: an unknown cluster is checked against the ARN it would have.
  const resource =
    cluster?.arn ??
    clusterArn(deps.region, input.caller?.accountId ?? '000000000000', input.clusterName)
  if (input.caller !== undefined && deps.authorizeCaller !== undefined) {
    if (!(await deps.authorizeCaller(input.caller, resource))) {
      throw new EksAuthError(
        'AccessDeniedException',
        `${input.caller.arn} is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: ${resource}`,
      )
    }
  }
  if (cluster === undefined) {
    throw new EksAuthError(
      'ResourceNotFoundException',
      `No cluster found for name: ${input.clusterName}.`,
    )
  }
  return cluster
}

/** Verifies the token against the cluster's issuer only: a token of another cluster fails here. */
async function verifyPodToken(
  deps: PodIdentityDeps,
  cluster: ClusterView,
  token: string,
  now: Date,
): Promise<PodClaims> {
  let verified: Awaited<ReturnType<PodIdentityDeps['verifyToken']>>
  try {
    verified = await deps.verifyToken(token, {
      issuer: cluster.issuerUrl,
      audiences: [POD_IDENTITY_AUDIENCE],
      now,
    })
  } catch (err) {
    throw mapTokenError(err)
  }
  return podClaims(verified.claims, verified.subject)
}

/** The association for (cluster, namespace, service account). */
async function associationFor(
  deps: PodIdentityDeps,
  cluster: ClusterView,
  pod: PodClaims,
): Promise<{ association: AssociationRow; assocArn: string }> {
  const association = await deps.repo.findAssociation(
    cluster.name,
    pod.namespace,
    pod.serviceAccount,
  )
  if (association === undefined) {
    throw new EksAuthError(
      'ResourceNotFoundException',
      `No Pod Identity Association found for namespace ${pod.namespace} and service account ${pod.serviceAccount} in cluster ${cluster.name}`,
    )
  }
  const assocArn = associationArn(
    cluster.region,
    cluster.accountId,
    cluster.name,
    association.associationId,
  )
  return { association, assocArn }
}

/** First hop: the association's role, as service principal pods.eks.amazonaws.com. */
async function assumeAssociationRole(
  deps: PodIdentityDeps,
  input: {
    cluster: ClusterView
    pod: PodClaims
    association: AssociationRow
    assocArn: string
    now: Date
  },
): Promise<{ role: RoleLike; session: CreatedSession; tags: SessionTag[]; sessionName: string }> {
  const { cluster, pod, association } = input
  const role = await deps.getRole(association.roleArn)
  if (role === undefined) {
    throw new EksAuthError('AccessDeniedException', `role ${association.roleArn} does not exist`)
  }
  const tags = association.disableSessionTags
    ? []
    : podIdentityTags({
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        namespace: pod.namespace,
        serviceAccount: pod.serviceAccount,
        podName: pod.podName,
        podUid: pod.podUid,
      })
  const sessionName = podIdentitySessionName(cluster.name, pod.podName, uuidV4(deps.randomBytes))
  const context = buildRequestContext({
    now: input.now,
    secureTransport: true,
    region: deps.region,
    requestTags: tags,
    sts: {
      roleSessionName: sessionName,
      ...(tags.length > 0 ? { transitiveTagKeys: [...POD_IDENTITY_TAG_KEYS] } : {}),
    },
    extra: {
      // Set by EKS so confused-deputy guards in trust policies work (EKS User Guide, "Create the Pod Identity
      // role": https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
      'aws:SourceArn': input.assocArn,
      'aws:SourceAccount': cluster.accountId,
      'aws:PrincipalIsAWSService': 'true',
      'aws:PrincipalServiceName': POD_IDENTITY_SERVICE_PRINCIPAL,
    },
  })
  await requireTrust(deps, {
    principal: POD_IDENTITY_SERVICE_PRINCIPAL,
    role,
    context,
    tagging: tags.length > 0,
  })
  const chained = association.targetRoleArn !== undefined
  const durationSeconds = chained
    ? CHAINED_MAX_DURATION_SECONDS
    : Math.min(POD_IDENTITY_MAX_DURATION_SECONDS, Math.max(3600, role.maxSessionDuration))
  const session = await deps.createSession({
    role,
    sessionName,
    durationSeconds,
    ...(tags.length > 0 ? { tags, transitiveTagKeys: [...POD_IDENTITY_TAG_KEYS] } : {}),
    // "If you specify both a TargetRoleArn and a policy, the policy restrictions apply only to the target role".
    ...(!chained && association.policy !== undefined ? { sessionPolicy: association.policy } : {}),
  })
  return { role, session, tags, sessionName }
}

async function requireTrust(
  deps: PodIdentityDeps,
  input: {
    principal: string
    role: RoleLike
    context: Record<string, string | string[]>
    tagging: boolean
    callerRole?: RoleLike
  },
): Promise<void> {
  const actions = trustActions('sts:AssumeRole', {
    tagging: input.tagging,
    setsSourceIdentity: false,
  })
  for (const action of actions) {
    const check: TrustCheck = {
      principal: input.principal,
      action,
      role: input.role,
      context: input.context,
    }
    if (input.callerRole !== undefined) check.callerRole = input.callerRole
    const result = await deps.authorizeTrust(check)
    if (!result.allowed) {
      const who =
        input.principal === POD_IDENTITY_SERVICE_PRINCIPAL ? 'EKS Pod Identity' : input.principal
      throw new EksAuthError(
        'AccessDeniedException',
        `${who} is not authorized to perform: ${action} on resource: ${input.role.arn}`,
      )
    }
  }
}

/** Second hop: the first session assumes `targetRoleArn` with `sts:ExternalId` = the association's id. */
async function chainToTarget(
  deps: PodIdentityDeps,
  association: AssociationRow,
  firstRole: RoleLike,
  first: CreatedSession,
  tags: SessionTag[],
  sessionName: string,
  now: Date,
): Promise<CreatedSession> {
  const targetArn = association.targetRoleArn ?? ''
  const target = await deps.getRole(targetArn)
  if (target === undefined) {
    throw new EksAuthError('AccessDeniedException', `target role ${targetArn} does not exist`)
  }
  // The first session is the caller of the second AssumeRole.
  const caller: Caller = {
    arn: first.assumedRoleUser.arn,
    accountId: firstRole.accountId,
    userId: first.assumedRoleUser.assumedRoleId,
    accessKeyId: first.credentials.accessKeyId,
    type: 'AssumedRole',
    ...(first.session === undefined ? {} : { session: first.session }),
  }
  const context = buildRequestContext({
    now,
    caller,
    principalTags: tags,
    secureTransport: true,
    region: deps.region,
    sts: {
      roleSessionName: sessionName,
      ...(association.externalId === undefined ? {} : { externalId: association.externalId }),
    },
    extra: { 'aws:PrincipalArn': firstRole.arn },
  })
  await requireTrust(deps, {
    principal: first.assumedRoleUser.arn,
    role: target,
    context,
    tagging: tags.length > 0,
    callerRole: firstRole,
  })
  return deps.createSession({
    role: target,
    sessionName,
    durationSeconds: CHAINED_MAX_DURATION_SECONDS,
    chained: true,
    ...(tags.length > 0
      ? {
          inheritedTransitiveTags: transitiveTagsOf({
            tags,
            transitiveTagKeys: POD_IDENTITY_TAG_KEYS,
          }),
        }
      : {}),
    ...(association.policy === undefined ? {} : { sessionPolicy: association.policy }),
  })
}

async function recordAudit(
  deps: PodIdentityDeps,
  input: AssumeRoleForPodIdentityInput,
  params: Record<string, unknown>,
  out: AssumeRoleForPodIdentityOutput | undefined,
  err: unknown,
): Promise<void> {
  if (deps.audit === undefined) return
  const now = deps.now()
  const caller = input.caller
  const event: AuditEvent = {
    eventVersion: '1.08',
    eventTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'eks-auth.amazonaws.com',
    eventName: 'AssumeRoleForPodIdentity',
    awsRegion: deps.region,
    sourceIPAddress: input.sourceIp ?? '127.0.0.1',
    userAgent: input.userAgent ?? 'podtrust-agent',
    userIdentity:
      caller === undefined
        ? { type: 'AWSService', invokedBy: 'podtrust-agent' }
        : {
            type: caller.type ?? 'AssumedRole',
            arn: caller.arn,
            accountId: caller.accountId,
            ...(caller.userId === undefined ? {} : { principalId: caller.userId }),
            ...(caller.accessKeyId === undefined ? {} : { accessKeyId: caller.accessKeyId }),
          },
    requestParameters: { ...params },
    responseElements:
      out === undefined
        ? null
        : {
            assumedRoleUser: out.assumedRoleUser,
            podIdentityAssociation: out.podIdentityAssociation,
            credentials: {
              accessKeyId: out.credentials.accessKeyId,
              expiration: new Date(out.credentials.expiration * 1000).toISOString(),
            },
          },
    requestID: input.requestId,
    eventID: uuidV4(deps.randomBytes),
    readOnly: false,
    eventType: 'AwsApiCall',
  }
  if (err !== undefined) {
    const code = (err as { code?: unknown }).code
    event.errorCode =
      err instanceof EksAuthError && typeof code === 'string' ? code : 'InternalServerException'
    event.errorMessage = err instanceof EksAuthError ? err.message : 'internal error'
  }
  await deps.audit(event)
}
