/**
 * @module analysis/doctor
 * `podtrust doctor`'s pure core: given what the adapter read (the store's roles, OIDC providers, clusters and
 * associations; an optional ServiceAccount, pod manifest, token and client environment), walk the identity chain
 * link by link and stop at the first broken one, with the reason and the exact fix.
 *
 * IRSA (EKS user guide, "IAM roles for service accounts"): mapping (annotation) → webhook injection (the real
 * mutation of src/mutation) → SDK credential chain → token claims and expiry → IAM OIDC provider (issuer,
 * ClientIDList) → role → trust policy (the engine's explanation) → permissions (identity ∩ boundary).
 * Pod Identity (EKS user guide, "EKS Pod Identity"): association → injection → SDK chain → token → cluster →
 * role → trust (AssumeRole + TagSession for pods.eks.amazonaws.com) → target role → permissions (∩ session policy).
 * Azure Workload Identity: client-id annotation and `azure.workload.identity/use` label → injection → token →
 * federated identity credential (issuer, subject, audience).
 * GCP (podtrust's webhook annotations; Google "Workload Identity Federation with Kubernetes"): provider annotation
 * → injection → token (audience `//iam.googleapis.com/<provider>`) → provider (issuer, allowed audiences) →
 * attribute mapping and condition → `roles/iam.workloadIdentityUser` on the Google service account.
 */
import { decodeJwt } from 'jose'
import { mutate } from '../mutation/index.ts'
import type { Pod, ServiceAccount as MutationServiceAccount } from '../mutation/types.ts'
import { defaultWebhookConfig } from '../mutation/index.ts'
import {
  authorize,
  compilePolicy,
  type AuthorizationResult,
  type CompiledPolicy,
} from '../policy/index.ts'
import { envKeySource } from './credentials.ts'
import {
  imdsFallbackNote,
  nodeImdsLink,
  podSpecOf,
  type IntendedIdentity,
  type NodeFacts,
} from './doctor-imds.ts'
import type {
  Container,
  IamRole,
  OidcProvider,
  PodIdentityAssociation,
  PodSpecInfo,
} from './model.ts'
import {
  DEFAULT_AUDIENCE,
  evaluatePodIdentity,
  evaluateWebIdentity,
  IRSA_AUDIENCE_ANNOTATION,
  IRSA_ROLE_ANNOTATION,
  POD_IDENTITY_PRINCIPAL,
  subjectOf,
} from './reachability.ts'

export interface DoctorLink {
  name: string
  ok: boolean
  /** The chain holds here, but something is worth fixing (the pod can still reach the node role). */
  warning?: true
  reason: string
  fix?: string
}

export interface DoctorReport {
  mechanism: 'irsa' | 'pod-identity' | 'azure' | 'gcp' | 'none'
  ok: boolean
  links: DoctorLink[]
}

export interface DoctorRole {
  role: IamRole
  identity: CompiledPolicy[]
  boundary?: CompiledPolicy
}

export interface FederatedCredential {
  identity: string
  clientId: string
  tenantId: string
  issuer: string
  subject: string
  audiences: string[]
}

export interface ClientEnvironment {
  env: Record<string, string>
  /** AWS CLI v1 web-identity cache entries (~/.aws/cli/cache/*.json). */
  cliCache: { file: string; accessKeyId?: string; expiration?: Date }[]
  /** Profiles in the shared credentials file. */
  credentialsFileProfiles: string[]
}

/**
 * The GCP side, answered by the adapter from the store with src/gcp's own federation code (the domain does not
 * import protocol adapters): provider lookup, attribute mapping + condition, and the GSA's IAM bindings.
 */
export interface GcpDoctorPort {
  provider(
    resourceName: string,
  ): { disabled: boolean; issuerUri: string; allowedAudiences: string[] } | undefined
  federate(
    resourceName: string,
    claims: Record<string, unknown>,
  ): { ok: true; subject: string } | { ok: false; message: string }
  /** Whether the federated identity holds roles/iam.workloadIdentityUser (or token creator) on the GSA. */
  canImpersonate(
    email: string,
    resourceName: string,
    claims: Record<string, unknown>,
  ): { ok: boolean; detail: string }
}

export interface DoctorInput {
  now: Date
  accountId: string
  namespace: string
  serviceAccount: string
  /** The ServiceAccount's annotations and labels (from a manifest or --role-arn); absent: unknown. */
  serviceAccountObject?: { annotations: Record<string, string>; labels: Record<string, string> }
  pod?: Pod
  /** The raw JWT of the pod's projected token. */
  token?: string
  providers: OidcProvider[]
  clusters: { name: string; arn: string; issuerUrl: string; accountId: string }[]
  /** The cluster the pod runs in (its issuer is the expected token issuer). */
  cluster?: string
  associations: PodIdentityAssociation[]
  /** Association session policies by association id. */
  associationPolicies?: Record<string, CompiledPolicy>
  roles: Map<string, DoctorRole>
  federatedCredentials?: FederatedCredential[]
  gcp?: GcpDoctorPort
  client?: ClientEnvironment
  /** What is known of the nodes (metadata settings, NetworkPolicies); absent: the node-imds link is skipped. */
  node?: NodeFacts
  action?: string
  resource?: string
}

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:role\/[\w+=,.@/-]+$/
const AZURE_CLIENT_ID = 'azure.workload.identity/client-id'
const AZURE_USE_LABEL = 'azure.workload.identity/use'
const AZURE_AUDIENCE = 'api://AzureADTokenExchange'
const GCP_PROVIDER_ANNOTATION = 'podtrust.io/gcp-workload-identity-provider'
const GCP_SA_ANNOTATION = 'iam.gke.io/gcp-service-account'

