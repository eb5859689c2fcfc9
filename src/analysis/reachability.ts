/**
 * @module analysis/reachability
 * Which ServiceAccount can obtain which role — by evaluation with the policy engine, never by reading
 * annotations: every role's trust policy is evaluated for every ServiceAccount's token claims
 * (`sub = system:serviceaccount:NS:SA`, `aud` = the SA's `eks.amazonaws.com/audience` or `sts.amazonaws.com`),
 * with the request context podtrust's STS builds for AssumeRoleWithWebIdentity (EKS user guide, "IAM roles for
 * service accounts"; IAM User Guide, "Available keys for AWS web identity federation").
 *
 * Scale: trusts are indexed by OIDC provider, and per (role, provider) by the `:sub` values of their Allow
 * statements. A statement whose conditions contain a plain `StringEquals`/`StringLike` on `<issuer>:sub` can only
 * admit subjects equal to one of its values / starting with the literal prefix of one of its patterns (the
 * operator requires a match; keys AND, values OR), so only those ServiceAccounts are evaluated. Statements without
 * such a condition (or with variables, qualifiers, IfExists, negated operators) make every ServiceAccount a
 * candidate. The decision for each candidate is the engine's: the index prunes, it never decides.
 */
import { authorize, type AuthorizationResult, type CompiledPolicy } from '../policy/index.ts'
import { buildRequestContext } from '../identity/context.ts'
import type { IamRole, OidcProvider, PodIdentityAssociation, ServiceAccountInfo } from './model.ts'

export const DEFAULT_AUDIENCE = 'sts.amazonaws.com'
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn'
export const IRSA_AUDIENCE_ANNOTATION = 'eks.amazonaws.com/audience'
export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com'
/** Session tags EKS Pod Identity adds (EKS user guide, "pod-id-abac"). */
export const POD_IDENTITY_TAG_KEYS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
] as const

/** Public multi-tenant issuers: their `sub` names a tenant of someone else's platform, not a ServiceAccount. */
export const MULTI_TENANT_ISSUERS = [
  'token.actions.githubusercontent.com',
  'gitlab.com',
  'app.terraform.io',
  'accounts.google.com',
  'cognito-identity.amazonaws.com',
  'oidc.circleci.com',
  'vstoken.actions.githubusercontent.com',
]

export function isMultiTenantIssuer(url: string): boolean {
  const host = url.split('/')[0]!.toLowerCase()
  return MULTI_TENANT_ISSUERS.some((h) => host === h || host.endsWith(`.${h}`))
}

