/**
 * @module identity/context
 * THE request-context builder: the condition keys of every authorization podtrust makes — STS, IAM, EKS,
 * EKS Auth, and the S3/SQS gateway and database proxy to come. Pure: the caller passes the clock, the
 * authenticated caller, the facts of the HTTP request (`RequestFacts`: source IP, TLS, the credential
 * scope's Region, User-Agent) and what its API adds (request tags, `iam:PassedToService`, service keys).
 * Keys AWS does not set for a request are left out (never filled with empty strings), so `…IfExists` and
 * `Null` behave as in AWS. Key reference:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 *
 * @example
 * buildRequestContext({ now, caller, principalTags, ...facts, requestTags, passedToService: 'pods.eks.amazonaws.com' })
 */
import type { Caller, SessionTag } from './types.ts'

export type RequestContext = Record<string, string | string[]>

/** What every API knows the same way about one HTTP request (the adapter reads them off the connection). */
export interface RequestFacts {
  /** The peer's address (`aws:SourceIp`): the socket's, never a client-supplied header. */
  sourceIp: string
  /** The request came over TLS (`aws:SecureTransport`). */
  secureTransport: boolean
  /** The credential scope's validated Region (`aws:RequestedRegion`); unsigned: the server's region. */
  region: string
  /** The `User-Agent` header (`aws:UserAgent`), '' when absent. */
  userAgent: string
}

export interface RequestContextInput extends Partial<RequestFacts> {
  now: Date
  /** The signed caller (absent for unsigned calls such as AssumeRoleWithWebIdentity). */
  caller?: Caller | undefined
  /** Tags of the principal: role tags overridden by session tags, or the user's tags. */
  principalTags?: readonly SessionTag[]
  /**
   * `iam:PassedToService`: the service principal a role is passed to, for the `iam:PassRole` check an
   * API makes when it is handed a role (EKS: `pods.eks.amazonaws.com`).
   */
  passedToService?: string
  /** Tags the request asks to set (session tags, TagRole …): `aws:RequestTag/*` + `aws:TagKeys`. */
  requestTags?: readonly SessionTag[]
  /** Tag keys a request names without values (UntagRole …): `aws:TagKeys`. */
  tagKeys?: readonly string[]
  /** Web identity keys: `<providerUrl>:sub`, `:aud`, `:amr`, `:oaud`, `:azp`, `aws:FederatedProvider`. */
  webIdentity?: {
    /** Provider URL without `https://`, exactly as registered. */
    providerUrl: string
    providerArn: string
    sub?: string
    aud?: string
    oaud?: string | string[]
    azp?: string
    amr?: string[]
  }
  /** STS request keys. */
  sts?: {
    roleSessionName?: string
    sourceIdentity?: string
    externalId?: string
    transitiveTagKeys?: string[]
  }
  /** Service-specific keys (`eks:…`, `aws:SourceArn`, …) added last. */
  extra?: RequestContext
}

/** `2026-11-23T01:25:30Z` (aws:CurrentTime, aws:TokenIssueTime). */
function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * What one operation adds to the request context of its authorization, beyond the caller, the clock and the
 * request facts: request tags, tag keys, `iam:PassedToService`, service keys (`extra`).
 */
export type OperationContext = Omit<
  RequestContextInput,
  'caller' | 'now' | 'principalTags' | keyof RequestFacts
>

/** `aws:PrincipalType` (IAM User Guide, "AWS global condition context keys", principal key values). */
function principalTypeOf(caller: Caller): string {
  switch (caller.type) {
    case 'AssumedRole':
      return 'AssumedRole'
    case 'Root':
      return 'Account'
    case 'FederatedUser':
      return 'FederatedUser'
    default:
      return 'User'
  }
}

