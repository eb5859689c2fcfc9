/**
 * @module analysis/checks/oidc
 * IRSA trust checks (IRSA-001…009), issuer/audience (X-002, X-003) and the quotas scan watches (LIMIT-001 trust
 * policy size, LIMIT-002 OIDC providers per account; IAM User Guide, "IAM and AWS STS quotas"). Breadth of a `sub`
 * condition is judged by evaluating probe subjects with the engine, so every operator (`StringLike`,
 * `ForAnyValue:`, `…IfExists`, negated operators, case-insensitive forms) is covered by one evaluation path.
 */
import type { StatementModel } from '../../policy/index.ts'
import { finding, type ScanContext } from '../context.ts'
import type { IamRole, ScanFinding } from '../model.ts'
import {
  DEFAULT_AUDIENCE,
  evaluateWebIdentity,
  isMultiTenantIssuer,
  subFilter,
  subjectOf,
} from '../reachability.ts'
import { actionListed, pushTo } from './util.ts'

export const PROBE = 'zz-podtrust-probe'
const TRUST_QUOTA = 2048
const PROVIDERS_QUOTA = 100

export interface OidcStatement {
  index: number
  statement: StatementModel
  providerArn: string
  url: string
}

/** Allow statements of a trust that admit AssumeRoleWithWebIdentity from an `oidc-provider/` principal. */
export function oidcStatements(role: IamRole): OidcStatement[] {
  const out: OidcStatement[] = []
  role.trust.compiled?.model.statements.forEach((st, index) => {
    if (st.effect !== 'Allow') return
    if (!actionListed(st, 'sts:AssumeRoleWithWebIdentity')) return
    for (const arn of st.principal?.federated ?? []) {
      const i = arn.indexOf(':oidc-provider/')
      if (i < 0) continue
      out.push({
        index,
        statement: st,
        providerArn: arn,
        url: arn.slice(i + ':oidc-provider/'.length),
      })
    }
  })
  return out
}

const baseOperator = (op: string): string =>
  op
    .replace(/^(ForAnyValue|ForAllValues):/i, '')
    .replace(/IfExists$/i, '')
    .toLowerCase()

const POSITIVE = new Set(['stringequals', 'stringlike', 'stringequalsignorecase'])

function claimConditions(st: StatementModel, url: string, claim: string) {
  const key = `${url}:${claim}`.toLowerCase()
  return st.conditions.filter((c) => c.key.toLowerCase() === key)
}

function positive(st: StatementModel, url: string, claim: string) {
  return claimConditions(st, url, claim).filter(
    (c) =>
      POSITIVE.has(baseOperator(c.operator)) &&
      !/^ForAllValues:/i.test(c.operator) &&
      !/IfExists$/i.test(c.operator),
  )
}

