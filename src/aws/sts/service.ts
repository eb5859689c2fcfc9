/**
 * @module aws/sts/service
 * The STS service (awsQuery, 2011-06-15): AssumeRoleWithWebIdentity (unsigned), AssumeRole, GetCallerIdentity,
 * GetSessionToken, GetAccessKeyInfo, DecodeAuthorizationMessage. Exact AWS codes, statuses and messages.
 */
import type { AppContext } from '../../app/context.ts'
import { createIamRepo } from '../iam/repo.ts'
import { AwsError } from '../errors.ts'
import { authorizeCaller, callerPolicies, compileCached } from '../../identity/authorize.ts'
import {
  decodeAuthorizationMessage,
  encodeAuthorizationMessage,
  explain,
} from '../../identity/authz-message.ts'
import { decodeAccountId } from '../../identity/credentials.ts'
import { createRoleSession, createUserSession } from '../../identity/sessions.ts'
import type { Caller, SessionTag } from '../../identity/types.ts'
import {
  memberList,
  registerQueryService,
  structList,
  tagList,
  type QueryRequest,
  type QueryResult,
  type QueryService,
} from '../query/registry.ts'
import {
  checkTags,
  duplicateTagKeys,
  EXTERNAL_ID_PATTERN,
  parseRoleArn,
  Problems,
  POLICY_PATTERN,
  SESSION_NAME_PATTERN,
  DUPLICATE_TAG_KEYS_MESSAGE,
  TRANSITIVE_CONFLICT_MESSAGE,
  TRANSITIVE_NOT_IN_TAGS_MESSAGE,
} from './validate.ts'
import { packAndCheck, sessionPolicyArnsOf, validateSessionPolicy } from './session-policy.ts'
import { assumeRoleWithWebIdentity, ensurePolicyArnsExist } from './web-identity.ts'

export const STS_VERSION = '2011-06-15'
export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/'

function requireCaller(request: QueryRequest): Caller {
  if (request.caller === undefined)
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token')
  return request.caller
}

function notAuthorized(
  caller: Caller,
  action: string,
  resource: string,
  encoded?: string,
): AwsError {
  const base = `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource}`
  return new AwsError(
    'AccessDenied',
    encoded === undefined ? base : `${base}. Encoded authorization failure message: ${encoded}`,
  )
}

