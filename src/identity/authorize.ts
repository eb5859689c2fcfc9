/**
 * @module identity/authorize
 * Authorizes a caller's request with the policy engine: gathers the caller's identity policies, permissions
 * boundary, session policies and principal tags (role sessions: the role's policies ∩ the session's policies),
 * builds the request context with the shared builder, and calls `authorize`. Compiled policies come from the
 * one cache (`src/policy/compile-cached.ts`); a stored document that does not compile throws (fail closed).
 * Used by STS (AssumeRole, DecodeAuthorizationMessage), IAM and EKS.
 */
import { authorize, type AuthorizationResult, type CompiledPolicy } from '../policy/index.ts'
import { compileCached } from '../policy/compile-cached.ts'
import { buildRequestContext, type RequestContext, type RequestContextInput } from './context.ts'
import { mergeTags } from './sessions.ts'
import type { Caller, FederatedUserSessionInfo, RoleSessionInfo, SessionTag } from './types.ts'
import type { IdentityPorts, PolicyDocumentRef } from './ports.ts'

/** What gathering a caller's policies reads. */
export type PolicyPorts = Pick<IdentityPorts, 'roles' | 'users' | 'policies'>

const ALLOW_ALL =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

export interface CallerPolicies {
  identityPolicies: CompiledPolicy[]
  permissionBoundaries: CompiledPolicy[]
  sessionPolicies: CompiledPolicy[] | undefined
  principalTags: SessionTag[]
}

/** What the engine needs about the caller. Policies that no longer exist are skipped (as AWS does). */
export async function callerPolicies(ports: PolicyPorts, caller: Caller): Promise<CallerPolicies> {
  if (caller.type === 'Root') {
    return {
      identityPolicies: [
        compileCached(ALLOW_ALL, { id: `arn:aws:iam::${caller.accountId}:root`, type: 'identity' }),
      ],
      permissionBoundaries: [],
      sessionPolicies: undefined,
      principalTags: [],
    }
  }
  if (caller.type === 'AssumedRole' && caller.session !== undefined)
    return roleSessionPolicies(ports, caller, caller.session)
  if (caller.type === 'FederatedUser' && caller.federatedUser !== undefined)
    return federatedUserPolicies(ports, caller, caller.federatedUser)
  // IAM user (long-term keys or GetSessionToken credentials)
  const userName = caller.userName ?? caller.arn.split('/').pop() ?? ''
  const user = await ports.users.getUser(caller.accountId, userName)
  return {
    identityPolicies: identityPoliciesOf(
      await ports.users.getUserPolicyDocuments(caller.accountId, userName),
    ),
    permissionBoundaries: await boundaryOf(ports, user?.permissionsBoundaryArn),
    sessionPolicies: undefined,
    principalTags: user?.tags ?? [],
  }
}

/** The session policies sealed into a session: inline documents, then managed policy ARNs. */
async function sessionPoliciesOf(
  ports: PolicyPorts,
  callerArn: string,
  s: { sessionPolicies: readonly string[]; sessionPolicyArns: readonly string[] },
): Promise<CompiledPolicy[]> {
  const sessionDocs: CompiledPolicy[] = s.sessionPolicies.map((d, i) =>
    compileCached(d, { id: `${callerArn}/session-policy-${i + 1}`, type: 'session' }),
  )
  for (const arn of s.sessionPolicyArns) {
    const doc = await ports.policies.getManagedPolicyDocument(arn)
    // A session policy ARN that no longer exists still narrows: it contributes no Allow.
    sessionDocs.push(
      compileCached(doc ?? '{"Version":"2012-10-17","Statement":[]}', { id: arn, type: 'session' }),
    )
  }
  return sessionDocs
}

/**
 * A federated user session (GetFederationToken): the user's identity policies (its groups' included) and
 * boundary, narrowed by the session policies; without any the session has no permissions, which the engine
 * applies for a `federated-user` principal. Session tags override the user's tags with the same key (STS API
 * reference, GetFederationToken, Tags: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html).
 */
