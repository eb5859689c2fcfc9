/**
 * @module aws/sts/web-identity
 * AssumeRoleWithWebIdentity (STS API reference:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html): the JWT is the
 * credential. The assume-role pipeline (`src/identity/assume-role/`) composed for a web identity: parameters →
 * role ARN → token shape → issuer registered as an IAM OIDC provider in the role's account (exact URL) →
 * signature with pinned algorithms via the platform verifier (podtrust's own issuers in-process) → aud in the
 * provider's client ids → exp with AWS's 5-minute grace → session tags and source identity from the token's
 * claims → trust authorization (+ sts:TagSession / sts:SetSourceIdentity) → DurationSeconds vs
 * MaxSessionDuration → session-policy limits → session → audit → response.
 */
import type { AppContext } from '../../app/context.ts'
import { AwsError } from '../errors.ts'
import { decodeCompactJws, type DecodedJws } from '../../tokens/decode.ts'
import { TokenError } from '../../tokens/errors.ts'
import { buildRequestContext, type RequestContext } from '../../identity/context.ts'
import {
  authorizeAndIssue,
  checkParameters,
  checkSourceIdentityMember,
  checkSourceIdentityPrefix,
  checkTagMembers,
  DEFAULT_DURATION_SECONDS,
  parseRoleArn,
  resolveSessionTags,
  WEB_IDENTITY_PARAMETERS,
  type AssumeRoleAudit,
  type AssumeRoleParameters,
  type ResolvedSessionTags,
} from '../../identity/assume-role/index.ts'
import type { IdentityOidcProvider } from '../../identity/ports.ts'
import type { SessionTag } from '../../identity/types.ts'
import { structList, type QueryRequest, type QueryResult } from '../query/registry.ts'
import { withStsErrors } from './errors.ts'
import { assumedRoleResponse, packedPolicySizeOf } from './response.ts'
import { policyArnsOf } from './session-policy.ts'
import { Problems } from './validate.ts'

/** AWS's documented clock skew for `exp` / `nbf`. */
export const WEB_IDENTITY_CLOCK_SKEW_SEC = 300
export const TAGS_CLAIM = 'https://aws.amazon.com/tags'
export const SOURCE_IDENTITY_CLAIM = 'https://aws.amazon.com/source_identity'

const NOT_A_JWT =
  'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)'
const KEY_UNAVAILABLE =
  "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"
export const ARWWI_DENIED = 'Not authorized to perform sts:AssumeRoleWithWebIdentity'

function invalidToken(message: string): AwsError {
  return new AwsError('InvalidIdentityToken', message)
}

/** Maps the platform verifier's codes to STS's error split (fail fast vs. retryable). */
export function mapTokenError(err: TokenError, now: Date): AwsError {
  switch (err.code) {
    case 'TOKEN_EXPIRED': {
      const exp = err.at === undefined ? '' : String(Math.floor(err.at.getTime() / 1000))
      return new AwsError(
        'ExpiredTokenException',
        `Token expired: current date/time ${Math.floor(now.getTime() / 1000)} must be before the expiration date/time ${exp}`,
      )
    }
    case 'TOKEN_AUDIENCE_MISMATCH':
      return invalidToken(
        err.reason === 'missing' ? 'Missing a required claim: aud' : 'Incorrect token audience',
      )
    case 'ISSUER_UNREACHABLE':
      return new AwsError('IDPCommunicationError', KEY_UNAVAILABLE)
    case 'TOKEN_KEY_NOT_FOUND':
    case 'ISSUER_FORBIDDEN':
      return invalidToken(KEY_UNAVAILABLE)
    case 'TOKEN_NOT_YET_VALID':
      return invalidToken('Token is not yet valid (nbf is in the future)')
    case 'TOKEN_ALG_NOT_ALLOWED':
      return invalidToken(
        'Token signing algorithm is not supported; use RS256, RS384, RS512, ES256, ES384 or ES512',
      )
    case 'TOKEN_SIGNATURE_INVALID':
      return invalidToken('Invalid token signature')
    case 'TOKEN_ISSUER_MISMATCH':
    case 'TOKEN_MALFORMED':
    default:
      return invalidToken(NOT_A_JWT)
  }
}

/** Session tags and transitive keys from the `https://aws.amazon.com/tags` claim (values: one-element arrays). */
export function tokenSessionTags(claims: Record<string, unknown>): {
  tags: SessionTag[]
  transitiveTagKeys: string[]
} {
  const raw = claims[TAGS_CLAIM]
  if (raw === undefined) return { tags: [], transitiveTagKeys: [] }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalidToken(`The claim ${TAGS_CLAIM} is not valid`)
  const principalTags = (raw as Record<string, unknown>)['principal_tags'] ?? {}
  const transitive = (raw as Record<string, unknown>)['transitive_tag_keys'] ?? []
  if (typeof principalTags !== 'object' || principalTags === null || Array.isArray(principalTags))
    throw invalidToken(`The claim ${TAGS_CLAIM} is not valid`)
  const tags: SessionTag[] = []
  for (const [key, value] of Object.entries(principalTags)) {
    const v = Array.isArray(value) ? value : [value]
    if (v.length !== 1 || typeof v[0] !== 'string')
      throw invalidToken(
        `The claim ${TAGS_CLAIM} is not valid: session tags must have exactly one value`,
      )
    tags.push({ key, value: v[0] })
  }
  if (!Array.isArray(transitive) || transitive.some((k) => typeof k !== 'string'))
    throw invalidToken(`The claim ${TAGS_CLAIM} is not valid`)
  return { tags, transitiveTagKeys: transitive as string[] }
}

