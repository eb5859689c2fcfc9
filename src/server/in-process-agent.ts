/**
 * @module server/in-process-agent
 * The agent inside `podtrust up --agent-port`: EKS Auth is called in-process (no HTTP hop, no signing; the
 * server itself is the trusted node). Wiring of two adapters (the agent and EKS Auth), so it lives in the
 * composition root. Without a fixed cluster, the token's (unverified) `iss` picks the
 * registered cluster with that issuer; EKS Auth then verifies the token against exactly that issuer.
 */
import { randomUUID } from 'node:crypto'
import { basicClaimCheck } from '../agent/jwt.ts'
import { type RunningAgent, startAgent } from '../agent/server.ts'
import { type CredentialSource, UpstreamError } from '../agent/source.ts'
import type { AppContext } from '../app/context.ts'
import { assumeRoleForPodIdentity } from '../aws/eks-auth/assume.ts'
import { podIdentityDepsFromContext } from '../aws/eks-auth/wiring.ts'
import { resolveCluster } from '../aws/eks/clusters.ts'
import { issuerResolver } from '../aws/eks/deps.ts'
import { createEksRepo } from '../aws/eks/repo.ts'
import { isStoreUnavailable } from '../store/errors.ts'

export function inProcessSource(
  ctx: AppContext,
  options: { clusterName?: string } = {},
): CredentialSource {
  const deps = podIdentityDepsFromContext(ctx)
  const byIssuer = new Map<string, string>()

  async function clusterFor(token: string): Promise<string> {
    if (options.clusterName !== undefined) return options.clusterName
    const iss = basicClaimCheck(token, ctx.now()).iss
    if (iss === undefined)
      throw new UpstreamError(400, 'InvalidTokenException', 'token has no issuer')
    let name = byIssuer.get(iss)
    if (name === undefined) {
      // Cache miss: re-read the registered clusters (one may have been added since).
      byIssuer.clear()
      const defaults = { accountId: ctx.settings.accountId, region: ctx.settings.region }
      for (const row of await createEksRepo(ctx.db).listClusters()) {
        const c = await resolveCluster(row, defaults, issuerResolver(ctx))
        byIssuer.set(c.issuerUrl, c.name)
      }
      name = byIssuer.get(iss)
    }
    if (name === undefined) {
      throw new UpstreamError(
        400,
        'InvalidTokenException',
        'token was not issued by a registered cluster',
      )
    }
    return name
  }

  return async (token) => {
    try {
      const out = await assumeRoleForPodIdentity(deps, {
        clusterName: await clusterFor(token),
        token,
        requestId: randomUUID(),
        sourceIp: '127.0.0.1',
        userAgent: 'podtrust-agent (in-process)',
      })
      return {
        accessKeyId: out.credentials.accessKeyId,
        secretAccessKey: out.credentials.secretAccessKey,
        sessionToken: out.credentials.sessionToken,
        expiration: new Date(out.credentials.expiration * 1000),
        roleArn: out.assumedRoleUser.arn,
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err
      const e = err as { code?: unknown; status?: unknown; message?: unknown }
      if (typeof e.code === 'string' && typeof e.status === 'number' && e.status < 500) {
        throw new UpstreamError(e.status, e.code, String(e.message))
      }
      // The store (or the issuer) is unavailable for now: the SDK's container provider retries a 503.
      if (isStoreUnavailable(err) || e.status === 503) {
        throw new UpstreamError(
          503,
          'ServiceUnavailableException',
          'EKS Auth is temporarily unavailable',
        )
      }
      ctx.log.error('agent.eks_auth.failed', {
        error: err instanceof Error ? err.message : String(err),
      })
      throw new UpstreamError(500, 'InternalServerException', 'EKS Auth failed')
    }
  }
}

/**
 * The agent of `podtrust up --agent-port PORT`: 127.0.0.1:PORT, EKS Auth in-process.
 * @example const agent = await startInProcessAgent(server.ctx, { port: 2703 })
 */
export async function startInProcessAgent(
  ctx: AppContext,
  options: { port: number; hosts?: string[]; clusterName?: string },
): Promise<RunningAgent> {
  const sourceOptions =
    options.clusterName === undefined ? {} : { clusterName: options.clusterName }
  return startAgent({
    source: inProcessSource(ctx, sourceOptions),
    hosts: options.hosts ?? ['127.0.0.1'],
    port: options.port,
    now: ctx.now,
    log: (event, fields) => ctx.log.warn(event, fields),
  })
}