export function checkOidcTrusts(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { iam, kube, side } = ctx.inputs
  const suppliedProviders = side.oidcProviders
  const providerByArn = new Map(suppliedProviders?.map((p) => [p.arn, p]))
  const namespaces = new Set<string>([...kube.namespaces.keys()])
  for (const sa of kube.serviceAccounts.values()) namespaces.add(sa.namespace)

  for (const role of iam.roles.values()) {
    const statements = oidcStatements(role)
    if (statements.length === 0) continue
    const reachableBy = [...(ctx.podReachable.get(role.arn) ?? [])]
    const providers = new Map<string, OidcStatement[]>()
    for (const s of statements) pushTo(providers, s.providerArn, s)

    const clusterProviders = [...providers.keys()].filter(
      (arn) => !isMultiTenantIssuer(providers.get(arn)![0]!.url),
    )
    if (clusterProviders.length > 1) {
      out.push(
        finding(
          'IRSA-005',
          'low',
          [role.arn, ...clusterProviders],
          `role ${role.name} trusts ${clusterProviders.length} clusters' OIDC providers; each cluster contributes its own namespace/serviceaccount subjects`,
          'remove retired clusters’ providers from the trust; keep sub and aud conditions per provider',
        ),
      )
    }

    for (const [providerArn, sts] of providers) {
      const url = sts[0]!.url
      const provider = { arn: providerArn, url }
      if (suppliedProviders !== undefined && !providerByArn.has(providerArn)) {
        out.push(
          finding(
            'IRSA-006',
            role.lastUsedKnown && role.lastUsed === undefined ? 'info' : 'low',
            [role.arn, providerArn],
            `role ${role.name} trusts OIDC provider ${url}, which does not exist in the account: STS rejects every token for it`,
            `create the provider (\`aws iam create-open-id-connect-provider --url https://${url} --client-id-list sts.amazonaws.com\`) or delete the role`,
          ),
        )
      }
      if (isMultiTenantIssuer(url)) {
        out.push(...checkCiIssuer(role, sts, url))
        continue
      }
      // X-002: issuer documents served from object storage.
      if (
        /(^|\.)s3[.-]([a-z0-9-]+\.)?amazonaws\.com|\.blob\.core\.windows\.net|storage\.googleapis\.com/i.test(
          url,
        )
      ) {
        out.push(
          finding(
            'X-002',
            'high',
            [providerArn, role.arn],
            `issuer ${url} is served from object storage: whoever can write (or re-create) that bucket publishes the keys the trust accepts`,
            'keep the discovery document and JWKS in storage you own with public writes blocked; delete providers before their buckets',
          ),
        )
      }

      // Probes, judged by the engine.
      const globalProbe = evaluateWebIdentity(
        role,
        provider,
        { sub: subjectOf(PROBE, PROBE), aud: DEFAULT_AUDIENCE },
        ctx.now,
      )
      const noSubProbe = evaluateWebIdentity(role, provider, { aud: DEFAULT_AUDIENCE }, ctx.now)
      const hasPositiveSub = sts.every((s) => positive(s.statement, url, 'sub').length > 0)
      const wildcardSub = sts.flatMap((s) =>
        positive(s.statement, url, 'sub')
          .filter((c) => baseOperator(c.operator) === 'stringlike')
          .flatMap((c) => c.values.filter((v) => /[*?]/.test(v))),
      )
      const escalate =
        reachableBy.length > 0 ? ` (reachable from ${reachableBy.length} ServiceAccount(s))` : ''
      if (globalProbe?.decision === 'Allowed') {
        if (hasPositiveSub) {
          out.push(
            finding(
              'IRSA-002',
              'high',
              [role.arn, providerArn],
              `role ${role.name}: the sub condition (${wildcardSub.join(', ') || 'a pattern'}) admits any ServiceAccount of ${url}, e.g. ${subjectOf(PROBE, PROBE)}${escalate}`,
              `pin one ServiceAccount: "StringEquals": {"${url}:sub": "system:serviceaccount:<ns>:<sa>"}`,
            ),
          )
        } else {
          out.push(
            finding(
              'IRSA-001',
              'high',
              [role.arn, providerArn],
              `role ${role.name} trusts ${url} without a positive sub condition: any ServiceAccount with an STS-audience token can assume it${escalate}`,
              `add "StringEquals": {"${url}:sub": "system:serviceaccount:<ns>:<sa>", "${url}:aud": "sts.amazonaws.com"}`,
            ),
          )
        }
      } else {
        // Only namespaces a sub pattern can reach need a probe (the same pruning as reachability).
        const filter = subFilter(role.trust.compiled!, provider)
        const reachableNs = (ns: string) => {
          if (filter.all) return true
          const base = `system:serviceaccount:${ns}:`
          return filter.prefixes.some((p) => base.startsWith(p) || p.startsWith(base))
        }
        const wideIn = [...namespaces].filter(
          (ns) =>
            reachableNs(ns) &&
            evaluateWebIdentity(
              role,
              provider,
              { sub: subjectOf(ns, PROBE), aud: DEFAULT_AUDIENCE },
              ctx.now,
            )?.decision === 'Allowed',
        )
        if (wideIn.length > 0) {
          out.push(
            finding(
              'IRSA-002',
              'medium',
              [role.arn, ...wideIn.map((ns) => `namespace ${ns}`)],
              `role ${role.name}: the sub condition admits every ServiceAccount of namespace(s) ${wideIn.join(', ')}`,
              'one exact ServiceAccount per role (StringEquals), or one role per application',
            ),
          )
        } else if (wildcardSub.length > 0) {
          out.push(
            finding(
              'IRSA-002',
              'low',
              [role.arn],
              `role ${role.name}: sub pattern(s) ${wildcardSub.join(', ')} admit any ServiceAccount whose name matches`,
              'use StringEquals with exact ServiceAccount names',
            ),
          )
        }
      }

      // IRSA-007: operator pitfalls, confirmed by evaluating a token without the claim.
      const pitfalls: string[] = []
      for (const s of sts) {
        for (const claim of ['sub', 'aud']) {
          for (const c of claimConditions(s.statement, url, claim)) {
            if (/^ForAllValues:/i.test(c.operator))
              pitfalls.push(`${c.operator} on ${claim} (vacuously true when the claim is absent)`)
            else if (/IfExists$/i.test(c.operator))
              pitfalls.push(`${c.operator} on ${claim} (passes when the claim is absent)`)
          }
        }
        const subConds = claimConditions(s.statement, url, 'sub')
        if (
          subConds.length > 0 &&
          positive(s.statement, url, 'sub').length === 0 &&
          subConds.every((c) => /Not/i.test(c.operator))
        ) {
          pitfalls.push(
            `only negated operators (${subConds.map((c) => c.operator).join(', ')}) limit sub: every other subject is admitted`,
          )
        }
      }
      if (pitfalls.length > 0 || (noSubProbe?.decision === 'Allowed' && hasPositiveSub)) {
        out.push(
          finding(
            'IRSA-007',
            'medium',
            [role.arn],
            `role ${role.name}: ${pitfalls.length > 0 ? pitfalls.join('; ') : 'a token without sub is admitted'}`,
            `use StringEquals/StringLike without set qualifiers or IfExists on ${url}:sub and :aud`,
          ),
        )
      }

      // IRSA-003 / X-003: audience.
      const clientIds = providerByArn.get(providerArn)?.clientIds
      const extraAudiences = clientIds?.filter((c) => c !== DEFAULT_AUDIENCE) ?? []
      const hasAud = sts.every((s) => positive(s.statement, url, 'aud').length > 0)
      if (!hasAud) {
        out.push(
          finding(
            'IRSA-003',
            extraAudiences.length > 0 ? 'medium' : 'low',
            [role.arn],
            `role ${role.name} has no aud condition on ${url}${extraAudiences.length > 0 ? `; the provider also accepts ${extraAudiences.join(', ')}` : ''}`,
            `add "StringEquals": {"${url}:aud": "sts.amazonaws.com"}`,
          ),
        )
      }

      // IRSA-008: conditions that can never match.
      const dead: string[] = []
      for (const s of sts) {
        for (const c of s.statement.conditions) {
          const key = c.key.toLowerCase()
          const op = baseOperator(c.operator)
          if (key === url.toLowerCase()) dead.push(`key ${c.key} has no claim suffix (:sub/:aud)`)
          else if (/^https?:\/\//i.test(c.key))
            dead.push(
              `key ${c.key} starts with a scheme; IAM keys use the provider URL without https://`,
            )
          else if (
            /:(sub|aud)$/i.test(c.key) &&
            !key.startsWith(`${url.toLowerCase()}:`) &&
            key.includes('/id/')
          )
            dead.push(`key ${c.key} names another issuer than the trusted provider ${url}`)
          if (key === `${url}:sub`.toLowerCase() && op === 'stringequals') {
            for (const v of c.values) {
              if (/[*?]/.test(v))
                dead.push(
                  `StringEquals sub value ${JSON.stringify(v)} contains a wildcard, which StringEquals compares literally`,
                )
              else if (!/^system:serviceaccount:[^:]+:[^:]+$/.test(v) && !v.includes('${'))
                dead.push(
                  `sub value ${JSON.stringify(v)} is not of the form system:serviceaccount:<ns>:<sa>`,
                )
            }
          }
          if (
            key === `${url}:aud`.toLowerCase() &&
            c.values.some((v) => v.startsWith('system:serviceaccount:'))
          )
            dead.push(`a ServiceAccount subject is under :aud instead of :sub`)
        }
      }
      if (dead.length > 0) {
        out.push(
          finding(
            'IRSA-008',
            'medium',
            [role.arn],
            `role ${role.name}: ${[...new Set(dead)].join('; ')}`,
            `fix the keys and values, e.g. "StringEquals": {"${url}:sub": "system:serviceaccount:<ns>:<sa>", "${url}:aud": "sts.amazonaws.com"}`,
          ),
        )
      }
    }
    if (role.trust.size > TRUST_QUOTA * 0.8) {
      out.push(
        finding(
          'LIMIT-001',
          role.trust.size > TRUST_QUOTA ? 'medium' : 'low',
          [role.arn],
          `role ${role.name}: trust policy is ${role.trust.size} characters, near the default quota of ${TRUST_QUOTA} (raisable to 8,192): adding a cluster or ServiceAccount will fail`,
          'split roles per application, or request a quota increase for "Role trust policy length"',
        ),
      )
    }
  }

  for (const p of suppliedProviders ?? []) {
    const extra = p.clientIds.filter((c) => c !== DEFAULT_AUDIENCE)
    if (extra.length > 0 && !isMultiTenantIssuer(p.url)) {
      out.push(
        finding(
          'X-003',
          extra.some((c) =>
            /kubernetes\.default\.svc|AzureADTokenExchange|iam\.googleapis\.com/i.test(c),
          )
            ? 'high'
            : 'medium',
          [p.arn],
          `OIDC provider ${p.url} also accepts audiences ${extra.join(', ')}: tokens minted for them satisfy trusts without an aud condition`,
          `aws iam remove-client-id-from-open-id-connect-provider --open-id-connect-provider-arn ${p.arn} --client-id <value>`,
        ),
      )
    }
  }
  const count = suppliedProviders?.length ?? 0
  if (count > PROVIDERS_QUOTA * 0.8) {
    out.push(
      finding(
        'LIMIT-002',
        count >= PROVIDERS_QUOTA ? 'high' : 'medium',
        [...ctx.inputs.iam.accounts].map((a) => `account ${a}`),
        `${count} OIDC providers: the quota is ${PROVIDERS_QUOTA} per account; new clusters cannot get IRSA`,
        'delete providers of retired clusters, or move clusters to EKS Pod Identity',
      ),
    )
  }
  return out
}

/** IRSA-004 / IRSA-009: CI and other multi-tenant issuers must pin the tenant. */
function checkCiIssuer(role: IamRole, sts: OidcStatement[], url: string): ScanFinding[] {
  const out: ScanFinding[] = []
  const host = url.split('/')[0]!.toLowerCase()
  const pinned = sts.every((s) => {
    const subs = positive(s.statement, url, 'sub').flatMap((c) => c.values)
    const ids = s.statement.conditions.filter((c) =>
      /:(repository_id|repository_owner_id|job_workflow_ref|namespace_id|project_id)$/i.test(c.key),
    )
    if (ids.length > 0) return true
    if (subs.length === 0) return false
    if (host.endsWith('githubusercontent.com'))
      return subs.every((v) => /^repo:[^/*?]+\/[^:*?]*/.test(v))
    return subs.every((v) => v !== '*' && !/^[^:]*:\*/.test(v))
  })
  out.push(
    finding(
      'IRSA-004',
      pinned ? 'high' : 'critical',
      [role.arn, sts[0]!.providerArn],
      `role ${role.name} trusts the multi-tenant issuer ${host}${pinned ? '' : ' without pinning the tenant'}`,
      'pin the tenant claims (repository, organization, project) with StringEquals',
    ),
  )
  if (!pinned) {
    out.push(
      finding(
        'IRSA-009',
        'critical',
        [role.arn],
        `role ${role.name}: any ${host} workflow can assume it (sub missing, * or not starting with the organization)`,
        host.endsWith('githubusercontent.com')
          ? `"StringLike": {"${url}:sub": "repo:<org>/<repo>:*"}, or the immutable repository_id claim`
          : 'pin sub to your project or namespace',
      ),
    )
  }
  return out
}
