/**
 * @module policy/types
 * Public types of the policy engine (the cross-module contract in docs/architecture.md).
 */

export type PolicyType =
  | 'identity'
  | 'managed'
  | 'inline'
  | 'resource'
  | 'trust'
  | 'boundary'
  | 'session'
  | 'scp'
  | 'rcp'
  | 'vpce'

export const policyTypes: readonly PolicyType[] = [
  'identity',
  'managed',
  'inline',
  'resource',
  'trust',
  'boundary',
  'session',
  'scp',
  'rcp',
  'vpce',
]

export type Severity = 'ERROR' | 'SECURITY_WARNING' | 'WARNING' | 'SUGGESTION'

export interface Finding {
  severity: Severity
  code: string
  message: string
  path?: string
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'

/** A statement of a compiled policy, named for explanations. */
export interface StatementRef {
  policyId: string
  policyType: PolicyType
  sid?: string
  index: number
  effect: 'Allow' | 'Deny'
}

/** Why a statement did not apply: the first element (in evaluation order) that failed. */
export const mismatchElements = {
  Action: 'the action is not listed in Action',
  NotAction: 'the action is listed in NotAction',
  Resource: 'the resource is not listed in Resource',
  NotResource: 'the resource is listed in NotResource',
  Principal: 'the principal is not listed in Principal',
  NotPrincipal: 'the principal is listed in NotPrincipal',
  Condition: 'a condition is not met',
} as const
export type MismatchElement = keyof typeof mismatchElements

export interface StatementMismatch extends StatementRef {
  element: MismatchElement
  /** For conditions: the operator and key that failed, e.g. `StringEquals oidc.example/id/X:sub`. */
  detail?: string
}

/** The guardrail and policy categories reported in `blockedBy` (the corpus' vocabulary). */
export const blockers = {
  identity: 'an identity-based policy',
  resource: 'the resource-based policy',
  pb: 'a permissions boundary',
  scp: 'a service control policy',
  rcp: 'a resource control policy',
  vpce: 'a VPC endpoint policy',
} as const
export type Blocker = keyof typeof blockers

export interface OrgLevel<P> {
  orgIdentifier: string
  policies: P[]
}

/**
 * One authorization over policies of type `P`; the engine's own is `AuthorizationRequest`
 * (`P` = `CompiledPolicy`, in authorize.ts: this file stays below compile.ts, so no import cycle).
 */
export interface AuthorizationRequestOf<P> {
  /** ARN, account id, service principal ('pods.eks.amazonaws.com'), federated provider ARN, or 'anonymous'. */
  principal: string
  /**
   * For a federated user session (`arn:aws:sts::A:federated-user/N`, from GetFederationToken): the ARN of the IAM
   * user who federated. A resource policy naming that user grants to the session only within its session policies
   * and permissions boundary; one naming the session ARN grants directly.
   */
  sessionIssuer?: string
  action: string
  resource: string
  /** The resource's account; absent: the principal's account. */
  resourceAccount?: string
  /** Condition keys (case-insensitive); the caller fills aws:CurrentTime etc. */
  context: Record<string, string | string[]>
  identityPolicies: P[]
  resourcePolicy?: P
  /** Role trust policies and KMS key policies: the resource policy must allow by itself. */
  resourcePolicyIsGate?: boolean
  permissionBoundaries?: P[]
  sessionPolicies?: P[]
  serviceControlPolicies?: OrgLevel<P>[]
  /** Each level gets RCPFullAWSAccess first, as in AWS. */
  resourceControlPolicies?: OrgLevel<P>[]
  /**
   * The organization's management account. SCPs never restrict its principals, RCPs never its resources
   * (Organizations User Guide, "Service control policies" and "Resource control policies"), so levels given for it
   * are ignored.
   */
  managementAccount?: string
  /**
   * The policy of the VPC endpoint the request came through (absent: not through an endpoint). A gate like an
   * SCP: it must allow and never grants by itself ("Control access to VPC endpoints using endpoint policies").
   */
  endpointPolicies?: P[]
}

/**
 * A question for the simulator (`simulate`), never a run-time request: the resource may be a pattern (`*`,
 * `arn:aws:s3:::bucket/*`), asking whether the principal can act on some resource it names.
 */
export interface SimulationRequestOf<P> extends AuthorizationRequestOf<P> {
  /**
   * The action has no resource-level permissions (Service Authorization Reference: resource type `*`): a request
   * resource `*` is then the literal resource AWS evaluates, not a pattern.
   */
  wildcardOnlyAction?: boolean
}

export interface AuthorizationResult {
  decision: Decision
  blockedBy: Blocker[]
  /** Statements that applied to the request (Allow and Deny). */
  matched: StatementRef[]
  /** Statements that did not apply, with the element that failed. Computed on first access. */
  unmatched: StatementMismatch[]
  errors: string[]
}
