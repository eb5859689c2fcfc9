/**
 * @module gateway/identity
 * The gateway's one seam to podtrust's identity domain: resolves the secret behind a SigV4 access key
 * (the shared `resolveCredentials` of aws/sigv4/authenticate.ts, behind a short cache), authorizes a caller's
 * request with the shared request-context builder and the policy engine (identity ∩ session ∩ boundary, plus
 * the resource policy), and explains denials for the audit log.
 *
 * Resolved credentials and caller policies are cached per access key for `POLICY_CACHE_MS` so the data path does not query the store
 * on every call; policy changes reach the gateway within that time (AWS IAM is eventually consistent too:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
 */
import type { AppContext } from '../app/context.ts'
import {
  resolveCredentials,
  type CredentialProblem,
  type ResolvedCredentials,
} from '../aws/sigv4/authenticate.ts'
import { authorizeCaller, callerPolicies, type CallerPolicies } from '../identity/authorize.ts'
import { compileCached } from '../policy/compile-cached.ts'
import {
  buildRequestContext,
  type RequestContext,
  type RequestContextInput,
} from '../identity/context.ts'
import { explain, type DecodedAuthorizationMessage } from '../identity/authz-message.ts'
import type { Caller } from '../identity/types.ts'
import {
  authorize,
  ANONYMOUS,
  type AuthorizationResult,
  type CompiledPolicy,
} from '../policy/index.ts'

export type { Caller } from '../identity/types.ts'
export type { RequestContext } from '../identity/context.ts'
export type { CredentialProblem, ResolvedCredentials } from '../aws/sigv4/authenticate.ts'

const POLICY_CACHE_MS = 1000
const POLICY_CACHE_LIMIT = 10_000

export interface GatewayAuthorizer {
  resolve(
    accessKeyId: string,
    securityToken: string | undefined,
  ): Promise<ResolvedCredentials | CredentialProblem>
  policiesOf(caller: Caller): Promise<CallerPolicies>
  /** Whether any of these policies (or the resource policy) uses a condition key containing `needle`. */
  mentions(
    policies: CallerPolicies,
    resourcePolicy: CompiledPolicy | undefined,
    needle: string,
  ): boolean
  compileResourcePolicy(document: string, id: string): CompiledPolicy
  check(
    caller: Caller | undefined,
    input: {
      action: string
      resource: string
      resourceAccount: string
      resourcePolicy: CompiledPolicy | undefined
      context: Omit<RequestContextInput, 'caller' | 'now' | 'principalTags'>
    },
    policies: CallerPolicies | undefined,
  ): Promise<{ result: AuthorizationResult; context: RequestContext }>
  explain(
    caller: Caller | undefined,
    result: AuthorizationResult,
    action: string,
    resource: string,
    context: RequestContext,
  ): DecodedAuthorizationMessage
}

export function createGatewayAuthorizer(ctx: AppContext): GatewayAuthorizer {
  const cache = new Map<string, { at: number; policies: Promise<CallerPolicies> }>()
  const mentionCache = new WeakMap<CompiledPolicy, string>()
  const callerMentions = new WeakMap<CallerPolicies, Map<string, boolean>>()
  const textOf = (p: CompiledPolicy): string => {
    let t = mentionCache.get(p)
    if (t === undefined) {
      t = JSON.stringify(p.model).toLowerCase()
      mentionCache.set(p, t)
    }
    return t
  }
  // Resolved credentials are kept as long as caller policies (same TTL): a deactivated key or a new keyring
  // reaches the gateway within POLICY_CACHE_MS. Only successes are cached.
  const credentials = new Map<string, { at: number; value: ResolvedCredentials }>()
  return {
    async resolve(accessKeyId, securityToken) {
      const key = securityToken === undefined ? accessKeyId : `${accessKeyId}\u0000${securityToken}`
      const now = Date.now()
      const hit = credentials.get(key)
      if (hit !== undefined && now - hit.at < POLICY_CACHE_MS) return hit.value
      const value = await resolveCredentials(ctx, accessKeyId, securityToken)
      if (typeof value !== 'string') {
        if (credentials.size >= POLICY_CACHE_LIMIT) credentials.clear()
        credentials.set(key, { at: now, value })
      }
      return value
    },
    policiesOf(caller) {
      const key = `${caller.accessKeyId}\u0000${caller.arn}`
      const now = Date.now()
      const hit = cache.get(key)
      if (hit !== undefined && now - hit.at < POLICY_CACHE_MS) return hit.policies
      const policies = callerPolicies(ctx, caller)
      if (cache.size >= POLICY_CACHE_LIMIT) cache.clear()
      cache.set(key, { at: now, policies })
      policies.catch(() => cache.delete(key))
      return policies
    },
    mentions(policies, resourcePolicy, needle) {
      const n = needle.toLowerCase()
      if (resourcePolicy !== undefined && textOf(resourcePolicy).includes(n)) return true
      // The caller's policies are one cached object for the cache's lifetime: answered once per needle.
      let answers = callerMentions.get(policies)
      if (answers === undefined) {
        answers = new Map()
        callerMentions.set(policies, answers)
      }
      let found = answers.get(n)
      if (found === undefined) {
        found = [
          ...policies.identityPolicies,
          ...policies.permissionBoundaries,
          ...(policies.sessionPolicies ?? []),
        ].some((p) => textOf(p).includes(n))
        answers.set(n, found)
      }
      return found
    },
    compileResourcePolicy(document, id) {
      return compileCached(document, { id, type: 'resource' })
    },
    async check(caller, input, policies) {
      if (caller === undefined) {
        // Anonymous requests: only the resource policy can grant (IAM User Guide, "Policy evaluation logic").
        const context = buildRequestContext({ ...input.context, now: ctx.now() })
        const result = authorize({
          principal: ANONYMOUS,
          action: input.action,
          resource: input.resource,
          resourceAccount: input.resourceAccount,
          context,
          identityPolicies: [],
          ...(input.resourcePolicy === undefined ? {} : { resourcePolicy: input.resourcePolicy }),
        })
        return { result, context }
      }
      return authorizeCaller(
        ctx,
        caller,
        {
          action: input.action,
          resource: input.resource,
          resourceAccount: input.resourceAccount,
          ...(input.resourcePolicy === undefined ? {} : { resourcePolicy: input.resourcePolicy }),
          context: input.context,
        },
        policies,
      )
    },
    explain(caller, result, action, resource, context) {
      return explain(result, {
        principalId: caller?.userId ?? ANONYMOUS,
        principalArn: caller?.arn ?? ANONYMOUS,
        action,
        resource,
        context,
      })
    },
  }
}

export { userIdentityOf } from '../aws/query/dispatch.ts'
