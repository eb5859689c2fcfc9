/**
 * @module aws/eks/service
 * The EKS operations podtrust answers (clusters + pod identity associations), independent of HTTP: inputs
 * are the decoded request members, outputs the model's response structures (timestamps as epoch seconds).
 */
import {
  type ClusterDefaults,
  type ClusterView,
  type IssuerResolver,
  resolveCluster,
} from './clusters.ts'
import { EksError } from './errors.ts'
import { ASSOCIATION_ID_PATTERN, associationArn, newAssociationId, uuidV4 } from './ids.ts'
import type { AssociationRow, ClusterRow, EksRepo } from './repo.ts'
import {
  checkSessionPolicy,
  optionalBoolean,
  optionalString,
  truncate,
  validateNamespace,
  validateRoleArn,
  validateServiceAccount,
  validateTags,
} from './validate.ts'

/** EKS's documented quota: 5,000 pod identity associations per cluster. */
export const MAX_ASSOCIATIONS_PER_CLUSTER = 5000

export interface EksDeps {
  repo: EksRepo
  now: () => Date
  randomBytes: (size: number) => Uint8Array
  defaults: ClusterDefaults
  resolveIssuer: IssuerResolver
  /** Whether the IAM role exists (EKS checks the role it is asked to pass); absent: not checked. */
  roleExists?: (arn: string) => Promise<boolean>
  /** Save-time policy validation (IAM's MalformedPolicyDocument messages); absent: JSON shape only. */
  policyErrors?: (document: string) => string[]
  /** Public base URL, shown as the cluster `endpoint`. */
  endpoint?: string
  /** May the caller pass this role to EKS (`iam:PassRole`)? Bound per request; absent: not checked. */
  canPassRole?: (roleArn: string) => Promise<{ allowed: boolean; callerArn: string }>
}

/** The model's `PodIdentityAssociation` structure. */
export interface AssociationOutput {
  clusterName: string
  namespace: string
  serviceAccount: string
  roleArn: string
  associationArn: string
  associationId: string
  tags: Record<string, string>
  createdAt: number
  modifiedAt: number
  ownerArn?: string
  disableSessionTags: boolean
  targetRoleArn?: string
  externalId?: string
  policy?: string
}

export interface AssociationSummary {
  clusterName: string
  namespace: string
  serviceAccount: string
  associationArn: string
  associationId: string
  ownerArn?: string
}

const epochSeconds = (d: Date): number => d.getTime() / 1000

export async function getClusterOrThrow(deps: EksDeps, name: string): Promise<ClusterView> {
  const row = await deps.repo.getCluster(name)
  if (row === undefined) {
    // EKS's wording for an unknown cluster.
    throw new EksError(
      'ResourceNotFoundException',
      `No cluster found for name: ${truncate(name)}.`,
      {
        clusterName: name,
      },
    )
  }
  return resolveCluster(row, deps.defaults, deps.resolveIssuer)
}

export function renderAssociation(cluster: ClusterView, a: AssociationRow): AssociationOutput {
  const out: AssociationOutput = {
    clusterName: a.clusterName,
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    roleArn: a.roleArn,
    associationArn: associationArn(
      cluster.region,
      cluster.accountId,
      a.clusterName,
      a.associationId,
    ),
    associationId: a.associationId,
    tags: a.tags,
    createdAt: epochSeconds(a.createdAt),
    modifiedAt: epochSeconds(a.modifiedAt),
    disableSessionTags: a.disableSessionTags,
  }
  if (a.ownerArn !== undefined) out.ownerArn = a.ownerArn
  if (a.targetRoleArn !== undefined) out.targetRoleArn = a.targetRoleArn
  if (a.externalId !== undefined) out.externalId = a.externalId
  if (a.policy !== undefined) out.policy = a.policy
  return out
}

function summarize(cluster: ClusterView, a: AssociationRow): AssociationSummary {
  const out: AssociationSummary = {
    clusterName: a.clusterName,
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    associationArn: associationArn(
      cluster.region,
      cluster.accountId,
      a.clusterName,
      a.associationId,
    ),
    associationId: a.associationId,
  }
  if (a.ownerArn !== undefined) out.ownerArn = a.ownerArn
  return out
}