function requireIntegerDates(claims: Record<string, unknown>): void {
  for (const claim of ['exp', 'iat', 'nbf']) {
    const v = claims[claim]
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v)))
      throw invalidToken(`Timestamps in the token must be integers: ${claim}`)
  }
}

/** The AssumeRoleWithWebIdentity members off the awsQuery form. */
function webIdentityParameters(p: Record<string, string>): AssumeRoleParameters {
  return {
    roleArn: p['RoleArn'],
    roleSessionName: p['RoleSessionName'],
    webIdentityToken: p['WebIdentityToken'],
    durationSeconds: p['DurationSeconds'],
    policy: p['Policy'],
    policyArns: policyArnsOf(structList(p, 'PolicyArns')),
  }
}

interface VerifiedWebIdentity {
  provider: IdentityOidcProvider
  claims: Record<string, unknown>
  subject: string
  audience: string
  /** Every audience of the token (`:oaud`). */
  audiences: string[]
}

/** The identity step of this entry point: the token's issuer registered in the role's account, then verified. */
async function verifyWebIdentity(
  request: QueryRequest,
  ctx: AppContext,
  token: string,
  accountId: string,
): Promise<VerifiedWebIdentity> {
  // Token shape and issuer (unverified) to find the provider.
  // SDKs read the token file verbatim; a trailing newline is not part of the JWT.
  const trimmed = token.trim()
  let decoded: DecodedJws
  try {
    decoded = decodeCompactJws(trimmed)
  } catch {
    throw invalidToken(NOT_A_JWT)
  }
  const unverified = decoded.payload as Record<string, unknown>
  const iss = unverified['iss']
  if (typeof iss !== 'string' || iss === '') throw invalidToken('Missing a required claim: iss')
  request.audit.userIdentity = { type: 'WebIdentityUser', identityProvider: iss }
  const providerUrl = iss.startsWith('https://') ? iss.slice('https://'.length) : undefined
  const provider =
    providerUrl === undefined
      ? undefined
      : await ctx.oidcProviders.getOidcProviderByUrl(accountId, providerUrl)
  if (provider === undefined)
    throw invalidToken(`No OpenIDConnect provider found in your account for ${iss}`)
  request.audit.userIdentity = { type: 'WebIdentityUser', identityProvider: provider.arn }

  const now = ctx.now()
  let verified
  try {
    verified = await ctx.tokens.verify(token, {
      issuer: iss,
      audiences: provider.clientIds,
      now,
      clockToleranceSec: WEB_IDENTITY_CLOCK_SKEW_SEC,
      decoded: { token: trimmed, header: decoded.header, payload: decoded.payload },
    })
  } catch (err) {
    if (err instanceof TokenError) throw mapTokenError(err, now)
    throw err
  }
  const claims = verified.claims as Record<string, unknown>
  requireIntegerDates(claims)
  const audience = verified.audience.find((a) => provider.clientIds.includes(a))
  if (audience === undefined) throw invalidToken('Incorrect token audience')
  const subject = verified.subject
  if (subject === undefined || subject === '') throw invalidToken('Missing a required claim: sub')
  request.audit.userIdentity = {
    type: 'WebIdentityUser',
    principalId: `${provider.arn}:${audience}:${subject}`,
    userName: subject,
    identityProvider: provider.arn,
  }
  return { provider, claims, subject, audience, audiences: verified.audience }
}

/** The session tags claim: checked as the `Tags` members would be, then the session-tag rules. */
function tokenTags(claims: Record<string, unknown>): ResolvedSessionTags {
  const claimed = tokenSessionTags(claims)
  const problems = new Problems()
  checkTagMembers(problems, claimed.tags)
  problems.throwIfAny()
  return resolveSessionTags(claimed)
}

/** The source identity claim: checked as the `SourceIdentity` member would be. */
function tokenSourceIdentity(claims: Record<string, unknown>): string | undefined {
  const claim = claims[SOURCE_IDENTITY_CLAIM]
  const sourceIdentity = typeof claim === 'string' ? claim : undefined
  if (sourceIdentity !== undefined) {
    const problems = new Problems()
    checkSourceIdentityMember(problems, sourceIdentity)
    problems.throwIfAny()
    checkSourceIdentityPrefix(sourceIdentity)
  }
  return sourceIdentity
}