class Chain {
  readonly links: DoctorLink[] = []
  private broken = false
  add(name: string, ok: boolean, reason: string, fix?: string): boolean {
    if (this.broken) return false
    this.links.push({ name, ok, reason, ...(fix !== undefined && !ok ? { fix } : {}) })
    if (!ok) this.broken = true
    return ok
  }
  /** A link built elsewhere; a warning keeps its fix. */
  push(link: DoctorLink): boolean {
    if (this.broken) return false
    const { fix, ...rest } = link
    this.links.push({
      ...rest,
      ...(fix !== undefined && (!link.ok || link.warning) ? { fix } : {}),
    })
    if (!link.ok) this.broken = true
    return link.ok
  }
  get ok(): boolean {
    return !this.broken
  }
}

function podSpecFor(input: DoctorInput) {
  return podSpecOf(
    input.pod,
    input.namespace,
    input.serviceAccount,
    input.pod !== undefined && isLive(input.pod),
  )
}

/** Scan's IMDS reachability and the SDK's precedence for this pod (skipped when nothing is known of the nodes). */
function imdsLink(chain: Chain, input: DoctorInput, intended: IntendedIdentity): void {
  if (input.node === undefined) return
  chain.push(nodeImdsLink(podSpecFor(input), input.node, intended))
}

function roleName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1)
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export function irsaTrustDocument(
  providerArn: string,
  providerUrl: string,
  sub: string,
  aud: string,
): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${providerUrl}:sub`]: sub, [`${providerUrl}:aud`]: aud } },
      },
    ],
  }
}

/** The first statement's failing element with the request's value for a condition key. */
export function explainDenial(
  result: AuthorizationResult | undefined,
  context: Record<string, string | string[]>,
): string {
  if (result === undefined) return 'the policy could not be evaluated'
  if (result.decision === 'ExplicitlyDenied') {
    const deny = result.matched.find((m) => m.effect === 'Deny')
    return `explicitly denied by statement ${deny?.sid ?? `#${deny?.index ?? '?'}`} of ${deny?.policyId ?? 'a policy'}`
  }
  if (result.blockedBy.length > 0) return `blocked by ${result.blockedBy.join(', ')}`
  const parts = result.unmatched.map((m) => {
    if (m.element === 'Condition' && m.detail !== undefined) {
      const key = m.detail.split(' ').slice(1).join(' ')
      const seen = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1]
      return `${m.policyId} statement ${m.sid ?? `#${m.index}`}: condition ${m.detail} failed (request value: ${seen === undefined ? 'absent' : JSON.stringify(seen)})`
    }
    return `${m.policyId} statement ${m.sid ?? `#${m.index}`}: ${m.element} does not match`
  })
  return parts.length === 0 ? 'no statement allows it (implicit deny)' : parts.join('; ')
}

function podContainers(pod: Pod | undefined): Container[] {
  if (pod === undefined) return []
  const spec = (pod.spec ?? {}) as { containers?: unknown[]; initContainers?: unknown[] }
  const list = [...(spec.containers ?? [])] as {
    name?: string
    env?: { name: string; value?: string; valueFrom?: unknown }[]
    envFrom?: unknown[]
    volumeMounts?: { name: string; mountPath: string }[]
  }[]
  return list.map((c) => ({
    name: c.name ?? '',
    init: false,
    env: (c.env ?? []).map((e) => ({
      name: e.name,
      ...(e.value !== undefined ? { value: e.value } : {}),
    })),
    envFrom: [],
    volumeMounts: c.volumeMounts ?? [],
    args: [],
    command: [],
  }))
}

function isLive(pod: Pod): boolean {
  const meta = pod.metadata as { uid?: string; creationTimestamp?: string } | undefined
  return (
    meta?.uid !== undefined ||
    meta?.creationTimestamp !== undefined ||
    (pod as { status?: unknown }).status !== undefined
  )
}

function envOf(c: Container, name: string): string | undefined {
  return c.env.find((e) => e.name === name)?.value
}

function decodeToken(token: string): { claims?: Record<string, unknown>; error?: string } {
  try {
    return { claims: decodeJwt(token.trim()) as Record<string, unknown> }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** Client-side traps of the AWS SDK credential chain (pod env from the manifest, or an inspected environment). */
function sdkChainLink(chain: Chain, input: DoctorInput, mechanism: 'irsa' | 'pod-identity'): void {
  const problems: string[] = []
  const fixes: string[] = []
  const containers = podContainers(input.pod)
  const pseudoPod: PodSpecInfo = {
    namespace: input.namespace,
    name: 'pod',
    kind: 'Pod',
    live: true,
    serviceAccountName: input.serviceAccount,
    automountServiceAccountToken: undefined,
    hostNetwork: false,
    annotations: {},
    labels: {},
    containers,
    volumes: [],
    source: 'pod manifest',
  }
  for (const c of containers) {
    const keys = envKeySource(pseudoPod, c, [])
    if (keys !== undefined) {
      problems.push(
        `container ${c.name} sets AWS_ACCESS_KEY_ID (${keys.via}): environment keys come first in every SDK's chain and shadow ${mechanism === 'irsa' ? 'web identity' : 'Pod Identity'}`,
      )
      fixes.push(`remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from container ${c.name}`)
    }
    if (
      mechanism === 'pod-identity' &&
      envOf(c, 'AWS_ROLE_ARN') !== undefined &&
      envOf(c, 'AWS_WEB_IDENTITY_TOKEN_FILE') !== undefined
    ) {
      problems.push(
        `container ${c.name} also has IRSA (AWS_ROLE_ARN): web identity precedes the container provider, so the Pod Identity role is never used`,
      )
      fixes.push(
        `kubectl annotate serviceaccount -n ${input.namespace} ${input.serviceAccount} ${IRSA_ROLE_ANNOTATION}-`,
      )
    }
  }
  const client = input.client
  if (client !== undefined) {
    const env = client.env
    // The workload is meant to use a web identity / container provider: any environment keys shadow it.
    if (env['AWS_ACCESS_KEY_ID'] !== undefined) {
      problems.push(
        `the environment has AWS_ACCESS_KEY_ID=${env['AWS_ACCESS_KEY_ID'].slice(0, 4)}…: static keys shadow ${mechanism === 'irsa' ? 'web identity' : 'Pod Identity'} (the SDK signs with them; an unknown key gives InvalidClientTokenId)`,
      )
      fixes.push('unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN')
    }
    if (env['AWS_PROFILE'] !== undefined || client.credentialsFileProfiles.includes('default')) {
      const profile = env['AWS_PROFILE'] ?? 'default'
      if (client.credentialsFileProfiles.includes(profile) && mechanism === 'irsa') {
        problems.push(
          `the shared credentials file has profile [${profile}]: the AWS SDK for JavaScript v3 reads it before web identity (botocore does not)`,
        )
        fixes.push(`remove profile [${profile}] from ~/.aws/credentials (or unset AWS_PROFILE)`)
      }
    }
    const now = input.now.getTime()
    const live = client.cliCache.filter(
      (c) => c.expiration === undefined || c.expiration.getTime() > now,
    )
    if (live.length > 0 && mechanism === 'irsa') {
      problems.push(
        `the AWS CLI has ${live.length} cached web-identity credential set(s) in ~/.aws/cli/cache (${live.map((c) => c.file).join(', ')}) from an earlier setup; the CLI reuses them until they expire, and a podtrust that does not know them answers InvalidClientTokenId`,
      )
      fixes.push('rm -rf ~/.aws/cli/cache')
    }
  }
  chain.add(
    'sdk-credentials',
    problems.length === 0,
    problems.length === 0
      ? `nothing earlier in the SDK credential chain shadows ${mechanism === 'irsa' ? 'web identity' : 'the container credentials provider'}${containers.length === 0 && client === undefined ? ' (no pod manifest or client environment given)' : ''}`
      : problems.join('; '),
    fixes.join(' && '),
  )
}

