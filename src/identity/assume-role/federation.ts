/**
 * @module identity/assume-role/federation
 * STS `GetFederationToken` on the assume-role pipeline's steps (STS API reference:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html; IAM User Guide, "Permissions
 * for GetFederationToken": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html):
 *
 * 1. `checkFederationParameters` — Name 2–32 `[\w+=,.@-]*`, Policy 1–2048, PolicyArns ≤ 10, DurationSeconds
 *    900–129600 (default 43200), Tags ≤ 50, all reported together.
 * 2. `requireLongTermCredentials` — only an IAM user's (or the root user's) long-term keys may federate.
 * 3. `resolveSessionTags` — duplicate keys (no transitive keys: the API has none, and the session cannot chain).
 * 4. `authorizeFederation` — the caller's own policies must allow `sts:GetFederationToken` on the federated-user
 *    ARN, and `sts:TagSession` when the request passes tags (IAM User Guide, "Passing session tags in AWS STS").
 * 5. `limitSessionPolicies` — session policy JSON, packed size, policy ARNs.
 * 6. `createFederatedUserSession` — the sealed session token; the root user's session lasts at most one hour.
 */
import { createFederatedUserSession, federatedUserArn } from '../sessions.ts'
import type { FederatedUserSessionResult } from '../sessions.ts'
import type { RequestContext } from '../context.ts'
import type { Caller, SessionTag } from '../types.ts'
import type { AuthorizationResult } from '../../policy/index.ts'
import { AssumeRoleError } from './errors.ts'
import {
  checkPolicyArnMembers,
  checkPolicyMember,
  checkTagMembers,
  SESSION_NAME_PATTERN,
  type ConstraintProblems,
} from './parameters.ts'
import type { AssumeRolePorts } from './pipeline.ts'
import { limitSessionPolicies } from './session-policy.ts'
import { resolveSessionTags } from './tags.ts'

/** "The default session duration is 43,200 seconds (12 hours)." */
export const FEDERATION_DEFAULT_DURATION_SECONDS = 43200
export const FEDERATION_MAX_DURATION_SECONDS = 129600
/** "Temporary credentials obtained by using the root user credentials have a maximum duration of 3,600 seconds." */
export const FEDERATION_ROOT_MAX_DURATION_SECONDS = 3600

export interface FederationParameters {
  name?: string | undefined
  durationSeconds?: string | undefined
  policy?: string | undefined
  policyArns?: string[] | undefined
  tags?: SessionTag[] | undefined
}

export interface CheckedFederationParameters {
  name: string
  durationSeconds?: number
  policy?: string
  policyArns: string[]
  tags: SessionTag[]
}

/** Step 1: the request members' constraints (botocore's sts model, GetFederationTokenRequest), in member order. */
export function checkFederationParameters(
  problems: ConstraintProblems,
  p: FederationParameters,
): CheckedFederationParameters {
  problems.required(p.name, 'name')
  problems.length(p.name, 'name', 2, 32)
  problems.pattern(p.name, 'name', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
  checkPolicyMember(problems, p.policy, 2048)
  const policyArns = p.policyArns ?? []
  checkPolicyArnMembers(problems, policyArns)
  const durationSeconds = problems.integer(
    p.durationSeconds,
    'durationSeconds',
    900,
    FEDERATION_MAX_DURATION_SECONDS,
  )
  const tags = p.tags ?? []
  checkTagMembers(problems, tags)
  problems.throwIfAny()
  return {
    name: p.name as string,
    policyArns,
    tags,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(p.policy === undefined ? {} : { policy: p.policy }),
  }
}

/**
 * Step 2: "You must call the GetFederationToken operation using the long-term security credentials of an IAM
 * user" — role sessions, GetSessionToken credentials and federated sessions are refused as AWS refuses them.
 */
export function requireLongTermCredentials(caller: Caller): void {
  const temporary =
    caller.type === 'AssumedRole' ||
    caller.type === 'FederatedUser' ||
    caller.federatedFromUser === true
  if (temporary)
    throw new AssumeRoleError(
      'SESSION_CREDENTIALS',
      'Cannot call GetFederationToken with session credentials',
    )
}

/** The session length: the request's (or the default), at most one hour for the root user. */
export function federationDuration(caller: Caller, requested: number | undefined): number {
  const seconds = requested ?? FEDERATION_DEFAULT_DURATION_SECONDS
  return caller.type === 'Root' ? Math.min(seconds, FEDERATION_ROOT_MAX_DURATION_SECONDS) : seconds
}

/** The caller's own authorization of one action (its identity policies, boundary; the request context). */
export type AuthorizeCallerAction = (
  action: string,
  resource: string,
) => Promise<{ result: AuthorizationResult; context: RequestContext }>

/** Step 4: `sts:GetFederationToken` on the federated-user ARN, then `sts:TagSession` when tagging. */
export async function authorizeFederation(
  authorizeAction: AuthorizeCallerAction,
  input: { principal: string; resource: string; tagging: boolean },
): Promise<void> {
  const actions = ['sts:GetFederationToken', ...(input.tagging ? ['sts:TagSession'] : [])]
  for (const action of actions) {
    const { result, context } = await authorizeAction(action, input.resource)
    if (result.decision !== 'Allowed')
      throw new AssumeRoleError(
        'FEDERATION_DENIED',
        `User: ${input.principal} is not authorized to perform: ${action} on resource: ${input.resource}`,
        {
          denial: {
            principal: input.principal,
            action,
            resource: input.resource,
            result,
            context,
          },
        },
      )
  }
}

export interface FederateInput {
  caller: Caller
  params: CheckedFederationParameters
  authorizeAction: AuthorizeCallerAction
}

export interface Federated {
  created: FederatedUserSessionResult
  /** Percentage of the packed budget used (0 when nothing was packed). */
  packedPolicySize: number
}

/** Steps 2–6 for a checked request. */
export async function federate(ports: AssumeRolePorts, input: FederateInput): Promise<Federated> {
  const { caller, params } = input
  requireLongTermCredentials(caller)
  const tags = resolveSessionTags({ tags: params.tags, transitiveTagKeys: [] })
  const resource = federatedUserArn(caller.arn, caller.accountId, params.name)
  await authorizeFederation(input.authorizeAction, {
    principal: caller.arn,
    resource,
    tagging: tags.tags.length > 0,
  })
  const packedPolicySize = await limitSessionPolicies(ports.policies, {
    policy: params.policy,
    policyArns: params.policyArns,
    tags: tags.tags,
  })
  const created = await createFederatedUserSession(ports, {
    accountId: caller.accountId,
    userArn: caller.arn,
    userId: caller.userId,
    userName: caller.userName ?? '',
    name: params.name,
    durationSeconds: federationDuration(caller, params.durationSeconds),
    tags: tags.tags,
    sessionPolicy: params.policy,
    sessionPolicyArns: params.policyArns,
  })
  return { created, packedPolicySize }
}