async function federatedUserPolicies(
  ports: PolicyPorts,
  caller: Caller,
  f: FederatedUserSessionInfo,
): Promise<CallerPolicies> {
  const sessionDocs = await sessionPoliciesOf(ports, caller.arn, f)
  const sessionPolicies = sessionDocs.length > 0 ? sessionDocs : undefined
  if (/^arn:[^:]+:iam::\d{12}:root$/.test(f.userArn)) {
    // The root user's federated session: root's permissions ∩ the session policies.
    const root = await callerPolicies(ports, { ...caller, type: 'Root' })
    return { ...root, sessionPolicies, principalTags: f.tags }
  }
  const user = await ports.users.getUser(caller.accountId, f.userName)
  // A user deleted (or replaced under the same name) since the session began keeps no permissions.
  const same = user !== undefined && user.userId === f.userId
  return {
    identityPolicies: same
      ? identityPoliciesOf(await ports.users.getUserPolicyDocuments(caller.accountId, f.userName))
      : [],
    permissionBoundaries: same ? await boundaryOf(ports, user.permissionsBoundaryArn) : [],
    sessionPolicies,
    principalTags: mergeTags(same ? user.tags : [], f.tags),
  }
}

/** A role session: the role's policies and boundary, narrowed by the session's policies. */
async function roleSessionPolicies(
  ports: PolicyPorts,
  caller: Caller,
  s: RoleSessionInfo,
): Promise<CallerPolicies> {
  const role = await ports.roles.getRoleByArn(s.roleArn)
  const docs =
    role === undefined
      ? []
      : await ports.roles.getRolePolicyDocuments(role.accountId, role.roleName)
  const sessionDocs = await sessionPoliciesOf(ports, caller.arn, s)
  return {
    identityPolicies: identityPoliciesOf(docs),
    permissionBoundaries: await boundaryOf(ports, role?.permissionsBoundaryArn),
    sessionPolicies: sessionDocs.length > 0 ? sessionDocs : undefined,
    principalTags: mergeTags(role?.tags ?? [], s.tags),
  }
}

const identityPoliciesOf = (docs: readonly PolicyDocumentRef[]): CompiledPolicy[] =>
  docs.map((d) =>
    compileCached(d.document, { id: d.id, type: d.kind === 'inline' ? 'inline' : 'managed' }),
  )

/** The permissions boundary, when one is set and its policy still exists. */
async function boundaryOf(ports: PolicyPorts, arn: string | undefined): Promise<CompiledPolicy[]> {
  if (arn === undefined) return []
  const doc = await ports.policies.getManagedPolicyDocument(arn)
  return doc === undefined ? [] : [compileCached(doc, { id: arn, type: 'boundary' })]
}

export interface CallerAuthorizationInput {
  action: string
  resource: string
  resourceAccount?: string
  resourcePolicy?: CompiledPolicy
  resourcePolicyIsGate?: boolean
  /** Request facts for the context builder (caller, clock and principal tags are filled in here). */
  context?: Omit<RequestContextInput, 'caller' | 'now' | 'principalTags'>
}

export interface CallerAuthorization {
  result: AuthorizationResult
  context: RequestContext
}

export async function authorizeCaller(
  ctx: PolicyPorts & Pick<IdentityPorts, 'now'>,
  caller: Caller,
  input: CallerAuthorizationInput,
  policies?: CallerPolicies,
): Promise<CallerAuthorization> {
  const p = policies ?? (await callerPolicies(ctx, caller))
  const context = buildRequestContext({
    ...input.context,
    caller,
    now: ctx.now(),
    principalTags: p.principalTags,
  })
  const result = authorize({
    principal: caller.arn,
    ...(caller.federatedUser === undefined ? {} : { sessionIssuer: caller.federatedUser.userArn }),
    action: input.action,
    resource: input.resource,
    ...(input.resourceAccount === undefined ? {} : { resourceAccount: input.resourceAccount }),
    context,
    identityPolicies: p.identityPolicies,
    ...(input.resourcePolicy === undefined ? {} : { resourcePolicy: input.resourcePolicy }),
    ...(input.resourcePolicyIsGate === undefined
      ? {}
      : { resourcePolicyIsGate: input.resourcePolicyIsGate }),
    ...(p.permissionBoundaries.length > 0 ? { permissionBoundaries: p.permissionBoundaries } : {}),
    ...(p.sessionPolicies === undefined ? {} : { sessionPolicies: p.sessionPolicies }),
  })
  return { result, context }
}