export async function assumeRole(request: QueryRequest, ctx: AppContext): Promise<QueryResult> {
  const caller = requireCaller(request)
  const p = request.params
  const problems = new Problems()
  const roleArn = p['RoleArn']
  const sessionName = p['RoleSessionName']
  problems.required(roleArn, 'roleArn')
  problems.length(roleArn, 'roleArn', 20, 2048)
  problems.required(sessionName, 'roleSessionName')
  problems.length(sessionName, 'roleSessionName', 2, 64)
  problems.pattern(sessionName, 'roleSessionName', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
  const duration = problems.integer(p['DurationSeconds'], 'durationSeconds', 900, 43200)
  const policy = p['Policy']
  problems.length(policy, 'policy', 1, undefined, false)
  problems.pattern(
    policy,
    'policy',
    POLICY_PATTERN,
    '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
    false,
  )
  const policyArns = sessionPolicyArnsOf(structList(p, 'PolicyArns'), problems)
  const tags = tagList(p, 'Tags') ?? []
  checkTags(problems, tags)
  const transitiveTagKeys = memberList(p, 'TransitiveTagKeys') ?? []
  if (transitiveTagKeys.length > 50)
    problems.custom(
      "Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50",
    )
  const externalId = p['ExternalId']
  problems.length(externalId, 'externalId', 2, 1224)
  problems.pattern(externalId, 'externalId', EXTERNAL_ID_PATTERN, '[\\w+=,.@:\\/-]*')
  const sourceIdentity = p['SourceIdentity']
  problems.length(sourceIdentity, 'sourceIdentity', 2, 64)
  problems.pattern(sourceIdentity, 'sourceIdentity', SESSION_NAME_PATTERN, '[\\w+=,.@-]*')
  const serial = p['SerialNumber']
  problems.length(serial, 'serialNumber', 9, 256)
  const tokenCode = p['TokenCode']
  problems.length(tokenCode, 'tokenCode', 6, 6)
  problems.pattern(tokenCode, 'tokenCode', /^\d*$/, '[\\d]*')
  problems.throwIfAny()
  if (sourceIdentity !== undefined && sourceIdentity.toLowerCase().startsWith('aws:'))
    throw new AwsError('ValidationError', 'SourceIdentity cannot start with the prefix aws:')
  const arn = parseRoleArn(roleArn as string)

  // Role chaining: credentials of a role session (or of GetSessionToken) assuming a role.
  const chained = caller.type === 'AssumedRole' || caller.federatedFromUser === true
  const durationSeconds = duration ?? 3600
  if (chained && durationSeconds > 3600)
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    )
  // Tags.
  if (duplicateTagKeys(tags))
    throw new AwsError('InvalidParameterValue', DUPLICATE_TAG_KEYS_MESSAGE)
  const requestedKeys = new Set(tags.map((t) => t.key.toLowerCase()))
  if (transitiveTagKeys.some((k) => !requestedKeys.has(k.toLowerCase())))
    throw new AwsError('InvalidParameterValue', TRANSITIVE_NOT_IN_TAGS_MESSAGE)
  const session = caller.session
  const inherited: SessionTag[] = []
  if (session !== undefined) {
    const transitive = new Set(session.transitiveTagKeys.map((k) => k.toLowerCase()))
    for (const t of session.tags) if (transitive.has(t.key.toLowerCase())) inherited.push(t)
    if (tags.some((t) => transitive.has(t.key.toLowerCase())))
      throw new AwsError('InvalidParameterValue', TRANSITIVE_CONFLICT_MESSAGE)
  }
  // Source identity: set once, then carried down the chain unchanged.
  const inheritedSource = session?.sourceIdentity
  if (
    inheritedSource !== undefined &&
    sourceIdentity !== undefined &&
    sourceIdentity !== inheritedSource
  )
    throw notAuthorized(caller, 'sts:SetSourceIdentity', roleArn as string)
  const effectiveSource = sourceIdentity ?? inheritedSource

  const repo = createIamRepo(ctx.db)
  const role = await repo.getRoleByArn(roleArn as string)
  const policies = await callerPolicies(ctx, caller)
  const allTags = [...inherited, ...tags]
  const contextInput = {
    sourceIp: request.sourceIp,
    secureTransport: request.secureTransport,
    region: request.region,
    requestTags: allTags,
    sts: {
      roleSessionName: sessionName as string,
      ...(externalId === undefined ? {} : { externalId }),
      ...(effectiveSource === undefined ? {} : { sourceIdentity: effectiveSource }),
      transitiveTagKeys: [...transitiveTagKeys, ...inherited.map((t) => t.key)],
    },
  }
  const actions = ['sts:AssumeRole']
  if (allTags.length > 0) actions.push('sts:TagSession')
  if (sourceIdentity !== undefined) actions.push('sts:SetSourceIdentity')
  let trust
  try {
    trust =
      role === undefined
        ? undefined
        : compileCached(role.assumeRolePolicyDocument, `${role.arn}/trust`, 'trust')
  } catch {
    trust = undefined
  }
  for (const action of actions) {
    const { result, context } = await authorizeCaller(
      ctx,
      caller,
      {
        action,
        resource: roleArn as string,
        resourceAccount: arn.accountId,
        ...(trust === undefined ? {} : { resourcePolicy: trust }),
        resourcePolicyIsGate: true,
        context: contextInput,
      },
      policies,
    )
    if (role === undefined || trust === undefined || result.decision !== 'Allowed') {
      const encoded = await encodeAuthorizationMessage(
        ctx,
        caller.accountId,
        explain(result, {
          principalId: caller.userId,
          principalArn: caller.arn,
          action,
          resource: roleArn as string,
          context,
        }),
      )
      request.audit.additionalEventData = { decision: result.decision, deniedAction: action }
      throw notAuthorized(caller, action, roleArn as string, encoded)
    }
  }
  if (durationSeconds > role!.maxSessionDuration)
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    )
  if (policy !== undefined) validateSessionPolicy(policy)
  const packed = packAndCheck(policy, policyArns, tags)
  await ensurePolicyArnsExist(ctx, policyArns)
  const created = await createRoleSession(ctx, {
    role: role!,
    sessionName: sessionName as string,
    durationSeconds,
    tags,
    transitiveTagKeys,
    inheritedTransitiveTags: inherited,
    chained,
    ...(effectiveSource === undefined ? {} : { sourceIdentity: effectiveSource }),
    ...(policy === undefined ? {} : { sessionPolicy: policy }),
    ...(policyArns.length === 0 ? {} : { sessionPolicyArns: policyArns }),
  })
  request.audit.recipientAccountId = role!.accountId
  return {
    SourceIdentity: effectiveSource,
    AssumedRoleUser: {
      Arn: created.assumedRoleUser.arn,
      AssumedRoleId: created.assumedRoleUser.assumedRoleId,
    },
    Credentials: {
      AccessKeyId: created.credentials.accessKeyId,
      SecretAccessKey: created.credentials.secretAccessKey,
      SessionToken: created.credentials.sessionToken,
      Expiration: created.credentials.expiration,
    },
    PackedPolicySize: packed > 0 ? packed : undefined,
  }
}