export const subjectOf = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`

export interface ProviderRef {
  arn: string
  url: string
  /** Unknown (no provider list given): STS's audience check is not modelled. */
  clientIds?: string[]
  /** False when a provider list was given and this ARN is not in it (STS then fails: no such provider). */
  exists: boolean
}

export function webIdentityContext(
  provider: { arn: string; url: string },
  claims: { sub?: string; aud?: string },
  now: Date,
): Record<string, string | string[]> {
  return buildRequestContext({
    now,
    secureTransport: true,
    webIdentity: {
      providerUrl: provider.url,
      providerArn: provider.arn,
      ...(claims.sub !== undefined ? { sub: claims.sub } : {}),
      ...(claims.aud !== undefined ? { aud: claims.aud } : {}),
    },
  })
}

/** The engine's decision for one AssumeRoleWithWebIdentity (trust policy as a gate, as STS does). */
export function evaluateWebIdentity(
  role: IamRole,
  provider: { arn: string; url: string },
  claims: { sub?: string; aud?: string },
  now: Date,
): AuthorizationResult | undefined {
  const trust = role.trust.compiled
  if (trust === undefined) return undefined
  return authorize({
    principal: provider.arn,
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: role.arn,
    context: webIdentityContext(provider, claims, now),
    identityPolicies: [],
    resourcePolicy: trust,
    resourcePolicyIsGate: true,
  })
}

/** The engine's decision for EKS Pod Identity's first hop (AssumeRole and, with tags, TagSession). */
export function evaluatePodIdentity(
  role: IamRole,
  association: PodIdentityAssociation,
  action: 'sts:AssumeRole' | 'sts:TagSession',
  now: Date,
  podName = 'zz-podtrust-probe',
): AuthorizationResult | undefined {
  const trust = role.trust.compiled
  if (trust === undefined) return undefined
  const clusterArn =
    association.clusterArn ??
    `arn:aws:eks:us-east-1:${role.accountId}:cluster/${association.clusterName}`
  const tags = association.disableSessionTags
    ? []
    : [
        { key: 'eks-cluster-arn', value: clusterArn },
        { key: 'eks-cluster-name', value: association.clusterName },
        { key: 'kubernetes-namespace', value: association.namespace },
        { key: 'kubernetes-service-account', value: association.serviceAccount },
        { key: 'kubernetes-pod-name', value: podName },
        { key: 'kubernetes-pod-uid', value: '00000000-0000-0000-0000-000000000000' },
      ]
  const account = clusterArn.split(':')[4] ?? role.accountId
  const context = buildRequestContext({
    now,
    secureTransport: true,
    requestTags: tags,
    sts: tags.length > 0 ? { transitiveTagKeys: [...POD_IDENTITY_TAG_KEYS] } : {},
    extra: {
      'aws:SourceArn': clusterArn,
      'aws:SourceAccount': account,
      'aws:PrincipalIsAWSService': 'true',
      'aws:PrincipalServiceName': POD_IDENTITY_PRINCIPAL,
    },
  })
  return authorize({
    principal: POD_IDENTITY_PRINCIPAL,
    action,
    resource: role.arn,
    context,
    identityPolicies: [],
    resourcePolicy: trust,
    resourcePolicyIsGate: true,
  })
}

// ---------------------------------------------------------------- the index

/** How a (role, provider) pair restricts `sub`: `all` or the exact values and literal prefixes that can match. */
export type SubFilter = { all: true } | { all: false; exact: string[]; prefixes: string[] }

const PRUNABLE = new Set(['stringequals', 'stringlike'])

function statementAdmitsProvider(
  policy: CompiledPolicy,
  index: number,
  providerArn: string,
): boolean {
  const model = policy.model.statements[index]!
  if (model.effect !== 'Allow') return false
  if (model.notPrincipal !== undefined) return true
  const p = model.principal
  if (p === undefined) return false
  return p.wildcard || p.federated.includes(providerArn) || p.aws.includes('*')
}

/** The `sub` filter of one role's trust for one provider (see the module comment). */
export function subFilter(
  trust: CompiledPolicy,
  provider: { arn: string; url: string },
): SubFilter {
  const subKey = `${provider.url}:sub`.toLowerCase()
  const exact: string[] = []
  const prefixes: string[] = []
  let any = false
  trust.model.statements.forEach((st, i) => {
    if (!statementAdmitsProvider(trust, i, provider.arn)) return
    any = true
    const pinned = st.conditions.find(
      (c) => c.key.toLowerCase() === subKey && PRUNABLE.has(c.operator.toLowerCase()),
    )
    if (pinned === undefined || pinned.values.some((v) => v.includes('${'))) {
      exact.length = 0
      prefixes.push('')
      return
    }
    if (pinned.operator.toLowerCase() === 'stringequals') exact.push(...pinned.values)
    else
      for (const v of pinned.values) {
        const cut = v.search(/[*?]/)
        if (cut < 0) exact.push(v)
        else prefixes.push(v.slice(0, cut))
      }
  })
  if (!any) return { all: false, exact: [], prefixes: [] }
  if (prefixes.includes('')) return { all: true }
  return { all: false, exact, prefixes }
}

/** Sorted subjects for prefix lookups. */
export class SubjectIndex<T> {
  private readonly bySub = new Map<string, T[]>()
  private readonly sorted: string[]

  constructor(entries: Iterable<[string, T]>) {
    for (const [sub, value] of entries) {
      const bucket = this.bySub.get(sub)
      if (bucket === undefined) this.bySub.set(sub, [value])
      else bucket.push(value)
    }
    this.sorted = [...this.bySub.keys()].sort()
  }

  all(): T[] {
    return [...this.bySub.values()].flat()
  }

  candidates(filter: SubFilter): T[] {
    if (filter.all) return this.all()
    const out = new Set<T>()
    for (const sub of filter.exact) for (const v of this.bySub.get(sub) ?? []) out.add(v)
    for (const prefix of filter.prefixes) {
      let lo = 0
      let hi = this.sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (this.sorted[mid]! < prefix) lo = mid + 1
        else hi = mid
      }
      for (let i = lo; i < this.sorted.length && this.sorted[i]!.startsWith(prefix); i++) {
        for (const v of this.bySub.get(this.sorted[i]!) ?? []) out.add(v)
      }
    }
    return [...out]
  }
}

export interface IrsaEdge {
  serviceAccount: ServiceAccountInfo
  role: IamRole
  provider: ProviderRef
  audience: string
}

export function audienceOf(sa: ServiceAccountInfo): string {
  return sa.annotations[IRSA_AUDIENCE_ANNOTATION] ?? DEFAULT_AUDIENCE
}

/**
 * The providers whose tokens the inventory's pods could carry: those supplied (or, without a list, those the
 * trusts name), less multi-tenant CI issuers; narrowed to `issuers` when the cluster issuer is known.
 */
export function clusterProviders(
  roles: Iterable<IamRole>,
  supplied: OidcProvider[] | undefined,
  issuers: string[] | undefined,
): ProviderRef[] {
  const out = new Map<string, ProviderRef>()
  const known = new Set(supplied?.map((p) => p.arn))
  if (supplied !== undefined) {
    for (const p of supplied)
      out.set(p.arn, { arn: p.arn, url: p.url, clientIds: p.clientIds, exists: true })
  }
  for (const role of roles) {
    const trust = role.trust.compiled
    if (trust === undefined) continue
    for (const st of trust.model.statements) {
      for (const arn of st.principal?.federated ?? []) {
        if (!arn.includes(':oidc-provider/') || out.has(arn)) continue
        const url = arn.slice(arn.indexOf(':oidc-provider/') + ':oidc-provider/'.length)
        out.set(arn, { arn, url, exists: supplied === undefined || known.has(arn) })
      }
    }
  }
  const wanted = issuers?.map((i) =>
    i
      .replace(/^https:\/\//i, '')
      .replace(/\/+$/, '')
      .toLowerCase(),
  )
  return [...out.values()].filter(
    (p) =>
      !isMultiTenantIssuer(p.url) && (wanted === undefined || wanted.includes(p.url.toLowerCase())),
  )
}

/** Roles that could admit a provider's tokens: those naming it, plus wildcard/NotPrincipal trusts. */
export function rolesByProvider(roles: Iterable<IamRole>): {
  byArn: Map<string, IamRole[]>
  open: IamRole[]
} {
  const byArn = new Map<string, IamRole[]>()
  const open: IamRole[] = []
  for (const role of roles) {
    const trust = role.trust.compiled
    if (trust === undefined) continue
    let isOpen = false
    const named = new Set<string>()
    for (const st of trust.model.statements) {
      if (st.effect !== 'Allow') continue
      if (
        st.notPrincipal !== undefined ||
        st.principal?.wildcard === true ||
        st.principal?.aws.includes('*')
      )
        isOpen = true
      for (const f of st.principal?.federated ?? []) named.add(f)
    }
    if (isOpen) open.push(role)
    for (const arn of named) {
      const bucket = byArn.get(arn)
      if (bucket === undefined) byArn.set(arn, [role])
      else bucket.push(role)
    }
  }
  return { byArn, open }
}

export interface IrsaReachability {
  edges: IrsaEdge[]
  evaluations: number
}

/** Every (ServiceAccount, role) pair whose AssumeRoleWithWebIdentity the engine allows, through any provider. */
export function irsaReachability(
  serviceAccounts: Iterable<ServiceAccountInfo>,
  roles: Iterable<IamRole>,
  providers: ProviderRef[],
  now: Date,
  onProgress?: (done: number, total: number) => void,
): IrsaReachability {
  const index = new SubjectIndex<ServiceAccountInfo>(
    [...serviceAccounts].map((sa) => [subjectOf(sa.namespace, sa.name), sa]),
  )
  const { byArn, open } = rolesByProvider(roles)
  const edges: IrsaEdge[] = []
  let evaluations = 0
  let done = 0
  for (const provider of providers) {
    done++
    if (!provider.exists) continue // STS: InvalidIdentityToken, no provider for the issuer.
    const candidatesRoles = new Set([...(byArn.get(provider.arn) ?? []), ...open])
    for (const role of candidatesRoles) {
      const filter = subFilter(role.trust.compiled!, provider)
      for (const sa of index.candidates(filter)) {
        const aud = audienceOf(sa)
        if (provider.clientIds !== undefined && !provider.clientIds.includes(aud)) continue
        evaluations++
        const result = evaluateWebIdentity(
          role,
          provider,
          { sub: subjectOf(sa.namespace, sa.name), aud },
          now,
        )
        if (result?.decision === 'Allowed')
          edges.push({ serviceAccount: sa, role, provider, audience: aud })
      }
    }
    onProgress?.(done, providers.length)
  }
  return { edges, evaluations }
}
