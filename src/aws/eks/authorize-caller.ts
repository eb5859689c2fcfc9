/**
 * @module aws/eks/authorize-caller
 * IAM authorization of a signed EKS / EKS Auth caller, through the one authorizer (`identity/authorize.ts`:
 * the caller's identity policies, permissions boundary and session policies) with the one request-context
 * builder (`identity/context.ts`). The caller passes the request's facts (source IP, TLS, the credential
 * scope's Region, User-Agent) and what the operation adds (request tags, `iam:PassedToService`), so Deny
 * statements on any global condition key match here exactly as on STS and IAM. Root is allowed, as in AWS.
 */
import { authorizeCaller as authorize, type PolicyPorts } from '../../identity/authorize.ts'
import type { IdentityPorts } from '../../identity/ports.ts'
import type { RequestContextInput } from '../../identity/context.ts'
import type { Caller } from '../../identity/types.ts'

/** What the operation knows about the request (everything but the caller, clock and principal tags). */
export type EksRequestContext = Omit<RequestContextInput, 'caller' | 'now' | 'principalTags'>

export async function authorizeCaller(
  ports: PolicyPorts & Pick<IdentityPorts, 'now'>,
  caller: Caller,
  action: string,
  resource: string,
  context: EksRequestContext = {},
): Promise<boolean> {
  if (caller.type === 'Root') return true
  const { result } = await authorize(ports, caller, { action, resource, context })
  return result.decision === 'Allowed'
}