function webhookLink(chain: Chain, input: DoctorInput, podIdentity: boolean): void {
  const sa: MutationServiceAccount = {
    metadata: {
      name: input.serviceAccount,
      namespace: input.namespace,
      annotations: input.serviceAccountObject?.annotations ?? {},
      labels: input.serviceAccountObject?.labels ?? {},
    },
  }
  const basePod: Pod = input.pod ?? {
    metadata: { name: 'doctor-probe', namespace: input.namespace },
    spec: { serviceAccountName: input.serviceAccount, containers: [{ name: 'app', image: 'app' }] },
  }
  const want = podIdentity ? 'AWS_CONTAINER_CREDENTIALS_FULL_URI' : 'AWS_ROLE_ARN'
  const containers = podContainers(input.pod)
  const has = containers.length > 0 && containers.every((c) => envOf(c, want) !== undefined)
  if (input.pod !== undefined && isLive(input.pod)) {
    const name = (input.pod.metadata as { name?: string } | undefined)?.name ?? '<pod>'
    if (!has) {
      chain.add(
        'webhook-injection',
        false,
        `pod ${input.namespace}/${name} has no ${want}: it was created before the ServiceAccount was ${podIdentity ? 'associated' : 'annotated'} (or while the webhook was down); the webhook mutates pods only at creation${imdsFallbackNote(podSpecFor(input), input.node)}`,
        `kubectl -n ${input.namespace} delete pod ${name}   # or: kubectl -n ${input.namespace} rollout restart deployment/<owner>`,
      )
      return
    }
    if (!podIdentity) {
      const annotated = input.serviceAccountObject?.annotations[IRSA_ROLE_ANNOTATION]
      const injected = containers.map((c) => envOf(c, 'AWS_ROLE_ARN')).find((v) => v !== undefined)
      if (annotated !== undefined && injected !== annotated) {
        chain.add(
          'webhook-injection',
          false,
          `pod ${input.namespace}/${name} was injected AWS_ROLE_ARN=${injected}, but the ServiceAccount now names ${annotated}: the pod predates the annotation change`,
          `kubectl -n ${input.namespace} delete pod ${name}`,
        )
        return
      }
    }
    chain.add(
      'webhook-injection',
      true,
      `pod ${input.namespace}/${name} carries ${want} and its projected token`,
    )
    return
  }
  const result = mutate({
    endpoint: 'aws',
    pod: basePod,
    namespace: input.namespace,
    serviceAccount: sa,
    podIdentity,
    config: defaultWebhookConfig(),
    random: () => 0,
  })
  if (result.kind !== 'patch' || !result.modes.includes(podIdentity ? 'pod-identity' : 'irsa')) {
    chain.add(
      'webhook-injection',
      false,
      `the webhook would not inject ${podIdentity ? 'Pod Identity' : 'IRSA'} credentials into a new pod (${result.kind === 'patch' ? `modes ${result.modes.join(', ') || 'none'}` : result.kind === 'allow' ? result.reason : result.message})`,
      podIdentity
        ? `aws eks create-pod-identity-association --cluster-name <cluster> --namespace ${input.namespace} --service-account ${input.serviceAccount} --role-arn <role>`
        : `kubectl annotate serviceaccount -n ${input.namespace} ${input.serviceAccount} ${IRSA_ROLE_ANNOTATION}=<role ARN>`,
    )
    return
  }
  const env =
    JSON.stringify(result.patch)
      .match(/"name":"(AWS_[A-Z_]+)"/g)
      ?.map((m) => m.slice(8, -1)) ?? []
  chain.add(
    'webhook-injection',
    true,
    `the webhook injects ${[...new Set(env)].join(', ')} and a projected token into new pods of ${input.namespace}/${input.serviceAccount}`,
  )
}

