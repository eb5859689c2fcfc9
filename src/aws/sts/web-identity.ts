/**
 * @module aws/sts/web-identity
 * AssumeRoleWithWebIdentity: the JWT is the credential. Order (aws-protocol.md §3.2): parameters → role ARN →
 * token shape → issuer registered as an IAM OIDC provider in the role's account (exact URL) → signature with
 * pinned algorithms via the platform verifier (podtrust's own issuers in-process) → aud in the provider's
 * client ids → exp with AWS's 5-minute grace → trust policy (+ sts:TagSession / sts:SetSourceIdentity) →
 * DurationSeconds vs MaxSessionDuration → session policies → credentials.
 */
import { decodeJwt } from 'jose'
import type { AppContext } from '../../app/context.ts'
import { createIamRepo, type OidcProviderRecord } from '../iam/repo.ts'
import { authorize, PolicyError } from '../../policy/index.ts'
import { AwsError } from '../errors.ts'
import { TokenError } from '../../tokens/errors.ts'
import { buildRequestContext } from '../../identity/context.ts'
import { compileCached } from '../../identity/authorize.ts'
import { createRoleSession } from '../../identity/sessions.ts'
import type { SessionTag } from '../../identity/types.ts'
import { memberList, structList, type QueryRequest, type QueryResult } from '../query/registry.ts'
import {
  checkTags,
  duplicateTagKeys,
  parseRoleArn,
  Problems,
  POLICY_PATTERN,
  SESSION_NAME_PATTERN,
  DUPLICATE_TAG_KEYS_MESSAGE,
  TRANSITIVE_NOT_IN_TAGS_MESSAGE,
} from './validate.ts'
import { packAndCheck, sessionPolicyArnsOf, validateSessionPolicy } from './session-policy.ts'

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

