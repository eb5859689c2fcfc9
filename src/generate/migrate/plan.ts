/**
 * @module generate/migrate/plan
 * `migrate plan`: from kube2iam/kiam annotations or IRSA trust policies to IRSA or EKS Pod Identity. Pure:
 * inventories in, a plan out (what to create, what to change on each role, the rollout order, the rollback,
 * and the edge cases found). Sources:
 * - kube2iam: https://github.com/jtblin/kube2iam#readme (pod annotation `iam.amazonaws.com/role`, role names
 *   prefixed with `--base-role-arn`, namespace restrictions `iam.amazonaws.com/allowed-roles`, glob by default).
 * - kiam: https://github.com/uswitch/kiam/blob/master/docs/README.md (same pod annotation; namespace
 *   annotation `iam.amazonaws.com/permitted`, a regular expression).
 * - IRSA: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
 * - Pod Identity: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html (trust),
 *   …/pod-id-abac.html (session tags), …/pod-id-assign-target-role.html (cross-account target role),
 *   …/pod-id-minimum-sdk.html (SDK versions). Credential precedence: …/pod-id-minimum-sdk.html says
 *   credentials earlier in the SDK chain keep being used; web identity (IRSA) precedes the container provider,
 *   and both precede the instance metadata kube2iam/kiam intercept — which is what makes each rollout below
 *   additive.
 * - Trust policy size: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (2048
 *   characters without whitespace by default, raisable to 8192).
 */
import {
  irsaTrustPolicy,
  podIdentityTrustStatement,
  serviceAccountSubject,
  IRSA_AUDIENCE,
  POD_IDENTITY_SERVICE,
  type PolicyDocument,
} from '../model.ts'
import type { ClusterInventory, IamInventory, NamespaceRef, RoleRef } from './inputs.ts'

export type MigrateFrom = 'kube2iam' | 'kiam' | 'irsa'
export type MigrateTo = 'irsa' | 'pod-identity'

export interface PlanOptions {
  readonly from: MigrateFrom
  readonly to: MigrateTo
  readonly clusterName: string
  /** The cluster's OIDC issuer (`https://…`); needed for IRSA trust statements. */
  readonly issuer: string | undefined
  /** The cluster's AWS account: Pod Identity assumes roles of this account only. */
  readonly accountId: string | undefined
}

export type FindingId =
  | 'MANY_SERVICE_ACCOUNTS'
  | 'WILDCARD_SUBJECT'
  | 'CROSS_CLUSTER'
  | 'TRUST_POLICY_SIZE'
  | 'CROSS_ACCOUNT'
  | 'SESSION_TAGS'
  | 'SDK_VERSIONS'
  | 'NAMESPACE_DENIED'
  | 'NAMESPACE_UNRESTRICTED'
  | 'SHARED_SERVICE_ACCOUNT'
  | 'ROLE_NOT_IN_GAAD'
  | 'NODE_ROLE_TRUST'
  | 'HOST_NETWORK'
  | 'ISSUER_MISSING'
  | 'CUSTOM_AUDIENCE'
  | 'EXTERNAL_ID'
  | 'ROLE_UNRESOLVED'

export interface Finding {
  readonly id: FindingId
  readonly severity: 'info' | 'warning' | 'error'
  readonly message: string
}

export interface WorkloadMove {
  readonly kind: string
  readonly name: string
  readonly namespace: string
  readonly roleArn: string
  readonly fromServiceAccount: string
  readonly toServiceAccount: string
  readonly createServiceAccount: boolean
  readonly images: readonly string[]
}

export interface AssociationChange {
  readonly cluster: string
  readonly namespace: string
  readonly serviceAccount: string
  readonly roleArn: string
  readonly targetRoleArn: string | undefined
}

export interface RoleChange {
  readonly roleArn: string
  readonly roleName: string
  readonly accountId: string
  /** The role's trust policy was in the IAM input (else only the added statements are known). */
  readonly known: boolean
  readonly subjects: readonly string[]
  readonly addStatements: readonly Record<string, unknown>[]
  /** Statements to remove once the rollout is verified (node-role trust, the OIDC statement). */
  readonly removeAfterRollout: readonly Record<string, unknown>[]
  /** Current statements plus the added ones: what the role trusts during the rollout. */
  readonly trustDuringRollout: PolicyDocument
  readonly trustAfterRollout: PolicyDocument
  readonly trustSize: number
}

export interface ServiceAccountChange {
  readonly namespace: string
  readonly name: string
  readonly create: boolean
  readonly setAnnotations: Readonly<Record<string, string>>
  readonly removeAnnotations: readonly string[]
}