export async function getCallerIdentity(request: QueryRequest): Promise<QueryResult> {
  const caller = requireCaller(request)
  // Always allowed, even under an explicit Deny (STS API reference).
  return { Arn: caller.arn, UserId: caller.userId, Account: caller.accountId }
}

export async function getSessionToken(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  const caller = requireCaller(request)
  if (caller.type === 'AssumedRole' || caller.federatedFromUser === true)
    throw new AwsError('AccessDenied', 'Cannot call GetSessionToken with session credentials')
  const problems = new Problems()
  const root = caller.type === 'Root'
  const duration = problems.integer(p(request, 'DurationSeconds'), 'durationSeconds', 900, 129600)
  problems.length(p(request, 'SerialNumber'), 'serialNumber', 9, 256)
  problems.length(p(request, 'TokenCode'), 'tokenCode', 6, 6)
  problems.throwIfAny()
  const seconds = root ? Math.min(duration ?? 3600, 3600) : (duration ?? 43200)
  const { credentials } = await createUserSession(ctx, {
    accountId: caller.accountId,
    userArn: caller.arn,
    userId: caller.userId,
    userName: caller.userName ?? '',
    root,
    durationSeconds: seconds,
  })
  return {
    Credentials: {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: credentials.expiration,
    },
  }
}

function p(request: QueryRequest, name: string): string | undefined {
  return request.params[name]
}

export async function getAccessKeyInfo(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  requireCaller(request)
  const problems = new Problems()
  const id = p(request, 'AccessKeyId')
  problems.required(id, 'accessKeyId')
  problems.length(id, 'accessKeyId', 16, 128)
  problems.pattern(id, 'accessKeyId', /^\w*$/, '[\\w]*')
  problems.throwIfAny()
  // New-style ids encode the account; old-style ones are looked up.
  const account =
    decodeAccountId(id as string) ??
    (await createIamRepo(ctx.db).getAccessKey(id as string))?.accountId
  if (account === undefined)
    throw new AwsError('InvalidParameterValue', 'The specified access key ID is not valid.')
  return { Account: account }
}

export async function decodeAuthorizationMessageAction(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  const caller = requireCaller(request)
  const problems = new Problems()
  const encoded = p(request, 'EncodedMessage')
  problems.required(encoded, 'encodedMessage')
  problems.length(encoded, 'encodedMessage', 1, 10240, false)
  problems.throwIfAny()
  const { result } = await authorizeCaller(ctx, caller, {
    action: 'sts:DecodeAuthorizationMessage',
    resource: '*',
    context: {
      sourceIp: request.sourceIp,
      secureTransport: request.secureTransport,
      region: request.region,
    },
  })
  if (result.decision !== 'Allowed')
    throw new AwsError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:DecodeAuthorizationMessage`,
    )
  const decoded = await decodeAuthorizationMessage(ctx, caller.accountId, encoded as string)
  if (decoded === undefined)
    throw new AwsError('InvalidAuthorizationMessageException', 'Message is not valid')
  return { DecodedMessage: JSON.stringify(decoded) }
}

export const stsService: QueryService = {
  signingName: 'sts',
  version: STS_VERSION,
  xmlns: STS_XMLNS,
  eventSource: 'sts.amazonaws.com',
  unsignedActions: ['AssumeRoleWithWebIdentity'],
  readOnlyActions: [
    'GetCallerIdentity',
    'GetAccessKeyInfo',
    'DecodeAuthorizationMessage',
    'AssumeRole',
    'AssumeRoleWithWebIdentity',
    'GetSessionToken',
  ],
  actions: {
    AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity,
    AssumeRole: assumeRole,
    GetCallerIdentity: (request) => getCallerIdentity(request),
    GetSessionToken: getSessionToken,
    GetAccessKeyInfo: getAccessKeyInfo,
    DecodeAuthorizationMessage: decodeAuthorizationMessageAction,
  },
}

export function registerStsService(): void {
  registerQueryService(stsService)
}
