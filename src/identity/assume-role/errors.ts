/**
 * @module identity/assume-role/errors
 * The typed failures of the assume-role pipeline. Each protocol adapter maps them to its wire errors (STS:
 * `src/aws/sts/errors.ts`; EKS Auth: `src/aws/eks-auth/assume.ts`). Messages are the ones STS documents and
 * returns, so an adapter that speaks STS passes them through unchanged.
 */
import { PodtrustError } from '../../errors.ts'
import type { AuthorizationResult } from '../../policy/index.ts'
import type { RequestContext } from '../context.ts'

export type AssumeRoleErrorCode =
  /** `RoleArn` is not a role ARN. */
  | 'INVALID_ROLE_ARN'
  /** `SourceIdentity` starts with `aws:`. */
  | 'INVALID_SOURCE_IDENTITY'
  /** Role chaining asked for more than one hour. */
  | 'CHAINED_DURATION_EXCEEDED'
  /** `DurationSeconds` above the role's `MaxSessionDuration`. */
  | 'ROLE_DURATION_EXCEEDED'
  /** Two session tags differ only in case. */
  | 'DUPLICATE_TAG_KEYS'
  /** A transitive tag key names no requested tag. */
  | 'TRANSITIVE_KEY_NOT_IN_TAGS'
  /** A requested tag would overwrite a transitive tag of the calling session. */
  | 'TRANSITIVE_KEY_CONFLICT'
  /** The calling session has a source identity and the request names another. */
  | 'SOURCE_IDENTITY_CHANGED'
  /** The trust policy (with the caller's own policies, for a signed caller) does not allow an action. */
  | 'TRUST_DENIED'
  /** The inline session policy is not valid JSON or fails IAM's checks. */
  | 'MALFORMED_SESSION_POLICY'
  /** Session policies and tags together exceed the packed budget. */
  | 'PACKED_POLICY_TOO_LARGE'
  /** A `PolicyArns` entry names no managed policy. */
  | 'POLICY_ARN_NOT_FOUND'
  /** GetFederationToken called with temporary (session) credentials. */
  | 'SESSION_CREDENTIALS'
  /** The caller's own policies do not allow `sts:GetFederationToken` (or `sts:TagSession`). */
  | 'FEDERATION_DENIED'

/** What a trust denial carries, for the adapter's message, audit and encoded authorization message. */
export interface TrustDenial {
  principal: string
  action: string
  resource: string
  /** Absent when the step denied before evaluating (no role, or a trust policy that does not compile). */
  result?: AuthorizationResult
  context?: RequestContext
}

export class AssumeRoleError extends PodtrustError<AssumeRoleErrorCode> {
  readonly denial: TrustDenial | undefined

  constructor(
    code: AssumeRoleErrorCode,
    message: string,
    options: { denial?: TrustDenial; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.denial = options.denial
  }
}