export interface MigrationPlan {
  readonly from: MigrateFrom
  readonly to: MigrateTo
  readonly cluster: string
  readonly issuer: string | undefined
  readonly workloads: readonly WorkloadMove[]
  readonly serviceAccounts: readonly ServiceAccountChange[]
  readonly roles: readonly RoleChange[]
  readonly associations: readonly AssociationChange[]
  readonly steps: readonly string[]
  readonly rollback: readonly string[]
  readonly findings: readonly Finding[]
}

export const KUBE2IAM_ROLE = 'iam.amazonaws.com/role'
export const KUBE2IAM_EXTERNAL_ID = 'iam.amazonaws.com/external-id'
export const KUBE2IAM_ALLOWED = 'iam.amazonaws.com/allowed-roles'
export const KIAM_PERMITTED = 'iam.amazonaws.com/permitted'
export const IRSA_ROLE = 'eks.amazonaws.com/role-arn'
export const IRSA_AUDIENCE_ANNOTATION = 'eks.amazonaws.com/audience'
/** IAM's default trust policy quota (characters, whitespace not counted). */
export const TRUST_POLICY_LIMIT = 2048
export const TRUST_POLICY_WARN = Math.floor(TRUST_POLICY_LIMIT * 0.9)

/** https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html */
export const POD_IDENTITY_MIN_SDK: ReadonlyArray<readonly [string, string]> = [
  ['Java (Version 2)', '2.21.30'],
  ['Java', '1.12.746'],
  ['Go v1', 'v1.47.11'],
  ['Go v2', 'release-2023-11-14'],
  ['Python (Boto3)', '1.34.41'],
  ['Python (botocore)', '1.34.41'],
  ['AWS CLI', '1.30.0 (v1), 2.15.0 (v2)'],
  ['JavaScript v2', '2.1550.0'],
  ['JavaScript v3', 'v3.458.0'],
  ['Kotlin', 'v1.0.1'],
  ['Ruby', '3.188.0'],
  ['Rust', 'release-2024-03-13'],
  ['C++', '1.11.263'],
  ['.NET', '3.7.734.0'],
  ['PowerShell', '4.1.502'],
  ['PHP', '3.287.1'],
]

/** https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html */
export const IRSA_MIN_SDK: ReadonlyArray<readonly [string, string]> = [
  ['Java (Version 2)', '2.10.11'],
  ['Java', '1.12.782'],
  ['Go v1', '1.23.13'],
  ['Go v2', 'all versions'],
  ['Python (Boto3)', '1.9.220'],
  ['Python (botocore)', '1.12.200'],
  ['AWS CLI', '1.16.232'],
  ['Node', '2.525.0 and 3.27.0'],
  ['Ruby', '3.58.0'],
  ['C++', '1.7.174'],
  ['.NET', '3.3.659.1'],
  ['PHP', '3.110.7'],
]

/** The six session tags EKS Pod Identity adds (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html). */
export const POD_IDENTITY_SESSION_TAGS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
] as const

/** Characters of a policy as IAM counts them for its quotas: whitespace outside strings is not counted. */
export function policySize(doc: unknown): number {
  return JSON.stringify(doc).length
}

type Statement = Record<string, unknown>

function statementsOf(doc: unknown): Statement[] {
  if (typeof doc !== 'object' || doc === null) return []
  const s = (doc as Record<string, unknown>)['Statement']
  if (Array.isArray(s)) return s.filter((x): x is Statement => typeof x === 'object' && x !== null)
  return typeof s === 'object' && s !== null ? [s as Statement] : []
}

const asList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]

/** The subjects an OIDC trust statement admits, per provider host, and whether any is a pattern. */
export function oidcSubjects(
  statement: Statement,
): { host: string; subjects: string[]; wildcard: boolean } | undefined {
  const principal = statement['Principal']
  if (typeof principal !== 'object' || principal === null) return undefined
  const federated = asList((principal as Record<string, unknown>)['Federated'])
  const provider = federated.find((f) => f.includes(':oidc-provider/'))
  if (provider === undefined) return undefined
  const host = provider.slice(provider.indexOf(':oidc-provider/') + ':oidc-provider/'.length)
  const conditions = (statement['Condition'] ?? {}) as Record<string, Record<string, unknown>>
  const subjects: string[] = []
  let wildcard = false
  for (const [operator, block] of Object.entries(conditions)) {
    if (typeof block !== 'object' || block === null) continue
    for (const [k, v] of Object.entries(block)) {
      if (k.toLowerCase() !== `${host}:sub`.toLowerCase()) continue
      const values = asList(v)
      subjects.push(...values)
      if (/Like/i.test(operator) && values.some((x) => /[*?]/.test(x))) wildcard = true
    }
  }
  return { host, subjects, wildcard }
}

