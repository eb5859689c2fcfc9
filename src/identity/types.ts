/**
 * @module identity/types
 * Who signed a request: the identity every authorization path (STS, IAM, EKS, EKS Auth) starts from.
 */

export interface SessionTag {
  key: string
  value: string
}

/** The role session behind temporary credentials (sealed into the session token). */
export interface RoleSessionInfo {
  roleArn: string
  roleName: string
  roleId: string
  /** Role path as IAM stores it (`/` default). */
  rolePath: string
  sessionName: string
  issuedAt: Date
  expiration: Date
  tags: SessionTag[]
  /** Keys (as given) of the session tags that pass to chained sessions. */
  transitiveTagKeys: string[]
  /** Inline session policy documents (plaintext) and managed session policy ARNs. */
  sessionPolicies: string[]
  sessionPolicyArns: string[]
  sourceIdentity?: string
  /** Set when the session came from AssumeRoleWithWebIdentity. */
  webIdentity?: { provider: string; subject: string; audience: string }
  /** True when this session was itself created by a role session (role chaining). */
  chained: boolean
}

/**
 * A federated user session (STS GetFederationToken, sealed into the session token): the IAM user who federated,
 * the name the caller chose, and the session's tags and policies. IAM User Guide, "Permissions for
 * GetFederationToken": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html
 */
export interface FederatedUserSessionInfo {
  /** The `Name` of the request (2–32 characters): the last segment of the federated-user ARN. */
  name: string
  userArn: string
  /** `AIDA…` of the user who federated. */
  userId: string
  userName: string
  issuedAt: Date
  expiration: Date
  /** Session tags (never transitive: GetFederationToken sessions cannot assume roles). */
  tags: SessionTag[]
  /** Inline session policy documents (plaintext) and managed session policy ARNs. */
  sessionPolicies: string[]
  sessionPolicyArns: string[]
}

/** The authenticated caller of a signed request. */
export interface Caller {
  arn: string
  accountId: string
  /** `AIDA…` for users, `AROA…:session` for role sessions, `ACCOUNT:name` for federated users, the account id for root. */
  userId: string
  accessKeyId: string
  type: 'IAMUser' | 'AssumedRole' | 'Root' | 'FederatedUser'
  /** IAM user name (IAMUser) */
  userName?: string
  /** For GetSessionToken credentials: the user they were minted for. */
  federatedFromUser?: boolean
  /** For GetSessionToken credentials: when they were issued (`aws:TokenIssueTime`). */
  tokenIssuedAt?: Date
  session?: RoleSessionInfo
  /** For `FederatedUser` callers: the federated user session. */
  federatedUser?: FederatedUserSessionInfo
}
