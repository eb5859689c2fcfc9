/**
 * @module identity/context
 * The one builder of the request context (condition keys) every authorization path uses: STS, IAM, EKS,
 * EKS Auth. Pure: the caller passes the clock and what it knows about the request; keys AWS does not set
 * for a request are left out (never filled with empty strings), so `…IfExists` and `Null` behave as in AWS.
 */
import type { Caller, SessionTag } from './types.ts'

export type RequestContext = Record<string, string | string[]>

export interface RequestContextInput {
  now: Date
  /** The signed caller (absent for unsigned calls such as AssumeRoleWithWebIdentity). */
  caller?: Caller | undefined
  /** Tags of the principal: role tags overridden by session tags, or the user's tags. */
  principalTags?: readonly SessionTag[]
  sourceIp?: string
  secureTransport?: boolean
  region?: string
  /** Tags the request asks to set (session tags, TagRole …): `aws:RequestTag/*` + `aws:TagKeys`. */
  requestTags?: readonly SessionTag[]
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

export function buildRequestContext(input: RequestContextInput): RequestContext {
  const ctx: RequestContext = {}
  ctx['aws:CurrentTime'] = iso(input.now)
  ctx['aws:EpochTime'] = String(Math.floor(input.now.getTime() / 1000))
  if (input.secureTransport !== undefined)
    ctx['aws:SecureTransport'] = String(input.secureTransport)
  if (input.region !== undefined) ctx['aws:RequestedRegion'] = input.region
  if (input.sourceIp !== undefined && input.sourceIp !== '') ctx['aws:SourceIp'] = input.sourceIp

  const caller = input.caller
  if (caller !== undefined) {
    ctx['aws:PrincipalAccount'] = caller.accountId
    ctx['aws:userid'] = caller.userId
    ctx['aws:PrincipalType'] =
      caller.type === 'AssumedRole' ? 'AssumedRole' : caller.type === 'Root' ? 'Account' : 'User'
    if (caller.type === 'AssumedRole' && caller.session !== undefined) {
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
      if (caller.federatedFromUser === true && caller.session !== undefined)
        ctx['aws:TokenIssueTime'] = iso(caller.session.issuedAt)
    }
    const tags = input.principalTags ?? caller.session?.tags ?? []
    for (const tag of tags) ctx[`aws:PrincipalTag/${tag.key}`] = tag.value
  }

  if (input.requestTags !== undefined && input.requestTags.length > 0) {
    for (const tag of input.requestTags) ctx[`aws:RequestTag/${tag.key}`] = tag.value
    ctx['aws:TagKeys'] = input.requestTags.map((t) => t.key)
  }

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
  if (input.extra !== undefined) Object.assign(ctx, input.extra)
  return ctx
}