function tokenLink(
  chain: Chain,
  input: DoctorInput,
  audience: string,
  issuerUrl: string | undefined,
): { iss?: string } {
  const sub = subjectOf(input.namespace, input.serviceAccount)
  if (input.token === undefined) {
    chain.add(
      'token',
      true,
      `no token given; the pod's projected token carries sub ${sub}, aud ${audience}${issuerUrl !== undefined ? `, iss ${issuerUrl}` : ''}`,
    )
    return issuerUrl === undefined ? {} : { iss: issuerUrl }
  }
  const { claims, error } = decodeToken(input.token)
  if (claims === undefined) {
    chain.add(
      'token',
      false,
      `the token file is not a JWT (${error})`,
      `kubectl create token ${input.serviceAccount} -n ${input.namespace} --audience ${audience}`,
    )
    return {}
  }
  const aud = Array.isArray(claims.aud) ? (claims.aud as string[]) : [String(claims.aud)]
  const exp = typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined
  if (claims.sub !== sub) {
    chain.add(
      'token',
      false,
      `the token is for ${String(claims.sub)}, not ${sub}`,
      `mount the token of ServiceAccount ${input.namespace}/${input.serviceAccount}`,
    )
  } else if (!aud.includes(audience)) {
    chain.add(
      'token',
      false,
      `the token audience is ${aud.join(', ')}, not ${audience}: STS answers InvalidIdentityToken (incorrect token audience)`,
      `request the token with audience ${audience} (projected volume serviceAccountToken.audience, or kubectl create token ${input.serviceAccount} -n ${input.namespace} --audience ${audience})`,
    )
  } else if (exp !== undefined && exp.getTime() <= input.now.getTime()) {
    chain.add(
      'token',
      false,
      `the token expired at ${exp.toISOString()} (now ${input.now.toISOString()}): STS answers ExpiredTokenException`,
      'read the token file again before each exchange (kubelet rotates it); check the node clock',
    )
  } else {
    chain.add(
      'token',
      true,
      `sub ${sub}, aud ${aud.join(', ')}, iss ${String(claims.iss)}${exp !== undefined ? `, expires ${exp.toISOString()}` : ''}`,
    )
  }
  return typeof claims.iss === 'string' ? { iss: claims.iss } : {}
}

function permissionsLink(
  chain: Chain,
  input: DoctorInput,
  role: DoctorRole,
  session: CompiledPolicy[] = [],
): void {
  if (input.action === undefined) return
  const resource = input.resource ?? '*'
  const sessionArn = `arn:aws:sts::${role.role.accountId}:assumed-role/${role.role.name}/podtrust-doctor`
  const context = {
    'aws:PrincipalArn': role.role.arn,
    'aws:PrincipalAccount': role.role.accountId,
    'aws:CurrentTime': input.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'aws:SecureTransport': 'true',
  }
  const result = authorize({
    principal: sessionArn,
    action: input.action,
    resource,
    context,
    identityPolicies: role.identity,
    ...(role.boundary !== undefined ? { permissionBoundaries: [role.boundary] } : {}),
    ...(session.length > 0 ? { sessionPolicies: session } : {}),
  })
  if (result.decision === 'Allowed') {
    chain.add(
      'permissions',
      true,
      `${role.role.name} may ${input.action} on ${resource} (${result.matched
        .filter((m) => m.effect === 'Allow')
        .map((m) => `${m.policyId}${m.sid !== undefined ? `#${m.sid}` : ''}`)
        .join(', ')})`,
    )
    return
  }
  let reason = `${role.role.name} may not ${input.action} on ${resource}: ${explainDenial(result, context)}`
  let fix = `aws iam put-role-policy --role-name ${role.role.name} --policy-name podtrust-doctor-fix --policy-document ${shellQuote(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: input.action, Resource: resource }] }))}`
  // The classic S3 trap: bucket-level actions on object ARNs (Service Authorization Reference: ListBucket's
  // resource type is `bucket`, arn:aws:s3:::NAME).
  const bucket = /^arn:aws[\w-]*:s3:::([^/]+)$/.exec(resource)?.[1]
  if (
    bucket !== undefined &&
    /^s3:(ListBucket|ListBucketVersions|GetBucketLocation|ListBucketMultipartUploads)$/i.test(
      input.action,
    )
  ) {
    const objectOnly = role.identity.some((p) =>
      p.model.statements.some(
        (st) =>
          st.effect === 'Allow' &&
          (st.resource ?? []).some((r) => r.startsWith(`arn:aws:s3:::${bucket}/`)) &&
          (st.action ?? []).some((a) => a.toLowerCase().startsWith('s3:')),
      ),
    )
    if (objectOnly)
      reason += `. ${input.action} acts on the bucket ARN arn:aws:s3:::${bucket}; the policy grants S3 actions on arn:aws:s3:::${bucket}/* (objects) only`
    fix = `aws iam put-role-policy --role-name ${role.role.name} --policy-name list-${bucket} --policy-document ${shellQuote(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: input.action, Resource: `arn:aws:s3:::${bucket}` }] }))}`
  }
  if (result.decision === 'ExplicitlyDenied')
    fix = 'remove or narrow the Deny statement named above'
  if (result.blockedBy.includes('pb'))
    fix = `add ${input.action} on ${resource} to the permissions boundary ${role.boundary?.id ?? ''}`
  chain.add('permissions', false, reason, fix)
}