/** `<provider>:sub`, `:aud`, `:oaud`, `:azp`, `:amr` and the STS keys (IAM User Guide, "Available keys for
 * AWS web identity federation": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif). */
function webIdentityContext(
  request: QueryRequest,
  now: Date,
  web: VerifiedWebIdentity,
  input: {
    tags: SessionTag[]
    sessionName: string
    sourceIdentity?: string
    transitiveTagKeys: string[]
  },
): RequestContext {
  const amrClaim = web.claims['amr']
  const azp = web.claims['azp']
  const context = buildRequestContext({
    now,
    requestTags: input.tags,
    webIdentity: {
      providerUrl: web.provider.url,
      providerArn: web.provider.arn,
      sub: web.subject,
      aud: typeof azp === 'string' ? azp : web.audience,
      oaud: web.audiences.length === 1 ? (web.audiences[0] as string) : web.audiences,
      ...(typeof azp === 'string' ? { azp } : {}),
      ...(Array.isArray(amrClaim)
        ? { amr: amrClaim.filter((x): x is string => typeof x === 'string') }
        : typeof amrClaim === 'string'
          ? { amr: [amrClaim] }
          : {}),
    },
    sts: {
      roleSessionName: input.sessionName,
      transitiveTagKeys: input.transitiveTagKeys,
      ...(input.sourceIdentity === undefined ? {} : { sourceIdentity: input.sourceIdentity }),
    },
    ...request.facts,
  })
  if (input.sourceIdentity !== undefined) context['aws:SourceIdentity'] = input.sourceIdentity
  return context
}

/** What the audit event records: the denied action and matched statements, or the new session's issue time. */
function webIdentityAudit(request: QueryRequest, roleSessionName: string): AssumeRoleAudit {
  return {
    denied: (d) => {
      request.audit.additionalEventData = {
        decision: d.result?.decision,
        deniedAction: d.action,
        matchedStatements: (d.result?.matched ?? []).map(
          (s) => `${s.policyId}#${s.sid ?? s.index}`,
        ),
      }
    },
    issued: (s) => {
      request.audit.additionalEventData = {
        roleSessionName,
        tokenIssueTime: s.created.session.issuedAt.toISOString(),
      }
    },
  }
}

export async function assumeRoleWithWebIdentity(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  return withStsErrors(
    async () => {
      const params = checkParameters(
        new Problems(),
        webIdentityParameters(request.params),
        WEB_IDENTITY_PARAMETERS,
      )
      const arn = parseRoleArn(params.roleArn)
      request.audit.userIdentity = { type: 'WebIdentityUser' }
      request.audit.recipientAccountId = arn.accountId
      const web = await verifyWebIdentity(
        request,
        ctx,
        params.webIdentityToken as string,
        arn.accountId,
      )
      const tags = tokenTags(web.claims)
      const sourceIdentity = tokenSourceIdentity(web.claims)

      // Trust policy: the principal is the provider ARN; the provider's keys are in the context.
      const role = await ctx.roles.getRoleByArn(params.roleArn)
      if (role === undefined) throw new AwsError('AccessDenied', ARWWI_DENIED)
      const durationSeconds = params.durationSeconds ?? DEFAULT_DURATION_SECONDS
      const issued = await authorizeAndIssue(ctx, {
        principal: web.provider.arn,
        resource: role.arn,
        resourceAccount: role.accountId,
        role,
        action: 'sts:AssumeRoleWithWebIdentity',
        setsSourceIdentity: sourceIdentity !== undefined,
        context: webIdentityContext(request, ctx.now(), web, {
          tags: tags.tags,
          sessionName: params.roleSessionName,
          transitiveTagKeys: tags.transitiveTagKeys,
          ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
        }),
        session: {
          sessionName: params.roleSessionName,
          durationSeconds,
          tags: tags.tags,
          transitiveTagKeys: tags.transitiveTagKeys,
          inheritedTransitiveTags: [],
          sourceIdentity,
          policy: params.policy,
          policyArns: params.policyArns,
          chained: false,
          webIdentity: { provider: web.provider.arn, subject: web.subject, audience: web.audience },
        },
        audit: webIdentityAudit(request, params.roleSessionName),
      })
      return {
        SubjectFromWebIdentityToken: web.subject,
        Audience: web.audience,
        ...assumedRoleResponse(issued.created),
        SourceIdentity: sourceIdentity,
        Provider: web.provider.arn,
        PackedPolicySize: packedPolicySizeOf(issued.packedPolicySize),
      }
    },
    (err) => (err.code === 'TRUST_DENIED' ? new AwsError('AccessDenied', ARWWI_DENIED) : undefined),
  )
}

// Re-exported so tests can pin the message list without importing internals.
export const WEB_IDENTITY_MESSAGES = { NOT_A_JWT, KEY_UNAVAILABLE, ARWWI_DENIED }