/** IAM's StringLike: `*` any run, `?` one character. */
function likeMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  )
  return re.test(value)
}

/** kube2iam's glob (Go path.Match): `*` and `?` do not cross `/`. */
function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  )
  return re.test(value)
}

function roleArnFor(
  value: string,
  base: string | undefined,
  accountId: string | undefined,
): string {
  if (value.startsWith('arn:')) return value
  const prefix = base ?? (accountId === undefined ? undefined : `arn:aws:iam::${accountId}:role/`)
  return `${prefix ?? 'arn:aws:iam::ACCOUNT_ID:role/'}${value.replace(/^\//, '')}`
}

function namespaceVerdict(
  cluster: ClusterInventory,
  from: MigrateFrom,
  ns: NamespaceRef | undefined,
  annotated: string,
  arn: string,
  base: string | undefined,
  accountId: string | undefined,
): 'allowed' | 'denied' | 'unrestricted' | 'not-enforced' {
  if (from === 'kube2iam') {
    const raw = ns?.annotations[KUBE2IAM_ALLOWED]
    if (raw === undefined) return 'unrestricted'
    // kube2iam enforces the annotation only with --namespace-restrictions (when its DaemonSet is known).
    const args = cluster.kube2iamArgs
    if (args !== undefined && !args.some((a) => /^--namespace-restrictions(=true)?$/.test(a)))
      return 'not-enforced'
    const regexp = args?.some((a) => a === '--namespace-restriction-format=regexp') === true
    let entries: string[] = []
    try {
      entries = asList(JSON.parse(raw))
    } catch {
      return 'denied'
    }
    return entries.some((e) => {
      if (!regexp) return globMatches(roleArnFor(e, base, accountId), arn)
      try {
        return new RegExp(e).test(arn)
      } catch {
        return false
      }
    })
      ? 'allowed'
      : 'denied'
  }
  const permitted = ns?.annotations[KIAM_PERMITTED]
  if (permitted === undefined) return 'unrestricted'
  try {
    // kiam matches the annotation's regular expression against the role as annotated (unanchored).
    return new RegExp(permitted).test(annotated) ? 'allowed' : 'denied'
  } catch {
    return 'denied'
  }
}

export function planMigration(
  cluster: ClusterInventory,
  iam: IamInventory,
  options: PlanOptions,
): MigrationPlan {
  if (options.from === 'irsa') return planFromIrsa(cluster, iam, options)
  return planFromKube2iam(cluster, iam, options)
}

