/**
 * @module aws/eks/deps
 * The EKS module's dependencies built from the `AppContext`: its repository, the cluster issuers, the role
 * lookup (the identity ports) and IAM's save-time policy validation. EKS Auth builds on the same.
 */
import type { AppContext } from '../../app/context.ts'
import { ensureIssuer, getIssuer } from '../../tokens/issuer.ts'
import { createEksRepo } from './repo.ts'
import type { EksDeps } from './service.ts'
import { sessionPolicyErrors } from './validate.ts'

/** podtrust issuer name → URL; read first, created only when missing (tokens cannot exist before it). */
export function issuerResolver(ctx: AppContext): (name: string) => Promise<string> {
  return async (name) =>
    (await getIssuer(ctx.db, name))?.url ??
    (await ensureIssuer(ctx.db, name, { now: ctx.now() })).url
}

export function eksDepsFromContext(ctx: AppContext): EksDeps {
  return {
    repo: createEksRepo(ctx.db),
    now: ctx.now,
    randomBytes: ctx.randomBytes,
    defaults: { accountId: ctx.settings.accountId, region: ctx.settings.region },
    resolveIssuer: issuerResolver(ctx),
    roleExists: async (arn) => (await ctx.roles.getRoleByArn(arn)) !== undefined,
    policyErrors: sessionPolicyErrors,
    endpoint: ctx.settings.baseUrl,
  }
}