export async function assumeRoleWithWebIdentity(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  const p = request.params
  const problems = new Problems()
  const roleArn = p['RoleArn']
  const sessionName = p['RoleSessionName']
  // SDKs send the token file verbatim; a trailing newline is not part of the JWT.
  const rawToken = p['WebIdentityToken']
  const token = rawToken?.trim()
  problems.required(roleArn, 'roleArn')
  problems.length(roleArn, 'roleArn', 20, 2048)
  problems.required(sessionName, 'roleSessionName')
  problems.length(sessionName, 'roleSessionName', 2, 64)
  problems.pattern(sessionName, 'roleSessionName', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
  problems.required(rawToken, 'webIdentityToken')
  problems.length(token, 'webIdentityToken', 4, 20000, false)
  const duration = problems.integer(p['DurationSeconds'], 'durationSeconds', 900, 43200)
  const policy = p['Policy']
  problems.length(policy, 'policy', 1, 2048, false)
  problems.pattern(
    policy,
    'policy',
    POLICY_PATTERN,
    '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
    false,
  )
  const policyArns = sessionPolicyArnsOf(structList(p, 'PolicyArns'), problems)
  problems.throwIfAny()
  const role = parseRoleArn(roleArn as string)
  request.audit.userIdentity = { type: 'WebIdentityUser' }
  request.audit.recipientAccountId = role.accountId

  // Token shape and issuer (unverified) to find the provider.
  let claims: Record<string, unknown>
  try {
    claims = decodeJwt(token as string) as Record<string, unknown>
  } catch {
    throw invalidToken(NOT_A_JWT)
  }
  const iss = claims['iss']
  if (typeof iss !== 'string' || iss === '') throw invalidToken('Missing a required claim: iss')
  request.audit.userIdentity = { type: 'WebIdentityUser', identityProvider: iss }
  const repo = createIamRepo(ctx.db)
  const providerUrl = iss.startsWith('https://') ? iss.slice('https://'.length) : undefined
  const provider: OidcProviderRecord | undefined =
    providerUrl === undefined
      ? undefined
      : await repo.getOidcProviderByUrl(role.accountId, providerUrl)
  if (provider === undefined)
    throw invalidToken(`No OpenIDConnect provider found in your account for ${iss}`)
  request.audit.userIdentity = { type: 'WebIdentityUser', identityProvider: provider.arn }

  const now = ctx.now()
  let verified
  try {
    verified = await ctx.tokens.verify(token as string, {
      issuer: iss,
      audiences: provider.clientIds,
      now,
      clockToleranceSec: WEB_IDENTITY_CLOCK_SKEW_SEC,
    })
  } catch (err) {
    if (err instanceof TokenError) throw mapTokenError(err, now)
    throw err
  }
  requireIntegerDates(verified.claims as Record<string, unknown>)
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

  const { tags, transitiveTagKeys } = tokenSessionTags(verified.claims as Record<string, unknown>)
  const tagProblems = new Problems()
  checkTags(tagProblems, tags)
  tagProblems.throwIfAny()
  if (duplicateTagKeys(tags))
    throw new AwsError('InvalidParameterValue', DUPLICATE_TAG_KEYS_MESSAGE)
  const tagKeys = new Set(tags.map((t) => t.key.toLowerCase()))
  if (transitiveTagKeys.some((k) => !tagKeys.has(k.toLowerCase())))
    throw new AwsError('InvalidParameterValue', TRANSITIVE_NOT_IN_TAGS_MESSAGE)
  const sourceIdentityClaim = verified.claims[SOURCE_IDENTITY_CLAIM]
  const sourceIdentity = typeof sourceIdentityClaim === 'string' ? sourceIdentityClaim : undefined
  if (sourceIdentity !== undefined) {
    const sp = new Problems()
    sp.length(sourceIdentity, 'sourceIdentity', 2, 64)
    sp.pattern(sourceIdentity, 'sourceIdentity', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
    sp.throwIfAny()
    if (sourceIdentity.toLowerCase().startsWith('aws:'))
      throw new AwsError('ValidationError', 'SourceIdentity cannot start with the prefix aws:')
  }

  // Trust policy: principal is the provider ARN; the provider keys are in the context.
  const record = await repo.getRoleByArn(roleArn as string)
  if (record === undefined) throw new AwsError('AccessDenied', ARWWI_DENIED)
  let trust
  try {
    trust = compileCached(record.assumeRolePolicyDocument, `${record.arn}/trust`, 'trust')
  } catch {
    throw new AwsError('AccessDenied', ARWWI_DENIED)
  }
  const amrClaim = verified.claims['amr']
  const azp = verified.claims['azp']
  const context = buildRequestContext({
    now,
    sourceIp: request.sourceIp,
    secureTransport: request.secureTransport,
    region: request.region,
    requestTags: tags,
    webIdentity: {
      providerUrl: provider.url,
      providerArn: provider.arn,
      sub: subject,
      aud: typeof azp === 'string' ? azp : audience,
      oaud: verified.audience.length === 1 ? (verified.audience[0] as string) : verified.audience,
      ...(typeof azp === 'string' ? { azp } : {}),
      ...(Array.isArray(amrClaim)
        ? { amr: amrClaim.filter((x): x is string => typeof x === 'string') }
        : typeof amrClaim === 'string'
          ? { amr: [amrClaim] }
          : {}),
    },
    sts: {
      roleSessionName: sessionName as string,
      ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
      transitiveTagKeys,
    },
  })
  if (sourceIdentity !== undefined) context['aws:SourceIdentity'] = sourceIdentity
  const actions = ['sts:AssumeRoleWithWebIdentity']
  if (tags.length > 0) actions.push('sts:TagSession')
  if (sourceIdentity !== undefined) actions.push('sts:SetSourceIdentity')
  for (const action of actions) {
    const result = authorize({
      principal: provider.arn,
      action,
      resource: record.arn,
      resourceAccount: record.accountId,
      context,
      identityPolicies: [],
      resourcePolicy: trust,
      resourcePolicyIsGate: true,
    })
    if (result.decision !== 'Allowed') {
      request.audit.additionalEventData = {
        decision: result.decision,
        deniedAction: action,
        matchedStatements: result.matched.map((s) => `${s.policyId}#${s.sid ?? s.index}`),
      }
      throw new AwsError('AccessDenied', ARWWI_DENIED)
    }
  }

  const durationSeconds = duration ?? 3600
  if (durationSeconds > record.maxSessionDuration)
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    )
  if (policy !== undefined) validateSessionPolicy(policy)
  const packed = packAndCheck(policy, policyArns, tags)
  await ensurePolicyArnsExist(ctx, policyArns)

  const session = await createRoleSession(ctx, {
    role: record,
    sessionName: sessionName as string,
    durationSeconds,
    tags,
    transitiveTagKeys,
    webIdentity: { provider: provider.arn, subject, audience },
    ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
    ...(policy === undefined ? {} : { sessionPolicy: policy }),
    ...(policyArns.length === 0 ? {} : { sessionPolicyArns: policyArns }),
  })
  request.audit.additionalEventData = {
    roleSessionName: sessionName,
    tokenIssueTime: session.session.issuedAt.toISOString(),
  }
  return {
    SubjectFromWebIdentityToken: subject,
    Audience: audience,
    AssumedRoleUser: {
      Arn: session.assumedRoleUser.arn,
      AssumedRoleId: session.assumedRoleUser.assumedRoleId,
    },
    Credentials: {
      AccessKeyId: session.credentials.accessKeyId,
      SecretAccessKey: session.credentials.secretAccessKey,
      SessionToken: session.credentials.sessionToken,
      Expiration: session.credentials.expiration,
    },
    SourceIdentity: sourceIdentity,
    Provider: provider.arn,
    PackedPolicySize: packed > 0 ? packed : undefined,
  }
}

export async function ensurePolicyArnsExist(
  ctx: AppContext,
  arns: readonly string[],
): Promise<void> {
  if (arns.length === 0) return
  const repo = createIamRepo(ctx.db)
  for (const arn of arns) {
    if ((await repo.getManagedPolicyDocument(arn)) === undefined)
      throw new AwsError(
        'InvalidParameterValue',
        `Policy ${arn} does not exist or is not attachable.`,
      )
  }
}

// Re-exported so tests can pin the message list without importing internals.
export const WEB_IDENTITY_MESSAGES = { NOT_A_JWT, KEY_UNAVAILABLE, ARWWI_DENIED }
export { memberList, PolicyError }
