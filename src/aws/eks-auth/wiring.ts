/**
 * @module aws/eks-auth/wiring
 * Builds the injected dependencies of EKS and EKS Auth from the server's `AppContext`: the EKS repository,
 * the cluster issuers, the token verifier (ctx.tokens), the IAM repository, the policy engine for trust
 * decisions and the STS engineer's `createRoleSession`.
 */
import type { RoleRecord } from '../iam/repo.ts'
import { createIamRepo } from '../iam/repo.ts'
import { authorizeCaller } from '../eks/authorize-caller.ts'
import { type ClusterView, resolveCluster } from '../eks/clusters.ts'
import { createEksRepo } from '../eks/repo.ts'
import type { EksDeps } from '../eks/service.ts'
import { createRoleSession } from '../../identity/sessions.ts'
import type { Caller } from '../../identity/types.ts'
import { type CompiledPolicy, authorize } from '../../policy/index.ts'
import { sessionPolicyErrors } from '../eks/validate.ts'
import { compileCached } from '../eks/policy-cache.ts'
import { Counter } from 'prom-client'
import type { AppContext } from '../../app/context.ts'
import { ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import type { PodIdentityDeps, TrustCheck } from './assume.ts'

/** podtrust issuer name → URL; read first, created only when missing (tokens cannot exist before it). */
export function issuerResolver(ctx: AppContext): (name: string) => Promise<string> {
  return async (name) =>
    (await getIssuer(ctx.db, name))?.url ??
    (await ensureIssuer(ctx.db, name, { now: ctx.now() })).url
}

export function eksDepsFromContext(ctx: AppContext): EksDeps {
  const iam = createIamRepo(ctx.db)
  return {
    repo: createEksRepo(ctx.db),
    now: ctx.now,
    randomBytes: ctx.randomBytes,
    defaults: { accountId: ctx.settings.accountId, region: ctx.settings.region },
    resolveIssuer: issuerResolver(ctx),
    roleExists: async (arn) => (await iam.getRoleByArn(arn)) !== undefined,
    policyErrors: sessionPolicyErrors,
    endpoint: ctx.settings.baseUrl,
  }
}

const DECISIONS_METRIC = 'podtrust_pod_identity_decisions_total'

/** AssumeRoleForPodIdentity outcomes on the server's registry (shared by the route and in-process agents). */
function decisionsCounter(ctx: AppContext): Counter<'result'> | undefined {
  const registry = ctx.metrics
  if (registry === undefined) return undefined
  const existing = registry.getSingleMetric(DECISIONS_METRIC)
  if (existing !== undefined) return existing as Counter<'result'>
  return new Counter({
    name: DECISIONS_METRIC,
    help: 'EKS Auth AssumeRoleForPodIdentity outcomes: Success or the error code',
    labelNames: ['result'] as const,
    registers: [registry],
  })
}

export function podIdentityDepsFromContext(ctx: AppContext): PodIdentityDeps {
  const iam = createIamRepo(ctx.db)
  const decisions = decisionsCounter(ctx)
  const eks = eksDepsFromContext(ctx)
  return {
    now: ctx.now,
    randomBytes: ctx.randomBytes,
    repo: eks.repo,
    region: ctx.settings.region,
    async getCluster(name): Promise<ClusterView | undefined> {
      const row = await eks.repo.getCluster(name)
      return row === undefined ? undefined : resolveCluster(row, eks.defaults, eks.resolveIssuer)
    },
    async verifyToken(token, options) {
      const v = await ctx.tokens.verify(token, options)
      return {
        claims: v.claims as Record<string, unknown>,
        subject: v.subject,
        audience: v.audience,
      }
    },
    getRole: (arn) => iam.getRoleByArn(arn),
    async authorizeTrust(check: TrustCheck) {
      const trust = compileCached(check.role.arn, check.role.assumeRolePolicyDocument, 'trust')
      if (trust === undefined) return { allowed: false, decision: 'ImplicitlyDenied' }
      const identity: CompiledPolicy[] = []
      if (check.callerRole !== undefined) {
        for (const d of await iam.getRolePolicyDocuments(
          check.callerRole.accountId,
          check.callerRole.roleName,
        )) {
          const p = compileCached(d.id, d.document, 'identity')
          if (p !== undefined) identity.push(p)
        }
      }
      const result = authorize({
        principal: check.principal,
        action: check.action,
        resource: check.role.arn,
        resourceAccount: check.role.accountId,
        context: check.context,
        identityPolicies: identity,
        resourcePolicy: trust,
        resourcePolicyIsGate: true,
      })
      return { allowed: result.decision === 'Allowed', decision: result.decision }
    },
    async createSession(input) {
      // INVARIANT: roles come from getRole above, i.e. the IAM repository's RoleRecord.
      const { role, ...rest } = input
      const out = await createRoleSession(ctx, { ...rest, role: role as RoleRecord })
      return {
        credentials: out.credentials,
        assumedRoleUser: out.assumedRoleUser,
        session: out.session,
      }
    },
    authorizeCaller: (caller, clusterArn) =>
      authorizeCaller(ctx, caller as Caller, 'eks-auth:AssumeRoleForPodIdentity', clusterArn),
    audit: (event) => {
      decisions?.inc({ result: event.errorCode ?? 'Success' })
      return ctx.audit.record(event)
    },
  }
}
