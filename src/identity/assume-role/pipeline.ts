/**
 * @module identity/assume-role/pipeline
 * The assume-role family (AssumeRole, AssumeRoleWithWebIdentity, EKS Auth's AssumeRoleForPodIdentity; and
 * GetFederationToken in `federation.ts`, from steps 1, 5 and 9–10) as one pipeline of named steps. Each entry
 * point composes the steps it needs, in this order (STS API reference: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html):
 *
 * 1. `checkParameters` — member constraints, all reported together; SourceIdentity's `aws:` prefix.
 * 2. `parseRoleArn` — the role ARN's shape.
 * 3. (entry point) who is asking: a signed caller, a verified web identity token, a pod's token.
 * 4. `limitChainedDuration` — a role session assuming a role gets at most one hour.
 * 5. `resolveSessionTags` — duplicates, transitive keys, tags inherited through chaining, conflicts.
 * 6. `carrySourceIdentity` — once set, never changed down the chain.
 * 7. `authorizeTrust` — the policy engine over the trust policy (+ the caller's own policies).
 * 8. `limitToRoleMaxDuration` — the role's MaxSessionDuration.
 * 9. `limitSessionPolicies` — session policy JSON, packed size (PackedPolicyTooLarge), policy ARNs.
 * 10. `issueRoleSession` — the sealed session token (keyring port), clock and randomness injected.
 * 11. audit and response — the entry point records the outcome (`AssumeRoleAudit`) and renders its wire shape.
 *
 * `authorizeAndIssue` is steps 7–10, the tail every role-assuming entry point shares. Failures are
 * `AssumeRoleError`s; adapters map them to their wire errors.
 */
import type { IdentityPorts, IdentityRole } from '../ports.ts'
import type { RequestContext } from '../context.ts'
import { createRoleSession, type RoleSessionResult } from '../sessions.ts'
import type { SessionTag } from '../types.ts'
import { AssumeRoleError, type TrustDenial } from './errors.ts'
import { limitToRoleMaxDuration } from './duration.ts'
import { limitSessionPolicies } from './session-policy.ts'
import {
  authorizeTrust,
  compileTrustPolicy,
  trustActions,
  type PrincipalPolicies,
} from './trust.ts'

/** What the pipeline reads and draws: role and policy lookups, the keyring, the clock, randomness. */
export type AssumeRolePorts = Pick<
  IdentityPorts,
  'roles' | 'policies' | 'keyring' | 'now' | 'randomBytes'
>

/** The session to mint once the role is trusted. */
export interface SessionRequest {
  sessionName: string
  durationSeconds: number
  /** Tags the request sets (they count against the packed budget). */
  tags: SessionTag[]
  transitiveTagKeys: string[]
  /** Transitive tags of the calling session (role chaining). */
  inheritedTransitiveTags: SessionTag[]
  sourceIdentity?: string | undefined
  policy?: string | undefined
  policyArns: string[]
  chained: boolean
  webIdentity?: { provider: string; subject: string; audience: string }
}

/** Audit hooks: the entry point decides which facts its audit event records. */
export interface AssumeRoleAudit {
  denied?(denial: TrustDenial): void
  issued?(session: IssuedSession): void
}

export interface AuthorizeAndIssueInput {
  principal: string
  principalPolicies?: PrincipalPolicies
  /** The role as requested (the authorization resource) and its account. */
  resource: string
  resourceAccount: string
  /** Undefined when no such role exists: the trust step then denies. */
  role: IdentityRole | undefined
  /** `sts:AssumeRole` or `sts:AssumeRoleWithWebIdentity`. */
  action: string
  /** True when the request itself names a source identity (an inherited one needs no permission). */
  setsSourceIdentity: boolean
  context: RequestContext
  session: SessionRequest
  audit?: AssumeRoleAudit
}

export interface IssuedSession {
  created: RoleSessionResult
  role: IdentityRole
  /** Percentage of the packed budget used; 0 when nothing was packed. */
  packedPolicySize: number
}

/** Steps 7–10: trust authorization, role duration, session-policy limits, session creation. */
export async function authorizeAndIssue(
  ports: AssumeRolePorts,
  input: AuthorizeAndIssueInput,
): Promise<IssuedSession> {
  const { role, session } = input
  const actions = trustActions(input.action, {
    tagging: session.inheritedTransitiveTags.length + session.tags.length > 0,
    setsSourceIdentity: input.setsSourceIdentity,
  })
  try {
    authorizeTrust(
      {
        principal: input.principal,
        resource: input.resource,
        resourceAccount: input.resourceAccount,
        trust: role === undefined ? undefined : compileTrustPolicy(role),
        context: input.context,
        ...(input.principalPolicies === undefined ? {} : { policies: input.principalPolicies }),
      },
      actions,
    )
  } catch (err) {
    if (err instanceof AssumeRoleError && err.denial !== undefined)
      input.audit?.denied?.(err.denial)
    throw err
  }
  const trusted = role as IdentityRole
  limitToRoleMaxDuration(session.durationSeconds, trusted)
  const packedPolicySize = await limitSessionPolicies(ports.policies, {
    policy: session.policy,
    policyArns: session.policyArns,
    tags: session.tags,
  })
  const issued: IssuedSession = {
    created: await issueRoleSession(ports, trusted, session),
    role: trusted,
    packedPolicySize,
  }
  input.audit?.issued?.(issued)
  const region = input.context['aws:RequestedRegion']
  ports.roles.noteRoleUse?.(trusted.arn, ports.now(), typeof region === 'string' ? region : '')
  return issued
}

/** Step 10: mints the credentials and the sealed session token. */
export function issueRoleSession(
  ports: Pick<IdentityPorts, 'keyring' | 'now' | 'randomBytes'>,
  role: IdentityRole,
  session: SessionRequest,
): Promise<RoleSessionResult> {
  return createRoleSession(ports, {
    role,
    sessionName: session.sessionName,
    durationSeconds: session.durationSeconds,
    tags: session.tags,
    transitiveTagKeys: session.transitiveTagKeys,
    inheritedTransitiveTags: session.inheritedTransitiveTags,
    chained: session.chained,
    ...(session.sourceIdentity === undefined ? {} : { sourceIdentity: session.sourceIdentity }),
    ...(session.policy === undefined ? {} : { sessionPolicy: session.policy }),
    ...(session.policyArns.length === 0 ? {} : { sessionPolicyArns: session.policyArns }),
    ...(session.webIdentity === undefined ? {} : { webIdentity: session.webIdentity }),
  })
}