function diagnoseIrsa(input: DoctorInput, roleArn: string, source: string): DoctorReport {
  const chain = new Chain()
  const sub = subjectOf(input.namespace, input.serviceAccount)
  const audience =
    input.serviceAccountObject?.annotations[IRSA_AUDIENCE_ANNOTATION] ?? DEFAULT_AUDIENCE
  if (
    !chain.add(
      'identity-mapping',
      ROLE_ARN.test(roleArn),
      ROLE_ARN.test(roleArn)
        ? `${input.namespace}/${input.serviceAccount} → ${roleArn} (${source})`
        : `${source} ${JSON.stringify(roleArn)} is not a role ARN`,
      `kubectl annotate --overwrite serviceaccount -n ${input.namespace} ${input.serviceAccount} ${IRSA_ROLE_ANNOTATION}=arn:aws:iam::${input.accountId}:role/<name>`,
    )
  )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  webhookLink(chain, input, false)
  sdkChainLink(chain, input, 'irsa')
  imdsLink(chain, input, 'irsa')
  const cluster =
    input.clusters.find((c) => c.name === input.cluster) ??
    (input.clusters.length === 1 ? input.clusters[0] : undefined)
  const { iss } = tokenLink(chain, input, audience, cluster?.issuerUrl)
  if (!chain.ok) return { mechanism: 'irsa', ok: false, links: chain.links }

  // The provider: the token's issuer, else the cluster's, else the one the trust names.
  const role = input.roles.get(roleArn)
  const trusted =
    role?.role.trust.compiled?.model.statements
      .flatMap((s) => s.principal?.federated ?? [])
      .filter((f) => f.includes(':oidc-provider/')) ?? []
  const issuerUrl = (
    iss ??
    (trusted[0] !== undefined
      ? `https://${trusted[0].slice(trusted[0].indexOf(':oidc-provider/') + 15)}`
      : undefined)
  )?.replace(/\/+$/, '')
  if (issuerUrl === undefined) {
    chain.add(
      'oidc-provider',
      false,
      'the cluster issuer is unknown (no token, no single cluster in the store, and the trust names no OIDC provider)',
      'give --token-file or --cluster',
    )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  }
  const bare = issuerUrl.replace(/^https:\/\//, '')
  const provider = input.providers.find((p) => p.url.replace(/\/+$/, '') === bare)
  if (provider === undefined) {
    chain.add(
      'oidc-provider',
      false,
      `no IAM OIDC provider for issuer ${issuerUrl} in account ${input.accountId}: STS answers InvalidIdentityToken (no OpenIDConnect provider found)`,
      `aws iam create-open-id-connect-provider --url ${issuerUrl} --client-id-list ${audience} --thumbprint-list <sha1 of the issuer's TLS root>`,
    )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  }
  if (!provider.clientIds.includes(audience)) {
    chain.add(
      'oidc-provider',
      false,
      `OIDC provider ${provider.url} does not list audience ${audience} (ClientIDList: ${provider.clientIds.join(', ') || 'empty'}): STS answers InvalidIdentityToken (incorrect token audience)`,
      `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --client-id ${audience}`,
    )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  }
  chain.add('oidc-provider', true, `${provider.arn} accepts audience ${audience}`)

  if (role === undefined) {
    chain.add(
      'role',
      false,
      `role ${roleArn} does not exist`,
      `aws iam create-role --role-name ${roleName(roleArn)} --assume-role-policy-document ${shellQuote(JSON.stringify(irsaTrustDocument(provider.arn, provider.url, sub, audience)))}`,
    )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  }
  chain.add('role', true, `${roleArn} exists`)
  const claims = { sub, aud: audience }
  const result = evaluateWebIdentity(role.role, provider, claims, input.now)
  if (result?.decision !== 'Allowed') {
    const context = {
      [`${provider.url}:sub`]: sub,
      [`${provider.url}:aud`]: audience,
      'aws:FederatedProvider': provider.arn,
    }
    const namesProvider = trusted.includes(provider.arn)
    const reason = namesProvider
      ? `the trust policy of ${role.role.name} does not allow sts:AssumeRoleWithWebIdentity for ${sub}: ${explainDenial(result, context)}. STS answers AccessDenied (Not authorized to perform sts:AssumeRoleWithWebIdentity)`
      : `the trust policy of ${role.role.name} does not name provider ${provider.arn}${trusted.length > 0 ? ` (it names ${trusted.join(', ')})` : ''}`
    chain.add(
      'trust-policy',
      false,
      reason,
      `aws iam update-assume-role-policy --role-name ${role.role.name} --policy-document ${shellQuote(JSON.stringify(irsaTrustDocument(provider.arn, provider.url, sub, audience)))}`,
    )
    return { mechanism: 'irsa', ok: false, links: chain.links }
  }
  chain.add(
    'trust-policy',
    true,
    `the trust of ${role.role.name} allows ${sub} (${result.matched
      .filter((m) => m.effect === 'Allow')
      .map((m) => `statement ${m.sid ?? `#${m.index}`}`)
      .join(', ')})`,
  )
  permissionsLink(chain, input, role)
  return { mechanism: 'irsa', ok: chain.ok, links: chain.links }
}

function diagnosePodIdentity(
  input: DoctorInput,
  association: PodIdentityAssociation,
): DoctorReport {
  const chain = new Chain()
  chain.add(
    'identity-mapping',
    true,
    `Pod Identity association ${association.associationId ?? ''} in cluster ${association.clusterName}: ${input.namespace}/${input.serviceAccount} → ${association.roleArn}${association.targetRoleArn !== undefined ? ` → ${association.targetRoleArn}` : ''}`,
  )
  webhookLink(chain, input, true)
  sdkChainLink(chain, input, 'pod-identity')
  imdsLink(chain, input, 'pod-identity')
  tokenLink(chain, input, 'pods.eks.amazonaws.com', undefined)
  if (!chain.ok) return { mechanism: 'pod-identity', ok: false, links: chain.links }
  const cluster = input.clusters.find((c) => c.name === association.clusterName)
  if (
    !chain.add(
      'cluster',
      cluster !== undefined,
      cluster !== undefined
        ? `cluster ${cluster.name} (${cluster.arn})`
        : `cluster ${association.clusterName} is not registered`,
      `podtrust cluster add ${association.clusterName}`,
    )
  )
    return { mechanism: 'pod-identity', ok: false, links: chain.links }
  const role = input.roles.get(association.roleArn)
  if (role === undefined) {
    chain.add(
      'role',
      false,
      `role ${association.roleArn} does not exist`,
      `aws iam create-role --role-name ${roleName(association.roleArn)} --assume-role-policy-document ${shellQuote(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: POD_IDENTITY_PRINCIPAL }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }))}`,
    )
    return { mechanism: 'pod-identity', ok: false, links: chain.links }
  }
  if (
    !chain.add(
      'role',
      role.role.accountId === cluster!.accountId,
      role.role.accountId === cluster!.accountId
        ? `${role.role.arn} exists in the cluster's account`
        : `role ${role.role.arn} is in account ${role.role.accountId}, the cluster in ${cluster!.accountId}: Pod Identity assumes roles of the cluster's account only`,
      'use a role of the cluster account and targetRoleArn for the other account',
    )
  )
    return { mechanism: 'pod-identity', ok: false, links: chain.links }
  const assoc = { ...association, clusterArn: association.clusterArn ?? cluster!.arn }
  const fixTrust = `aws iam update-assume-role-policy --role-name ${role.role.name} --policy-document ${shellQuote(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: POD_IDENTITY_PRINCIPAL }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }))}`
  const assume = evaluatePodIdentity(role.role, assoc, 'sts:AssumeRole', input.now)
  if (assume?.decision !== 'Allowed') {
    chain.add(
      'trust-policy',
      false,
      `the trust of ${role.role.name} does not allow sts:AssumeRole for ${POD_IDENTITY_PRINCIPAL}: ${explainDenial(assume, { 'aws:SourceAccount': cluster!.accountId, 'aws:SourceArn': assoc.clusterArn })}`,
      fixTrust,
    )
    return { mechanism: 'pod-identity', ok: false, links: chain.links }
  }
  if (!association.disableSessionTags) {
    const tag = evaluatePodIdentity(role.role, assoc, 'sts:TagSession', input.now)
    if (tag?.decision !== 'Allowed') {
      chain.add(
        'trust-policy',
        false,
        `the trust of ${role.role.name} allows sts:AssumeRole but not sts:TagSession for ${POD_IDENTITY_PRINCIPAL}; EKS tags every session, so the agent gets AccessDeniedException`,
        fixTrust,
      )
      return { mechanism: 'pod-identity', ok: false, links: chain.links }
    }
  }
  chain.add(
    'trust-policy',
    true,
    `the trust of ${role.role.name} allows ${POD_IDENTITY_PRINCIPAL} (sts:AssumeRole${association.disableSessionTags ? '' : ', sts:TagSession'})`,
  )
  let final = role
  if (association.targetRoleArn !== undefined) {
    const target = input.roles.get(association.targetRoleArn)
    if (target === undefined) {
      chain.add(
        'target-role',
        false,
        `target role ${association.targetRoleArn} does not exist`,
        'create the target role or fix targetRoleArn',
      )
      return { mechanism: 'pod-identity', ok: false, links: chain.links }
    }
    const trust = target.role.trust.compiled
    const ok =
      trust !== undefined &&
      authorize({
        principal: `arn:aws:sts::${role.role.accountId}:assumed-role/${role.role.name}/eks-doctor`,
        action: 'sts:AssumeRole',
        resource: target.role.arn,
        context: {
          'aws:PrincipalArn': role.role.arn,
          'aws:PrincipalAccount': role.role.accountId,
          ...(association.externalId !== undefined
            ? { 'sts:ExternalId': association.externalId }
            : {}),
        },
        identityPolicies: role.identity,
        resourcePolicy: trust,
        resourcePolicyIsGate: true,
      }).decision === 'Allowed'
    if (
      !chain.add(
        'target-role',
        ok,
        ok
          ? `${role.role.name} can assume ${target.role.name}`
          : `${role.role.name} cannot assume ${target.role.name} (its policies must allow sts:AssumeRole on it and the target trust must name ${role.role.arn}${association.externalId !== undefined ? ` with sts:ExternalId ${association.externalId}` : ''})`,
        `aws iam update-assume-role-policy --role-name ${target.role.name} --policy-document ${shellQuote(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: role.role.arn }, Action: ['sts:AssumeRole', 'sts:TagSession'], ...(association.externalId !== undefined ? { Condition: { StringEquals: { 'sts:ExternalId': association.externalId } } } : {}) }] }))}`,
      )
    )
      return { mechanism: 'pod-identity', ok: false, links: chain.links }
    final = target
  }
  const session =
    association.associationId !== undefined
      ? input.associationPolicies?.[association.associationId]
      : undefined
  permissionsLink(chain, input, final, session !== undefined ? [session] : [])
  return { mechanism: 'pod-identity', ok: chain.ok, links: chain.links }
}

function diagnoseAzure(input: DoctorInput, clientId: string): DoctorReport {
  const chain = new Chain()
  chain.add(
    'identity-mapping',
    true,
    `${input.namespace}/${input.serviceAccount} → Azure client ${clientId} (${AZURE_CLIENT_ID})`,
  )
  const labelled =
    input.pod === undefined ||
    (input.pod.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[
      AZURE_USE_LABEL
    ] === 'true'
  if (
    !chain.add(
      'webhook-injection',
      labelled,
      labelled
        ? 'the pod is labelled azure.workload.identity/use: "true"'
        : 'the pod lacks label azure.workload.identity/use: "true": the Azure webhook mutates only labelled pods',
      `add label azure.workload.identity/use: "true" to the pod template and recreate the pods`,
    )
  )
    return { mechanism: 'azure', ok: false, links: chain.links }
  const cluster =
    input.clusters.find((c) => c.name === input.cluster) ??
    (input.clusters.length === 1 ? input.clusters[0] : undefined)
  const { iss } = tokenLink(chain, input, AZURE_AUDIENCE, cluster?.issuerUrl)
  if (!chain.ok) return { mechanism: 'azure', ok: false, links: chain.links }
  const sub = subjectOf(input.namespace, input.serviceAccount)
  const fics = (input.federatedCredentials ?? []).filter((f) => f.clientId === clientId)
  const match = fics.find(
    (f) =>
      (iss === undefined || f.issuer.replace(/\/+$/, '') === iss.replace(/\/+$/, '')) &&
      f.subject === sub &&
      f.audiences.includes(AZURE_AUDIENCE),
  )
  chain.add(
    'federated-credential',
    match !== undefined,
    match !== undefined
      ? `federated identity credential on ${match.identity} matches issuer, subject ${sub} and audience`
      : fics.length === 0
        ? `no federated identity credential for client ${clientId}: Entra answers AADSTS70021 (no matching federated identity record)`
        : `the federated credentials of ${clientId} expect ${fics.map((f) => `issuer ${f.issuer}, subject ${f.subject}`).join('; ')}, the token has issuer ${iss ?? '?'}, subject ${sub}: AADSTS70021`,
    `az identity federated-credential create --name ${input.namespace}-${input.serviceAccount} --identity-name <identity> --resource-group <rg> --issuer ${iss ?? '<cluster issuer>'} --subject ${sub} --audiences ${AZURE_AUDIENCE}`,
  )
  imdsLink(chain, input, 'azure')
  return { mechanism: 'azure', ok: chain.ok, links: chain.links }
}

function diagnoseGcp(input: DoctorInput, providerValue: string): DoctorReport {
  const chain = new Chain()
  const resourceName = providerValue.trim().replace(/^\/\/iam\.googleapis\.com\//, '')
  const email = input.serviceAccountObject?.annotations[GCP_SA_ANNOTATION]
  chain.add(
    'identity-mapping',
    true,
    `${input.namespace}/${input.serviceAccount} → workload identity provider ${resourceName}${email !== undefined ? ` → ${email}` : ' (direct resource access)'}`,
  )
  webhookGcpLink(chain, input)
  const audience = `//iam.googleapis.com/${resourceName}`
  const cluster =
    input.clusters.find((c) => c.name === input.cluster) ??
    (input.clusters.length === 1 ? input.clusters[0] : undefined)
  const { iss } = tokenLink(chain, input, audience, cluster?.issuerUrl)
  if (!chain.ok) return { mechanism: 'gcp', ok: false, links: chain.links }
  const port = input.gcp
  const provider = port?.provider(resourceName)
  if (provider === undefined) {
    chain.add(
      'workload-identity-provider',
      false,
      `workload identity provider ${resourceName} does not exist: Google STS answers invalid_target`,
      `gcloud iam workload-identity-pools providers create-oidc … --issuer-uri=${iss ?? '<cluster issuer>'} --attribute-mapping=google.subject=assertion.sub`,
    )
    return { mechanism: 'gcp', ok: false, links: chain.links }
  }
  const audiences = provider.allowedAudiences.length > 0 ? provider.allowedAudiences : [audience]
  const problems: string[] = []
  if (provider.disabled) problems.push('the provider is disabled')
  if (iss !== undefined && provider.issuerUri.replace(/\/+$/, '') !== iss.replace(/\/+$/, ''))
    problems.push(`its issuer is ${provider.issuerUri}, the token's ${iss}`)
  if (!audiences.includes(audience))
    problems.push(`its allowed audiences (${audiences.join(', ')}) lack ${audience}`)
  if (
    !chain.add(
      'workload-identity-provider',
      problems.length === 0,
      problems.length === 0
        ? `${resourceName} accepts issuer ${provider.issuerUri} and audience ${audience}`
        : `${resourceName}: ${problems.join('; ')}: Google STS answers invalid_grant`,
      `gcloud iam workload-identity-pools providers update-oidc ${resourceName.split('/').at(-1)} --issuer-uri=${iss ?? provider.issuerUri} --allowed-audiences=${audience}`,
    )
  )
    return { mechanism: 'gcp', ok: false, links: chain.links }
  const sub = subjectOf(input.namespace, input.serviceAccount)
  const claims: Record<string, unknown> =
    input.token !== undefined
      ? (decodeToken(input.token).claims ?? {})
      : {
          iss: iss ?? provider.issuerUri,
          sub,
          aud: audience,
          'kubernetes.io': {
            namespace: input.namespace,
            serviceaccount: { name: input.serviceAccount },
          },
        }
  const federated = port!.federate(resourceName, claims)
  if (!federated.ok) {
    chain.add(
      'attribute-condition',
      false,
      `the provider's attribute mapping or condition rejects the token: ${federated.message}`,
      `gcloud iam workload-identity-pools providers update-oidc ${resourceName.split('/').at(-1)} --attribute-condition="assertion.sub == '${sub}'"`,
    )
    return { mechanism: 'gcp', ok: false, links: chain.links }
  }
  chain.add('attribute-condition', true, `mapped to subject ${federated.subject}`)
  if (email !== undefined) {
    const imp = port!.canImpersonate(email, resourceName, claims)
    const pool = resourceName.replace(/\/providers\/[^/]+$/, '')
    chain.add(
      'service-account-impersonation',
      imp.ok,
      imp.detail,
      `gcloud iam service-accounts add-iam-policy-binding ${email} --role=roles/iam.workloadIdentityUser --member=principal://iam.googleapis.com/${pool}/subject/${federated.subject}`,
    )
  }
  imdsLink(chain, input, 'gcp')
  return { mechanism: 'gcp', ok: chain.ok, links: chain.links }
}

function webhookGcpLink(chain: Chain, input: DoctorInput): void {
  const sa: MutationServiceAccount = {
    metadata: {
      name: input.serviceAccount,
      namespace: input.namespace,
      annotations: input.serviceAccountObject?.annotations ?? {},
      labels: input.serviceAccountObject?.labels ?? {},
    },
  }
  if (input.pod !== undefined && isLive(input.pod)) {
    const name = (input.pod.metadata as { name?: string } | undefined)?.name ?? '<pod>'
    const has = podContainers(input.pod).some(
      (c) => envOf(c, 'GOOGLE_APPLICATION_CREDENTIALS') !== undefined,
    )
    chain.add(
      'webhook-injection',
      has,
      has
        ? `pod ${input.namespace}/${name} carries GOOGLE_APPLICATION_CREDENTIALS and its projected token`
        : `pod ${input.namespace}/${name} has no GOOGLE_APPLICATION_CREDENTIALS: it was created before the ServiceAccount was annotated`,
      `kubectl -n ${input.namespace} delete pod ${name}`,
    )
    return
  }
  const basePod: Pod = input.pod ?? {
    metadata: { name: 'doctor-probe', namespace: input.namespace },
    spec: { serviceAccountName: input.serviceAccount, containers: [{ name: 'app', image: 'app' }] },
  }
  const result = mutate({
    endpoint: 'aws',
    pod: basePod,
    namespace: input.namespace,
    serviceAccount: sa,
    podIdentity: false,
    config: defaultWebhookConfig(),
    random: () => 0,
  })
  const ok = result.kind === 'patch' && result.modes.includes('gcp')
  chain.add(
    'webhook-injection',
    ok,
    ok
      ? 'the webhook injects GOOGLE_APPLICATION_CREDENTIALS, the credential configuration and a projected token into new pods'
      : `the webhook would not inject GCP credentials (${result.warnings.join('; ') || (result.kind === 'allow' ? result.reason : 'no GCP mode')})`,
    `kubectl annotate serviceaccount -n ${input.namespace} ${input.serviceAccount} ${GCP_PROVIDER_ANNOTATION}=projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`,
  )
}

/** Walks the chain for the ServiceAccount; the mechanism follows what is configured (IRSA wins over Pod Identity). */
export function diagnose(input: DoctorInput): DoctorReport {
  const annotated = input.serviceAccountObject?.annotations[IRSA_ROLE_ANNOTATION]
  const injected = podContainers(input.pod)
    .map((c) => envOf(c, 'AWS_ROLE_ARN'))
    .find((v) => v !== undefined)
  if (annotated !== undefined)
    return diagnoseIrsa(input, annotated.trim(), `annotation ${IRSA_ROLE_ANNOTATION}`)
  const association = input.associations.find(
    (a) =>
      a.namespace === input.namespace &&
      a.serviceAccount === input.serviceAccount &&
      (input.cluster === undefined || a.clusterName === input.cluster),
  )
  if (association !== undefined) return diagnosePodIdentity(input, association)
  if (injected !== undefined) return diagnoseIrsa(input, injected, 'pod environment AWS_ROLE_ARN')
  const azure = input.serviceAccountObject?.annotations[AZURE_CLIENT_ID]
  if (azure !== undefined) return diagnoseAzure(input, azure)
  const gcp = input.serviceAccountObject?.annotations[GCP_PROVIDER_ANNOTATION]
  if (gcp !== undefined) return diagnoseGcp(input, gcp)

  // Nothing maps the ServiceAccount: name the roles whose trust would admit it.
  const sub = subjectOf(input.namespace, input.serviceAccount)
  const candidates: string[] = []
  for (const r of input.roles.values()) {
    for (const p of input.providers) {
      if (
        evaluateWebIdentity(r.role, p, { sub, aud: DEFAULT_AUDIENCE }, input.now)?.decision ===
        'Allowed'
      ) {
        candidates.push(r.role.arn)
        break
      }
    }
  }
  return {
    mechanism: 'none',
    ok: false,
    links: [
      {
        name: 'identity-mapping',
        ok: false,
        reason: `${input.namespace}/${input.serviceAccount} has no ${IRSA_ROLE_ANNOTATION} annotation${input.serviceAccountObject === undefined ? ' known (give --service-account-manifest or --role-arn)' : ''} and no Pod Identity association${candidates.length > 0 ? `; roles whose trust admits it: ${candidates.join(', ')}` : ''}${imdsFallbackNote(podSpecFor(input), input.node)}`,
        fix: `kubectl annotate serviceaccount -n ${input.namespace} ${input.serviceAccount} ${IRSA_ROLE_ANNOTATION}=${candidates[0] ?? `arn:aws:iam::${input.accountId}:role/<name>`}`,
      },
    ],
  }
}

/** Builds the analysis role shape from stored documents (JSON text), for the doctor and `podtrust test`. */
export function doctorRole(input: {
  arn: string
  accountId: string
  trust: string
  identity: { id: string; document: string }[]
  boundary?: { id: string; document: string }
}): DoctorRole {
  const compile = (doc: string, id: string, type: 'trust' | 'identity' | 'boundary') => {
    try {
      return compilePolicy(doc, { id, type })
    } catch {
      return undefined
    }
  }
  const trust = compile(input.trust, `trust:${input.arn}`, 'trust')
  const role: IamRole = {
    arn: input.arn,
    name: roleName(input.arn),
    accountId: input.accountId,
    partition: input.arn.split(':')[1] ?? 'aws',
    path: '/',
    trust: {
      name: 'trust',
      id: `trust:${input.arn}`,
      document: {},
      compiled: trust,
      size: input.trust.length,
    },
    inline: [],
    attached: [],
    instanceProfiles: [],
    lastUsedKnown: false,
    tags: {},
  }
  const identity = input.identity
    .map((p) => compile(p.document, p.id, 'identity'))
    .filter((p): p is CompiledPolicy => p !== undefined)
  const boundary =
    input.boundary === undefined
      ? undefined
      : compile(input.boundary.document, input.boundary.id, 'boundary')
  return { role, identity, ...(boundary !== undefined ? { boundary } : {}) }
}