function providerFor(options: PlanOptions, accountId: string): { arn: string; host: string } {
  const host = (options.issuer ?? 'https://OIDC_ISSUER')
    .replace(/^https:\/\//, '')
    .replace(/\/+$/, '')
  return { arn: `arn:aws:iam::${accountId}:oidc-provider/${host}`, host }
}

function sdkFinding(to: MigrateTo, images: readonly string[]): Finding {
  const table = to === 'pod-identity' ? POD_IDENTITY_MIN_SDK : IRSA_MIN_SDK
  const what =
    to === 'pod-identity'
      ? 'the container credentials provider (EKS Pod Identity)'
      : 'web identity credentials (IRSA)'
  return {
    id: 'SDK_VERSIONS',
    severity: 'warning',
    message: `SDKs too old for ${what} fall back to the next provider in their chain (or fail): check the images ${images.length > 0 ? images.join(', ') : '(none found)'} against these minimums: ${table.map(([sdk, v]) => `${sdk} ${v}`).join('; ')}`,
  }
}

function planFromKube2iam(
  cluster: ClusterInventory,
  iam: IamInventory,
  options: PlanOptions,
): MigrationPlan {
  const findings: Finding[] = []
  const base = cluster.kube2iamBaseRoleArn
  const annotated = cluster.workloads.filter((w) => w.podAnnotations[KUBE2IAM_ROLE] !== undefined)
  if (options.to === 'irsa' && options.issuer === undefined) {
    findings.push({
      id: 'ISSUER_MISSING',
      severity: 'error',
      message:
        "pass --issuer (the cluster's OIDC issuer URL): IRSA trust statements name it; the plan uses the placeholder OIDC_ISSUER",
    })
  }
  // A ServiceAccount shared by workloads that use different roles cannot carry one role: each such
  // workload gets its own ServiceAccount, named after it.
  const rolesBySa = new Map<string, Set<string>>()
  const resolved = annotated.map((w) => {
    const value = w.podAnnotations[KUBE2IAM_ROLE]!
    const arn = roleArnFor(value, base, options.accountId)
    const key = `${w.namespace}/${w.serviceAccount}`
    rolesBySa.set(key, (rolesBySa.get(key) ?? new Set()).add(arn))
    return { w, value, arn }
  })
  const existingSas = new Set(cluster.serviceAccounts.map((s) => `${s.namespace}/${s.name}`))
  const takenNames = new Set(existingSas)
  const moves: WorkloadMove[] = []
  for (const { w, value, arn } of resolved) {
    // The last definition of a namespace wins, as with kubectl apply of the files in order.
    const ns = cluster.namespaces.findLast((n) => n.name === w.namespace)
    const verdict = namespaceVerdict(cluster, options.from, ns, value, arn, base, options.accountId)
    if (verdict === 'denied') {
      findings.push({
        id: 'NAMESPACE_DENIED',
        severity: 'warning',
        message: `${w.kind} ${w.namespace}/${w.name}: its namespace's ${options.from === 'kube2iam' ? KUBE2IAM_ALLOWED : KIAM_PERMITTED} does not allow ${arn} today, so its pods get no credentials now; migrating as planned would grant them — drop it from the plan unless that is intended`,
      })
    } else if (verdict === 'not-enforced') {
      findings.push({
        id: 'NAMESPACE_UNRESTRICTED',
        severity: 'info',
        message: `namespace ${w.namespace} has ${KUBE2IAM_ALLOWED}, but kube2iam runs without --namespace-restrictions, so it is not enforced: ${w.kind} ${w.name} gets ${arn} today`,
      })
    } else if (verdict === 'unrestricted') {
      findings.push({
        id: 'NAMESPACE_UNRESTRICTED',
        severity: 'info',
        message: `namespace ${w.namespace} has no ${options.from === 'kube2iam' ? KUBE2IAM_ALLOWED : KIAM_PERMITTED} annotation: any pod there could name any role the node role may assume; IRSA/Pod Identity scope each role to one ServiceAccount instead`,
      })
    }
    if (w.podAnnotations[KUBE2IAM_EXTERNAL_ID] !== undefined) {
      findings.push({
        id: 'EXTERNAL_ID',
        severity: 'warning',
        message: `${w.kind} ${w.namespace}/${w.name} sets ${KUBE2IAM_EXTERNAL_ID}: neither IRSA nor Pod Identity sends an external id to the role itself; remove the role's sts:ExternalId condition for the new statement, or keep it on a target role chained through Pod Identity (targetRoleArn)`,
      })
    }
    if (w.hostNetwork) {
      findings.push({
        id: 'HOST_NETWORK',
        severity: 'warning',
        message: `${w.kind} ${w.namespace}/${w.name} uses hostNetwork: kube2iam/kiam never intercepted its metadata calls, so it may have been using the node role`,
      })
    }
    const shared =
      (rolesBySa.get(`${w.namespace}/${w.serviceAccount}`)?.size ?? 0) > 1 ||
      w.serviceAccount === 'default'
    let target = w.serviceAccount
    if (shared) {
      if (w.serviceAccount !== 'default') {
        findings.push({
          id: 'SHARED_SERVICE_ACCOUNT',
          severity: 'info',
          message: `ServiceAccount ${w.namespace}/${w.serviceAccount} is used by workloads with different roles: ${w.kind} ${w.name} gets its own ServiceAccount`,
        })
      }
      target = w.name
      let n = 2
      while (
        takenNames.has(`${w.namespace}/${target}`) &&
        !moves.some(
          (m) => m.namespace === w.namespace && m.toServiceAccount === target && m.roleArn === arn,
        )
      ) {
        target = `${w.name}-${n++}`
      }
    }
    takenNames.add(`${w.namespace}/${target}`)
    moves.push({
      kind: w.kind,
      name: w.name,
      namespace: w.namespace,
      roleArn: arn,
      fromServiceAccount: w.serviceAccount,
      toServiceAccount: target,
      createServiceAccount: !existingSas.has(`${w.namespace}/${target}`),
      images: [...new Set(w.containers.map((c) => c.image).filter((i) => i !== ''))],
    })
  }
  const saChanges = new Map<string, ServiceAccountChange>()
  for (const m of moves) {
    const key = `${m.namespace}/${m.toServiceAccount}`
    if (saChanges.has(key)) continue
    saChanges.set(key, {
      namespace: m.namespace,
      name: m.toServiceAccount,
      create: m.createServiceAccount,
      setAnnotations: options.to === 'irsa' ? { [IRSA_ROLE]: m.roleArn } : {},
      removeAnnotations: [],
    })
  }
  const byRole = groupBy(moves, (m) => m.roleArn)
  const roles: RoleChange[] = []
  const associations: AssociationChange[] = []
  for (const [arn, ms] of byRole) {
    const role = iam.roles.find((r) => r.arn === arn)
    const accountId = arn.split(':')[4] ?? ''
    const subjects = [
      ...new Set(ms.map((m) => serviceAccountSubject(m.namespace, m.toServiceAccount))),
    ].sort()
    const add =
      options.to === 'irsa'
        ? irsaTrustPolicy(providerFor(options, accountId), subjects).Statement
        : [podIdentityTrustStatement()]
    if (
      options.to === 'irsa' &&
      options.accountId !== undefined &&
      accountId !== options.accountId
    ) {
      findings.push({
        id: 'CROSS_ACCOUNT',
        severity: 'info',
        message: `role ${arn} is in account ${accountId}, not the cluster's ${options.accountId}: IRSA works across accounts, but account ${accountId} needs its own IAM OIDC provider for the cluster's issuer (the statement names it)`,
      })
    }
    const current = role === undefined ? [] : statementsOf(role.trustPolicy)
    // The kube2iam/kiam statements: the node (or kiam server) role trusted with sts:AssumeRole.
    const legacy = current.filter((s) => {
      const p = s['Principal']
      return (
        typeof p === 'object' &&
        p !== null &&
        'AWS' in p &&
        asList(s['Action']).some((a) => /^sts:AssumeRole$|^sts:\*$|^\*$/i.test(a))
      )
    })
    if (role === undefined) {
      findings.push({
        id: 'ROLE_NOT_IN_GAAD',
        severity: 'warning',
        message: `role ${arn} is not in the IAM input (--gaad): its current trust policy is unknown, the plan shows only the statement to add`,
      })
    } else if (legacy.length > 0) {
      findings.push({
        id: 'NODE_ROLE_TRUST',
        severity: 'info',
        message: `role ${arn} trusts ${legacy.map((s) => JSON.stringify(s['Principal'])).join(', ')} (the kube2iam/kiam pattern): any process with those credentials can assume it; remove after the rollout`,
      })
    }
    if (subjects.length > 1) {
      findings.push({
        id: 'MANY_SERVICE_ACCOUNTS',
        severity: 'info',
        message: `role ${arn} is used by ${subjects.length} ServiceAccounts (${subjects.join(', ')}): ${options.to === 'irsa' ? 'one statement lists them all; consider a role per workload' : 'one association each'}`,
      })
    }
    const during = { Version: '2012-10-17' as const, Statement: [...current, ...add] }
    const after = {
      Version: '2012-10-17' as const,
      Statement: [...current.filter((s) => !legacy.includes(s)), ...add],
    }
    const size = policySize(during)
    roles.push({
      roleArn: arn,
      roleName: arn.split('/').pop() ?? arn,
      accountId,
      known: role !== undefined,
      subjects,
      addStatements: add,
      removeAfterRollout: legacy,
      trustDuringRollout: during,
      trustAfterRollout: after,
      trustSize: size,
    })
    sizeFinding(findings, arn, size)
    if (options.to === 'pod-identity') {
      for (const m of ms) {
        associations.push(
          associationFor(options, findings, m.namespace, m.toServiceAccount, arn, accountId),
        )
      }
    }
  }
  if (options.to === 'pod-identity') sessionTagFinding(findings)
  findings.push(sdkFinding(options.to, [...new Set(moves.flatMap((m) => m.images))]))
  const legacyName = options.from
  const steps =
    options.to === 'irsa'
      ? [
          `Create the IAM OIDC provider for ${options.issuer ?? 'the cluster issuer'} (audience ${IRSA_AUDIENCE}) if the account has none, and make sure the EKS Pod Identity webhook (IRSA mutation) runs.`,
          `Add the IRSA statement to each role's trust policy (trust-policies/*.during.json). ${legacyName} keeps working: its statement stays.`,
          'Create or annotate the ServiceAccounts (serviceaccounts.yaml).',
          `Patch each workload to use its ServiceAccount (patches/*.phase1.yaml); the rolling update replaces pods one by one. New pods get AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; SDKs read web identity credentials before instance metadata, so they use IRSA although ${legacyName} still intercepts metadata calls, and old pods keep ${legacyName} until replaced: no pod is ever without credentials.`,
          'Verify in each new pod (`aws sts get-caller-identity` shows the role; CloudTrail shows AssumeRoleWithWebIdentity) and in the SDK versions of the images.',
          `Remove the ${KUBE2IAM_ROLE} annotations (patches/*.phase2.yaml).`,
          `Remove the ${legacyName} statements from the trust policies (trust-policies/*.after.json), then uninstall ${legacyName} and its iptables rule on every node.`,
        ]
      : [
          'Install the EKS Pod Identity Agent add-on on every node.',
          `Add the pods.eks.amazonaws.com statement (sts:AssumeRole, sts:TagSession) to each role's trust policy (trust-policies/*.during.json). ${legacyName} keeps working.`,
          'Create the ServiceAccounts (serviceaccounts.yaml) and the Pod Identity associations (pod-identity.tf, or associations.json for the CLI).',
          `Patch each workload to use its ServiceAccount (patches/*.phase1.yaml); new pods get AWS_CONTAINER_CREDENTIALS_FULL_URI and the token file, which SDKs read before instance metadata; old pods keep ${legacyName} until replaced.`,
          'Verify in each new pod (`aws sts get-caller-identity`; CloudTrail shows AssumeRoleForPodIdentity) and the SDK versions of the images.',
          `Remove the ${KUBE2IAM_ROLE} annotations (patches/*.phase2.yaml).`,
          `Remove the ${legacyName} statements from the trust policies (trust-policies/*.after.json), then uninstall ${legacyName}.`,
        ]
  const rollback = [
    `Until step 7 the roles still trust the ${legacyName} path: revert a workload with patches/*.rollback.yaml (its old ServiceAccount and the ${KUBE2IAM_ROLE} annotation); its new pods use ${legacyName} again.`,
    `After step 7: first restore the ${legacyName} trust statements (trust-policies/*.during.json) and reinstall ${legacyName}, then revert the workloads.`,
    options.to === 'pod-identity'
      ? 'Delete the associations only after the workloads are reverted.'
      : 'Remove the IRSA annotations only after the workloads are reverted.',
  ]
  return {
    from: options.from,
    to: options.to,
    cluster: options.clusterName,
    issuer: options.issuer,
    workloads: moves,
    serviceAccounts: [...saChanges.values()],
    roles,
    associations,
    steps,
    rollback,
    findings,
  }
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\x21-\x7e]+$/

function associationFor(
  options: PlanOptions,
  findings: Finding[],
  namespace: string,
  serviceAccount: string,
  arn: string,
  accountId: string,
): AssociationChange {
  if (!ROLE_ARN.test(arn)) {
    findings.push({
      id: 'ROLE_UNRESOLVED',
      severity: 'warning',
      message: `${namespace}/${serviceAccount} names the role \`${arn}\`, which is not a role ARN (a template placeholder?): render the manifests with their real values first; the plan keeps it as written`,
    })
  } else if (options.accountId !== undefined && accountId !== options.accountId) {
    const hop =
      `arn:aws:iam::${options.accountId}:role/pod-identity-${arn.split('/').pop() ?? 'target'}`.slice(
        0,
        2048,
      )
    findings.push({
      id: 'CROSS_ACCOUNT',
      severity: 'warning',
      message: `${namespace}/${serviceAccount} uses ${arn} in account ${accountId}, but Pod Identity assumes roles of the cluster's account ${options.accountId} only: create ${hop} (trusting pods.eks.amazonaws.com) as the association's role and give ${arn} as targetRoleArn; the target role must trust ${hop} with sts:AssumeRole and sts:TagSession (and may require the association's sts:ExternalId)`,
    })
    return {
      cluster: options.clusterName,
      namespace,
      serviceAccount,
      roleArn: hop,
      targetRoleArn: arn,
    }
  }
  return {
    cluster: options.clusterName,
    namespace,
    serviceAccount,
    roleArn: arn,
    targetRoleArn: undefined,
  }
}

function sessionTagFinding(findings: Finding[]): void {
  findings.push({
    id: 'SESSION_TAGS',
    severity: 'info',
    message: `Pod Identity sessions carry the session tags ${POD_IDENTITY_SESSION_TAGS.join(', ')} (IRSA and kube2iam sessions carry none): the trust must allow sts:TagSession; the tags count against the session's packed policy size; policies may use aws:PrincipalTag/kubernetes-namespace and the others for ABAC. An association with disableSessionTags: true sends none.`,
  })
}

function sizeFinding(findings: Finding[], arn: string, size: number): void {
  if (size > TRUST_POLICY_LIMIT) {
    findings.push({
      id: 'TRUST_POLICY_SIZE',
      severity: 'error',
      message: `role ${arn}: the trust policy during the rollout has ${size} characters, over IAM's default quota of ${TRUST_POLICY_LIMIT}: raise the quota (Service Quotas, up to 8192), split the role per workload, or use a StringLike pattern for the subjects`,
    })
  } else if (size >= TRUST_POLICY_WARN) {
    findings.push({
      id: 'TRUST_POLICY_SIZE',
      severity: 'warning',
      message: `role ${arn}: the trust policy during the rollout has ${size} of ${TRUST_POLICY_LIMIT} characters: near IAM's default quota`,
    })
  }
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const i of items) out.set(key(i), [...(out.get(key(i)) ?? []), i])
  return out
}

