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

/** The authenticated caller of a signed request. */
export interface Caller {
  arn: string
  accountId: string
  /** `AIDA…` for users, `AROA…:session` for role sessions, the account id for root. */
  userId: string
  accessKeyId: string
  type: 'IAMUser' | 'AssumedRole' | 'Root'
  /** IAM user name (IAMUser) */
  userName?: string
  /** For GetSessionToken credentials: the user they were minted for. */
  federatedFromUser?: boolean
  /** For GetSessionToken credentials: when they were issued (`aws:TokenIssueTime`). */
  tokenIssuedAt?: Date
  session?: RoleSessionInfo
}
