/**
 * @module aws/sts/service
 * The STS service (awsQuery, 2011-06-15): AssumeRoleWithWebIdentity (unsigned), AssumeRole, GetCallerIdentity,
 * GetSessionToken, GetFederationToken, GetAccessKeyInfo, DecodeAuthorizationMessage. Exact AWS codes, statuses
 * and messages. A federated user session "cannot call any STS operations except GetCallerIdentity" (STS API
 * reference, GetFederationToken: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html).
 */
import type { AppContext } from '../../app/context.ts'
import { AwsError } from '../errors.ts'
import { authorizeCaller } from '../../identity/authorize.ts'
import { decodeAuthorizationMessage } from '../../identity/authz-message.ts'
import { decodeAccountId } from '../../identity/credentials.ts'
import { createUserSession } from '../../identity/sessions.ts'
import {
  type QueryHandler,
  type QueryRequest,
  type QueryResult,
  type QueryService,
} from '../query/registry.ts'
import { assumeRole, requireCaller } from './assume-role.ts'
import { getFederationToken } from './federation-token.ts'
import { credentialsResponse } from './response.ts'
import { Problems } from './validate.ts'
import { assumeRoleWithWebIdentity } from './web-identity.ts'

export { assumeRole } from './assume-role.ts'

export const STS_VERSION = '2011-06-15'
export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/'

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
  if (
    caller.type === 'AssumedRole' ||
    caller.type === 'FederatedUser' ||
    caller.federatedFromUser === true
  )
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
  return { Credentials: credentialsResponse(credentials) }
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
    decodeAccountId(id as string) ?? (await ctx.accessKeys.getAccessKey(id as string))?.accountId
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
      ...request.facts,
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

/**
 * Refuses temporary credentials an STS action does not take, before `handler` runs. Federated user sessions
 * may call only GetCallerIdentity; GetSessionToken sessions only AssumeRole and GetCallerIdentity (STS API
 * reference, GetFederationToken and GetSessionToken: "You cannot call any AWS STS API except …").
 */
function closedToSessions(
  action: string,
  handler: QueryHandler,
  options: { openToSessionTokens?: boolean } = {},
): QueryHandler {
  return async (request, ctx) => {
    const caller = request.caller
    const refused =
      caller?.type === 'FederatedUser' ||
      (caller?.federatedFromUser === true && options.openToSessionTokens !== true)
    if (caller !== undefined && refused)
      throw new AwsError(
        'AccessDenied',
        action === 'GetSessionToken' || action === 'GetFederationToken'
          ? `Cannot call ${action} with session credentials`
          : `User: ${caller.arn} is not authorized to perform: sts:${action}`,
      )
    return handler(request, ctx)
  }
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
    'GetFederationToken',
  ],
  actions: {
    AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity,
    AssumeRole: closedToSessions('AssumeRole', assumeRole, { openToSessionTokens: true }),
    GetCallerIdentity: (request) => getCallerIdentity(request),
    GetSessionToken: closedToSessions('GetSessionToken', getSessionToken),
    GetFederationToken: closedToSessions('GetFederationToken', getFederationToken),
    GetAccessKeyInfo: closedToSessions('GetAccessKeyInfo', getAccessKeyInfo),
    DecodeAuthorizationMessage: closedToSessions(
      'DecodeAuthorizationMessage',
      decodeAuthorizationMessageAction,
    ),
  },
}