export function buildRequestContext(input: RequestContextInput): RequestContext {
  const ctx: RequestContext = {}
  ctx['aws:CurrentTime'] = iso(input.now)
  ctx['aws:EpochTime'] = String(Math.floor(input.now.getTime() / 1000))
  if (input.secureTransport !== undefined)
    ctx['aws:SecureTransport'] = String(input.secureTransport)
  if (input.region !== undefined) ctx['aws:RequestedRegion'] = input.region
  if (input.sourceIp !== undefined && input.sourceIp !== '') ctx['aws:SourceIp'] = input.sourceIp
  if (input.userAgent !== undefined && input.userAgent !== '')
    ctx['aws:UserAgent'] = input.userAgent

  const caller = input.caller
  if (caller !== undefined) {
    // Present on every signed request: podtrust's callers are never AWS service principals, and no
    // service forwards a caller's request here.
    ctx['aws:PrincipalIsAWSService'] = 'false'
    ctx['aws:ViaAWSService'] = 'false'
    ctx['aws:PrincipalAccount'] = caller.accountId
    ctx['aws:userid'] = caller.userId
    ctx['aws:PrincipalType'] = principalTypeOf(caller)
    if (caller.type === 'FederatedUser') {
      // A federated user session (GetFederationToken): its own ARN, no aws:username (IAM User Guide, "AWS global
      // condition context keys", aws:PrincipalArn / aws:username / aws:userid), temporary-credential keys.
      ctx['aws:PrincipalArn'] = caller.arn
      const issued = caller.federatedUser?.issuedAt ?? caller.tokenIssuedAt
      if (issued !== undefined) ctx['aws:TokenIssueTime'] = iso(issued)
      ctx['aws:MultiFactorAuthPresent'] = 'false'
    } else if (caller.type === 'AssumedRole' && caller.session !== undefined) {
      ctx['aws:PrincipalArn'] = caller.session.roleArn
      ctx['aws:TokenIssueTime'] = iso(caller.session.issuedAt)
      if (caller.session.sourceIdentity !== undefined)
        ctx['aws:SourceIdentity'] = caller.session.sourceIdentity
      ctx['aws:MultiFactorAuthPresent'] = 'false'
      if (caller.session.webIdentity !== undefined)
        ctx['aws:FederatedProvider'] = caller.session.webIdentity.provider
    } else {
      ctx['aws:PrincipalArn'] = caller.arn
      if (caller.userName !== undefined) ctx['aws:username'] = caller.userName
      // Temporary credentials of a user (GetSessionToken): their issue time, and no MFA (podtrust
      // issues none with MFA). Long-term keys carry neither key.
      if (caller.federatedFromUser === true) {
        const issued = caller.tokenIssuedAt ?? caller.session?.issuedAt
        if (issued !== undefined) ctx['aws:TokenIssueTime'] = iso(issued)
        ctx['aws:MultiFactorAuthPresent'] = 'false'
      }
    }
    const tags = input.principalTags ?? caller.session?.tags ?? caller.federatedUser?.tags ?? []
    for (const tag of tags) ctx[`aws:PrincipalTag/${tag.key}`] = tag.value
  }

  const tagKeys: string[] = []
  for (const tag of input.requestTags ?? []) {
    ctx[`aws:RequestTag/${tag.key}`] = tag.value
    tagKeys.push(tag.key)
  }
  for (const key of input.tagKeys ?? []) if (!tagKeys.includes(key)) tagKeys.push(key)
  if (tagKeys.length > 0) ctx['aws:TagKeys'] = tagKeys

  const web = input.webIdentity
  if (web !== undefined) {
    ctx['aws:FederatedProvider'] = web.providerArn
    if (web.sub !== undefined) ctx[`${web.providerUrl}:sub`] = web.sub
    if (web.aud !== undefined) ctx[`${web.providerUrl}:aud`] = web.aud
    if (web.oaud !== undefined) ctx[`${web.providerUrl}:oaud`] = web.oaud
    if (web.azp !== undefined) ctx[`${web.providerUrl}:azp`] = web.azp
    if (web.amr !== undefined) ctx[`${web.providerUrl}:amr`] = web.amr
  }

  const sts = input.sts
  if (sts !== undefined) {
    if (sts.roleSessionName !== undefined) ctx['sts:RoleSessionName'] = sts.roleSessionName
    if (sts.sourceIdentity !== undefined) {
      ctx['sts:SourceIdentity'] = sts.sourceIdentity
    }
    if (sts.externalId !== undefined) ctx['sts:ExternalId'] = sts.externalId
    if (sts.transitiveTagKeys !== undefined && sts.transitiveTagKeys.length > 0)
      ctx['sts:TransitiveTagKeys'] = sts.transitiveTagKeys
  }
  if (input.passedToService !== undefined) ctx['iam:PassedToService'] = input.passedToService
  if (input.extra !== undefined) Object.assign(ctx, input.extra)
  return ctx
}