async function checkRole(deps: EksDeps, member: string, arn: string): Promise<void> {
  if (deps.roleExists !== undefined && !(await deps.roleExists(arn))) {
    throw new EksError('InvalidParameterException', `${member} '${truncate(arn)}' does not exist`)
  }
}

/** EKS docs: creating or changing an association passes its role, so the caller needs `iam:PassRole`. */
async function checkPassRole(deps: EksDeps, arn: string): Promise<void> {
  if (deps.canPassRole === undefined) return
  const { allowed, callerArn } = await deps.canPassRole(arn)
  if (!allowed) {
    throw new EksError(
      'AccessDeniedException',
      `User: ${callerArn} is not authorized to perform: iam:PassRole on resource: ${arn}`,
    )
  }
}

function checkPolicy(deps: EksDeps, policy: string): void {
  checkSessionPolicy(policy, deps.policyErrors)
}

function checkPolicyNeedsNoTags(policy: string | undefined, disableSessionTags: boolean): void {
  // Model doc for `policy`: "When using this policy, disableSessionTags must be set to true."
  if (policy !== undefined && !disableSessionTags) {
    throw new EksError(
      'InvalidParameterException',
      'disableSessionTags must be set to true when a policy is specified',
    )
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new EksError('InvalidRequestException', 'the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

export async function createAssociation(
  deps: EksDeps,
  clusterName: string,
  rawBody: unknown,
): Promise<{ association: AssociationOutput }> {
  const body = asObject(rawBody)
  const cluster = await getClusterOrThrow(deps, clusterName)
  const namespace = validateNamespace(body['namespace'])
  const serviceAccount = validateServiceAccount(body['serviceAccount'])
  const role = validateRoleArn('roleArn', body['roleArn'])
  const targetRaw = optionalString('targetRoleArn', body['targetRoleArn'])
  const target =
    targetRaw === undefined || targetRaw === ''
      ? undefined
      : validateRoleArn('targetRoleArn', targetRaw)
  const disableSessionTags =
    optionalBoolean('disableSessionTags', body['disableSessionTags']) ?? false
  const policyRaw = optionalString('policy', body['policy'])
  const policy = policyRaw === undefined || policyRaw === '' ? undefined : policyRaw
  const clientRequestToken = optionalString('clientRequestToken', body['clientRequestToken'])
  const tags = validateTags(body['tags'])

  // EKS docs: the role must be in the cluster's account; cross-account access goes through targetRoleArn.
  if (role.accountId !== cluster.accountId) {
    throw new EksError(
      'InvalidParameterException',
      `roleArn must be in the same account as the cluster (${cluster.accountId}); use targetRoleArn for a role in another account`,
      { clusterName },
    )
  }
  if (policy !== undefined) checkPolicy(deps, policy)
  checkPolicyNeedsNoTags(policy, disableSessionTags)

  const existing = await deps.repo.findAssociation(clusterName, namespace, serviceAccount)
  if (existing !== undefined) {
    // Idempotent retry (same clientRequestToken): answer with what the first call created.
    if (clientRequestToken !== undefined && existing.clientRequestToken === clientRequestToken) {
      return { association: renderAssociation(cluster, existing) }
    }
    throw new EksError(
      'ResourceInUseException',
      `Association already exists: ${existing.associationId} for namespace ${namespace} and service account ${serviceAccount}`,
      { clusterName },
    )
  }
  await checkRole(deps, 'roleArn', role.arn)
  await checkPassRole(deps, role.arn)
  if (target !== undefined) await checkRole(deps, 'targetRoleArn', target.arn)
  if ((await deps.repo.countAssociations(clusterName)) >= MAX_ASSOCIATIONS_PER_CLUSTER) {
    throw new EksError(
      'ResourceLimitExceededException',
      `cluster ${clusterName} has reached the limit of ${MAX_ASSOCIATIONS_PER_CLUSTER} pod identity associations`,
      { clusterName },
    )
  }
  const now = deps.now()
  const row: AssociationRow = {
    associationId: newAssociationId(deps.randomBytes),
    clusterName,
    namespace,
    serviceAccount,
    roleArn: role.arn,
    targetRoleArn: target?.arn,
    externalId: target === undefined ? undefined : uuidV4(deps.randomBytes),
    disableSessionTags,
    policy,
    tags,
    ownerArn: undefined,
    clientRequestToken,
    createdAt: now,
    modifiedAt: now,
  }
  try {
    await deps.repo.insertAssociation(row)
  } catch (err) {
    // A concurrent create for the same (cluster, namespace, service account) lost the UNIQUE race.
    const again = await deps.repo.findAssociation(clusterName, namespace, serviceAccount)
    if (again !== undefined) {
      throw new EksError(
        'ResourceInUseException',
        `Association already exists: ${again.associationId} for namespace ${namespace} and service account ${serviceAccount}`,
        { clusterName, cause: err },
      )
    }
    throw err
  }
  return { association: renderAssociation(cluster, row) }
}

async function getAssociationOrThrow(
  deps: EksDeps,
  cluster: ClusterView,
  associationId: string,
): Promise<AssociationRow> {
  const row = ASSOCIATION_ID_PATTERN.test(associationId)
    ? await deps.repo.getAssociation(cluster.name, associationId)
    : undefined
  if (row === undefined) {
    throw new EksError(
      'ResourceNotFoundException',
      `Pod Identity Association ${truncate(associationId)} not found in cluster ${cluster.name}`,
      { clusterName: cluster.name },
    )
  }
  return row
}

export async function describeAssociation(
  deps: EksDeps,
  clusterName: string,
  associationId: string,
): Promise<{ association: AssociationOutput }> {
  const cluster = await getClusterOrThrow(deps, clusterName)
  const row = await getAssociationOrThrow(deps, cluster, associationId)
  return { association: renderAssociation(cluster, row) }
}

export async function deleteAssociation(
  deps: EksDeps,
  clusterName: string,
  associationId: string,
): Promise<{ association: AssociationOutput }> {
  const cluster = await getClusterOrThrow(deps, clusterName)
  const row = await getAssociationOrThrow(deps, cluster, associationId)
  await deps.repo.deleteAssociation(clusterName, associationId)
  return { association: renderAssociation(cluster, row) }
}

export async function updateAssociation(
  deps: EksDeps,
  clusterName: string,
  associationId: string,
  rawBody: unknown,
): Promise<{ association: AssociationOutput }> {
  const body = asObject(rawBody)
  const cluster = await getClusterOrThrow(deps, clusterName)
  const roleRaw = optionalString('roleArn', body['roleArn'])
  const targetRaw = optionalString('targetRoleArn', body['targetRoleArn'])
  const disable = optionalBoolean('disableSessionTags', body['disableSessionTags'])
  const policyRaw = optionalString('policy', body['policy'])
  for (const immutable of ['namespace', 'serviceAccount']) {
    if (body[immutable] !== undefined) {
      throw new EksError('InvalidParameterException', `${immutable} cannot be updated`, {
        clusterName,
      })
    }
  }
  if (
    roleRaw === undefined &&
    targetRaw === undefined &&
    disable === undefined &&
    policyRaw === undefined
  ) {
    // Model doc: "You must change at least one" of these.
    throw new EksError(
      'InvalidParameterException',
      'at least one of roleArn, targetRoleArn, disableSessionTags or policy must be specified',
      { clusterName },
    )
  }
  const row = await getAssociationOrThrow(deps, cluster, associationId)
  const next: AssociationRow = { ...row, modifiedAt: deps.now() }
  if (roleRaw !== undefined) {
    const role = validateRoleArn('roleArn', roleRaw)
    if (role.accountId !== cluster.accountId) {
      throw new EksError(
        'InvalidParameterException',
        `roleArn must be in the same account as the cluster (${cluster.accountId}); use targetRoleArn for a role in another account`,
        { clusterName },
      )
    }
    await checkRole(deps, 'roleArn', role.arn)
    await checkPassRole(deps, role.arn)
    next.roleArn = role.arn
  }
  if (targetRaw !== undefined) {
    // An empty string removes the target role (and with it the external id).
    if (targetRaw === '') {
      next.targetRoleArn = undefined
      next.externalId = undefined
    } else {
      const target = validateRoleArn('targetRoleArn', targetRaw)
      await checkRole(deps, 'targetRoleArn', target.arn)
      next.targetRoleArn = target.arn
      next.externalId = row.externalId ?? uuidV4(deps.randomBytes)
    }
  }
  if (disable !== undefined) next.disableSessionTags = disable
  if (policyRaw !== undefined) {
    if (policyRaw === '') next.policy = undefined
    else {
      checkPolicy(deps, policyRaw)
      next.policy = policyRaw
    }
  }
  checkPolicyNeedsNoTags(next.policy, next.disableSessionTags)
  await deps.repo.updateAssociation(next)
  return { association: renderAssociation(cluster, next) }
}

function parseMaxResults(value: string | undefined): number {
  if (value === undefined) return 100
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > 100) {
    throw new EksError(
      'InvalidParameterException',
      'maxResults must be an integer between 1 and 100',
    )
  }
  return n
}

function decodeNextToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown
    if (
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { after?: unknown }).after === 'string'
    ) {
      return (v as { after: string }).after
    }
  } catch {
    // fall through
  }
  throw new EksError('InvalidParameterException', 'The nextToken provided is invalid')
}

function encodeNextToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url')
}

function page<T>(
  items: T[],
  key: (t: T) => string,
  query: { maxResults?: string; nextToken?: string },
) {
  const max = parseMaxResults(query.maxResults)
  const after = decodeNextToken(query.nextToken)
  const start = after === undefined ? items : items.filter((i) => key(i) > after)
  const slice = start.slice(0, max)
  const last = slice[slice.length - 1]
  const nextToken =
    start.length > max && last !== undefined ? encodeNextToken(key(last)) : undefined
  return { slice, nextToken }
}

export async function listAssociations(
  deps: EksDeps,
  clusterName: string,
  query: { namespace?: string; serviceAccount?: string; maxResults?: string; nextToken?: string },
): Promise<{ associations: AssociationSummary[]; nextToken?: string }> {
  const cluster = await getClusterOrThrow(deps, clusterName)
  const filter: { namespace?: string; serviceAccount?: string } = {}
  if (query.namespace !== undefined) filter.namespace = query.namespace
  if (query.serviceAccount !== undefined) filter.serviceAccount = query.serviceAccount
  const rows = await deps.repo.listAssociations(clusterName, filter)
  const { slice, nextToken } = page(rows, (r) => r.associationId, query)
  const out: { associations: AssociationSummary[]; nextToken?: string } = {
    associations: slice.map((r) => summarize(cluster, r)),
  }
  if (nextToken !== undefined) out.nextToken = nextToken
  return out
}

export async function listClusters(
  deps: EksDeps,
  query: { maxResults?: string; nextToken?: string },
): Promise<{ clusters: string[]; nextToken?: string }> {
  const rows = await deps.repo.listClusters()
  const { slice, nextToken } = page(rows, (r: ClusterRow) => r.name, query)
  const out: { clusters: string[]; nextToken?: string } = { clusters: slice.map((r) => r.name) }
  if (nextToken !== undefined) out.nextToken = nextToken
  return out
}

/** `DescribeCluster` for a registered cluster: what the agent and tools read (`identity.oidc.issuer`). */
export async function describeCluster(
  deps: EksDeps,
  name: string,
): Promise<{ cluster: Record<string, unknown> }> {
  const cluster = await getClusterOrThrow(deps, name)
  return {
    cluster: {
      name: cluster.name,
      arn: cluster.arn,
      createdAt: epochSeconds(cluster.createdAt),
      version: '1.33',
      ...(deps.endpoint === undefined ? {} : { endpoint: deps.endpoint }),
      identity: { oidc: { issuer: cluster.issuerUrl } },
      status: 'ACTIVE',
      platformVersion: 'podtrust',
      tags: cluster.tags,
      accessConfig: { authenticationMode: 'API' },
    },
  }
}
