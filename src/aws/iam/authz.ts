/**
 * @module aws/iam/authz
 * Authorizes a signed IAM call with the policy engine through the shared caller authorization
 * (`identity/authorize.ts`: a user's inline + attached policies, a role session's role policies ∩ session
 * policies, permissions boundaries, the one request-context builder). Denials are `AccessDenied` with AWS's
 * message: "User: ARN is not authorized to perform: ACTION on resource: RES because no identity-based
 * policy allows the ACTION action" (or "with an explicit deny in an identity-based policy").
 */
import { authorizeCaller } from '../../identity/authorize.ts'
import type { OperationContext, RequestFacts } from '../../identity/context.ts'
import type { Caller } from '../../identity/types.ts'
import type { AppContext } from '../../app/context.ts'
import { AwsError } from '../errors.ts'

export interface IamAuthzInput {
  caller: Caller | undefined
  action: string
  resource: string
  /** The request's facts (source IP, TLS, the scope Region, User-Agent). */
  facts: RequestFacts
  /** What the action adds: request tags, tag keys, service keys (`iam:PermissionsBoundary`, …). */
  context?: OperationContext
}

const REASONS: Record<string, string> = {
  identity: 'identity-based policy',
  pb: 'permissions boundary',
  session: 'session policy',
  scp: 'service control policy',
  resource: 'resource-based policy',
  rcp: 'resource control policy',
}

/** AWS's denial wording for `decision`, naming the first guardrail that blocked. */
export function accessDeniedMessage(
  callerArn: string,
  action: string,
  resource: string,
  decision: 'ExplicitlyDenied' | 'ImplicitlyDenied',
  blockedBy: readonly string[],
): string {
  const what = REASONS[blockedBy[0] ?? 'identity'] ?? REASONS['identity']!
  const article = /^[aeiou]/.test(what) ? 'an' : 'a'
  const reason =
    decision === 'ExplicitlyDenied'
      ? `with an explicit deny in ${article} ${what}`
      : `because no ${what} allows the ${action} action`
  return `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} ${reason}`
}

/** Throws AccessDenied unless the engine allows `action` on `resource` for the caller. */
export async function authorizeIam(ctx: AppContext, input: IamAuthzInput): Promise<void> {
  const caller = input.caller
  if (caller === undefined) {
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token')
  }
  const { result } = await authorizeCaller(ctx, caller, {
    action: input.action,
    resource: input.resource,
    resourceAccount: caller.accountId,
    context: { ...input.facts, ...input.context },
  })
  if (result.decision === 'Allowed') return
  throw new AwsError(
    'AccessDenied',
    accessDeniedMessage(
      caller.arn,
      input.action,
      input.resource,
      result.decision,
      result.blockedBy,
    ),
  )
}