function planFromIrsa(
  cluster: ClusterInventory,
  iam: IamInventory,
  options: PlanOptions,
): MigrationPlan {
  const findings: Finding[] = []
  if (options.to === 'irsa') {
    findings.push({
      id: 'ISSUER_MISSING',
      severity: 'info',
      message: 'from irsa to irsa: nothing to migrate',
    })
  }
  const clusterHost = options.issuer?.replace(/^https:\/\//, '').replace(/\/+$/, '')
  // Who uses which role: ServiceAccount annotations, and the subjects of the roles' OIDC trust statements.
  const uses = new Map<string, { namespace: string; serviceAccount: string }[]>()
  const addUse = (arn: string, namespace: string, serviceAccount: string): void => {
    const list = uses.get(arn) ?? []
    if (!list.some((u) => u.namespace === namespace && u.serviceAccount === serviceAccount))
      list.push({ namespace, serviceAccount })
    uses.set(arn, list)
  }
  for (const sa of cluster.serviceAccounts) {
    const arn = sa.annotations[IRSA_ROLE]
    if (arn === undefined) continue
    addUse(arn, sa.namespace, sa.name)
    const audience = sa.annotations[IRSA_AUDIENCE_ANNOTATION]
    if (audience !== undefined && audience !== IRSA_AUDIENCE) {
      findings.push({
        id: 'CUSTOM_AUDIENCE',
        severity: 'info',
        message: `ServiceAccount ${sa.namespace}/${sa.name} uses the audience ${audience}; Pod Identity tokens always have the audience ${POD_IDENTITY_SERVICE}`,
      })
    }
  }
  for (const role of iam.roles) {
    const hosts = new Set<string>()
    for (const s of statementsOf(role.trustPolicy)) {
      const o = oidcSubjects(s)
      if (o === undefined) continue
      hosts.add(o.host)
      if (clusterHost !== undefined && o.host !== clusterHost) continue
      for (const subject of o.subjects) {
        const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject)
        if (m !== null && !/[*?]/.test(subject)) {
          addUse(role.arn, m[1]!, m[2]!)
          continue
        }
        const matched = cluster.serviceAccounts.filter((sa) =>
          likeMatches(subject, serviceAccountSubject(sa.namespace, sa.name)),
        )
        findings.push({
          id: 'WILDCARD_SUBJECT',
          severity: 'warning',
          message: `role ${role.arn} trusts the pattern ${subject}: Pod Identity associations name one ServiceAccount each; ${matched.length > 0 ? `the inputs have ${matched.map((sa) => `${sa.namespace}/${sa.name}`).join(', ')} matching, each planned as an association` : 'no ServiceAccount in the inputs matches, so no association is planned'} — a ServiceAccount created later will not be covered`,
        })
        for (const sa of matched) addUse(role.arn, sa.namespace, sa.name)
      }
    }
    if (hosts.size > 1) {
      findings.push({
        id: 'CROSS_CLUSTER',
        severity: 'warning',
        message: `role ${role.arn} is trusted by ${hosts.size} OIDC providers (${[...hosts].join(', ')}): it serves several clusters; each cluster needs its own associations, and the OIDC statements of the other clusters must stay until they migrate too`,
      })
    }
  }
  const roles: RoleChange[] = []
  const associations: AssociationChange[] = []
  for (const [arn, users] of uses) {
    const role = iam.roles.find((r) => r.arn === arn)
    const accountId = arn.split(':')[4] ?? ''
    const current = role === undefined ? [] : statementsOf(role.trustPolicy)
    const hasPodIdentity = current.some(
      (s) =>
        JSON.stringify(s['Principal'] ?? '').includes(POD_IDENTITY_SERVICE) &&
        asList(s['Action']).some((a) => /TagSession/.test(a)),
    )
    const add = hasPodIdentity ? [] : [podIdentityTrustStatement()]
    const oidc = current.filter((s) => {
      const o = oidcSubjects(s)
      return o !== undefined && (clusterHost === undefined || o.host === clusterHost)
    })
    if (role === undefined) {
      findings.push({
        id: 'ROLE_NOT_IN_GAAD',
        severity: 'warning',
        message: `role ${arn} is not in the IAM input (--gaad): its current trust policy is unknown, the plan shows only the statement to add`,
      })
    }
    const subjects = users.map((u) => serviceAccountSubject(u.namespace, u.serviceAccount)).sort()
    if (subjects.length > 1) {
      findings.push({
        id: 'MANY_SERVICE_ACCOUNTS',
        severity: 'info',
        message: `role ${arn} is used by ${subjects.length} ServiceAccounts (${subjects.join(', ')}): one association each`,
      })
    }
    const during = { Version: '2012-10-17' as const, Statement: [...current, ...add] }
    const after = {
      Version: '2012-10-17' as const,
      Statement: [...current.filter((s) => !oidc.includes(s)), ...add],
    }
    const size = policySize(during)
    sizeFinding(findings, arn, size)
    roles.push({
      roleArn: arn,
      roleName: arn.split('/').pop() ?? arn,
      accountId,
      known: role !== undefined,
      subjects,
      addStatements: add,
      removeAfterRollout: oidc,
      trustDuringRollout: during,
      trustAfterRollout: after,
      trustSize: size,
    })
    for (const u of users)
      associations.push(
        associationFor(options, findings, u.namespace, u.serviceAccount, arn, accountId),
      )
  }
  sessionTagFinding(findings)
  const images = [
    ...new Set(
      cluster.workloads
        .filter((w) =>
          associations.some(
            (a) => a.namespace === w.namespace && a.serviceAccount === w.serviceAccount,
          ),
        )
        .flatMap((w) => w.containers.map((c) => c.image))
        .filter((i) => i !== ''),
    ),
  ]
  findings.push(sdkFinding('pod-identity', images))
  const serviceAccounts: ServiceAccountChange[] = cluster.serviceAccounts
    .filter(
      (sa) =>
        sa.annotations[IRSA_ROLE] !== undefined &&
        associations.some((a) => a.namespace === sa.namespace && a.serviceAccount === sa.name),
    )
    .map((sa) => ({
      namespace: sa.namespace,
      name: sa.name,
      create: false,
      setAnnotations: {},
      removeAnnotations: [IRSA_ROLE],
    }))
  const workloads: WorkloadMove[] = cluster.workloads
    .filter((w) =>
      associations.some(
        (a) => a.namespace === w.namespace && a.serviceAccount === w.serviceAccount,
      ),
    )
    .map((w) => {
      const a = associations.find(
        (x) => x.namespace === w.namespace && x.serviceAccount === w.serviceAccount,
      )!
      return {
        kind: w.kind,
        name: w.name,
        namespace: w.namespace,
        roleArn: a.targetRoleArn ?? a.roleArn,
        fromServiceAccount: w.serviceAccount,
        toServiceAccount: w.serviceAccount,
        createServiceAccount: false,
        images: [...new Set(w.containers.map((c) => c.image))],
      }
    })
  return {
    from: 'irsa',
    to: options.to,
    cluster: options.clusterName,
    issuer: options.issuer,
    workloads,
    serviceAccounts,
    roles,
    associations,
    steps: [
      'Install the EKS Pod Identity Agent add-on on every node.',
      'Check the SDK versions of the affected images (the SDK_VERSIONS finding).',
      `Add the ${POD_IDENTITY_SERVICE} statement (sts:AssumeRole, sts:TagSession) to each role's trust policy (trust-policies/*.during.json); keep the OIDC statement.`,
      "Create the Pod Identity associations (pod-identity.tf, or associations.json for the CLI). Pods keep using IRSA: web identity credentials come before the container credentials provider in the SDKs' chains.",
      `Remove the ${IRSA_ROLE} annotation from each ServiceAccount (serviceaccounts.patch.yaml) and restart its workloads (\`kubectl rollout restart\`); new pods get only the Pod Identity variables, old pods keep IRSA until replaced: no pod is without credentials.`,
      'Verify in each new pod (`aws sts get-caller-identity`; CloudTrail shows AssumeRoleForPodIdentity).',
      'Remove the OIDC statements for this cluster from the trust policies (trust-policies/*.after.json), then the IAM OIDC provider once no role names it.',
    ],
    rollback: [
      `Until step 7: put the ${IRSA_ROLE} annotation back (serviceaccounts.rollback.yaml) and restart the workloads: web identity wins again; then delete the associations.`,
      'After step 7: restore the OIDC statements first (trust-policies/*.during.json), then as above.',
    ],
    findings,
  }
}

export type { RoleRef }
