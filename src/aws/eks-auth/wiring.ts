/**
 * @module aws/eks-auth/wiring
 * Builds EKS Auth's injected dependencies from the `AppContext`: the EKS module's own (`eks/deps.ts`), the
 * token verifier (ctx.tokens), the role lookup port, trust decisions and session creation (both steps of
 * the assume-role pipeline, `src/identity/assume-role/`), and the caller's authorization by the one
 * authorizer with the request's facts when the call came over the API.
 */
import { authorizeCaller } from '../eks/authorize-caller.ts'
import { type ClusterView, resolveCluster } from '../eks/clusters.ts'
import { eksDepsFromContext } from '../eks/deps.ts'
import type { RequestFacts } from '../../identity/context.ts'
import type { Caller } from '../../identity/types.ts'
import type { CompiledPolicy } from '../../policy/index.ts'
import { compileCached } from '../../policy/compile-cached.ts'
import {
  compileTrustPolicy,
  evaluateTrust,
  issueRoleSession,
} from '../../identity/assume-role/index.ts'
import type { IdentityRole } from '../../identity/ports.ts'
import { Counter } from 'prom-client'
import type { AppContext } from '../../app/context.ts'
import type { PodIdentityDeps, TrustCheck } from './assume.ts'

/** The action EKS Auth authorizes its caller for, on the cluster. */
export const ASSUME_ROLE_FOR_POD_IDENTITY = 'eks-auth:AssumeRoleForPodIdentity'

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

/** The caller's authorization for one request: the one authorizer with the request's facts. */
export function callerAuthorizer(
  ctx: AppContext,
  request: Partial<RequestFacts>,
): NonNullable<PodIdentityDeps['authorizeCaller']> {
  return (caller, clusterArn) =>
    authorizeCaller(ctx, caller as Caller, ASSUME_ROLE_FOR_POD_IDENTITY, clusterArn, request)
}

/**
 * EKS Auth's dependencies. `request`: the facts of the API request being served (source IP, TLS, the
 * credential scope's Region, User-Agent), so the caller's authorization sees the complete request context;
 * absent for the in-process agent (no signed caller to authorize).
 */
export function podIdentityDepsFromContext(
  ctx: AppContext,
  request?: RequestFacts,
): PodIdentityDeps {
  const iam = ctx.roles
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
      const identity: CompiledPolicy[] = []
      if (check.callerRole !== undefined) {
        for (const d of await ctx.roles.getRolePolicyDocuments(
          check.callerRole.accountId,
          check.callerRole.roleName,
        ))
          identity.push(compileCached(d.document, { id: d.id, type: 'identity' }))
      }
      const trust = compileTrustPolicy(check.role)
      const result = evaluateTrust(
        {
          principal: check.principal,
          policies: { identityPolicies: identity },
          resource: check.role.arn,
          resourceAccount: check.role.accountId,
          trust,
          context: check.context,
        },
        check.action,
      )
      const allowed = trust !== undefined && result.decision === 'Allowed'
      return { allowed, decision: trust === undefined ? 'ImplicitlyDenied' : result.decision }
    },
    async createSession(input) {
      // INVARIANT: roles come from getRole above, i.e. the role lookup port's IdentityRole.
      const out = await issueRoleSession(ctx, input.role as IdentityRole, {
        sessionName: input.sessionName,
        durationSeconds: input.durationSeconds,
        tags: input.tags ?? [],
        transitiveTagKeys: input.transitiveTagKeys ?? [],
        inheritedTransitiveTags: input.inheritedTransitiveTags ?? [],
        policy: input.sessionPolicy,
        policyArns: [],
        chained: input.chained === true,
      })
      return {
        credentials: out.credentials,
        assumedRoleUser: out.assumedRoleUser,
        session: out.session,
      }
    },
    authorizeCaller: callerAuthorizer(ctx, request ?? { region: ctx.settings.region }),
    audit: (event) => {
      decisions?.inc({ result: event.errorCode ?? 'Success' })
      return ctx.audit.record(event)
    },
  }
}
