/**
 * @module aws/sts/assume-role
 * STS `AssumeRole` (STS API reference: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html):
 * the assume-role pipeline (`src/identity/assume-role/`) composed for a signed caller — parameter checks →
 * role ARN → chaining's one-hour cap → session tags (inherited transitive tags, conflicts) → source identity
 * carried down the chain → trust authorization with the caller's own policies → role MaxSessionDuration →
 * session-policy limits → session → audit → response. A denial carries an encoded authorization message.
 */
import type { AppContext } from '../../app/context.ts'
import { AwsError } from '../errors.ts'
import { callerPolicies } from '../../identity/authorize.ts'
import { encodeAuthorizationMessage, explain } from '../../identity/authz-message.ts'
import { buildRequestContext } from '../../identity/context.ts'
import {
  ASSUME_ROLE_PARAMETERS,
  authorizeAndIssue,
  carrySourceIdentity,
  checkParameters,
  DEFAULT_DURATION_SECONDS,
  limitChainedDuration,
  parseRoleArn,
  resolveSessionTags,
  type AssumeRoleError,
  type AssumeRoleParameters,
} from '../../identity/assume-role/index.ts'
import type { Caller } from '../../identity/types.ts'
import {
  memberList,
  structList,
  tagList,
  type QueryRequest,
  type QueryResult,
} from '../query/registry.ts'
import { withStsErrors } from './errors.ts'
import { assumedRoleResponse, packedPolicySizeOf } from './response.ts'
import { policyArnsOf } from './session-policy.ts'
import { Problems } from './validate.ts'

export function requireCaller(request: QueryRequest): Caller {
  if (request.caller === undefined)
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token')
  return request.caller
}

/** The AssumeRole members off the awsQuery form. */
function assumeRoleParameters(p: Record<string, string>): AssumeRoleParameters {
  return {
    roleArn: p['RoleArn'],
    roleSessionName: p['RoleSessionName'],
    durationSeconds: p['DurationSeconds'],
    policy: p['Policy'],
    policyArns: policyArnsOf(structList(p, 'PolicyArns')),
    tags: tagList(p, 'Tags'),
    transitiveTagKeys: memberList(p, 'TransitiveTagKeys'),
    externalId: p['ExternalId'],
    sourceIdentity: p['SourceIdentity'],
    serialNumber: p['SerialNumber'],
    tokenCode: p['TokenCode'],
  }
}

export async function assumeRole(request: QueryRequest, ctx: AppContext): Promise<QueryResult> {
  const caller = requireCaller(request)
  return withStsErrors(
    async () => {
      const params = checkParameters(
        new Problems(),
        assumeRoleParameters(request.params),
        ASSUME_ROLE_PARAMETERS,
      )
      const arn = parseRoleArn(params.roleArn)
      // Role chaining: credentials of a role session (or of GetSessionToken) assuming a role.
      const chained = caller.type === 'AssumedRole' || caller.federatedFromUser === true
      const durationSeconds = params.durationSeconds ?? DEFAULT_DURATION_SECONDS
      limitChainedDuration(durationSeconds, chained)
      const tags = resolveSessionTags({ ...params, callerSession: caller.session })
      const sourceIdentity = carrySourceIdentity({
        requested: params.sourceIdentity,
        callerSession: caller.session,
        principal: caller.arn,
        resource: params.roleArn,
      })
      const role = await ctx.roles.getRoleByArn(params.roleArn)
      const policies = await callerPolicies(ctx, caller)
      const context = buildRequestContext({
        caller,
        now: ctx.now(),
        principalTags: policies.principalTags,
        ...request.facts,
        requestTags: tags.all,
        sts: {
          roleSessionName: params.roleSessionName,
          ...(params.externalId === undefined ? {} : { externalId: params.externalId }),
          ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
          transitiveTagKeys: tags.contextTransitiveKeys,
        },
      })
      const issued = await authorizeAndIssue(ctx, {
        principal: caller.arn,
        principalPolicies: policies,
        resource: params.roleArn,
        resourceAccount: arn.accountId,
        role,
        action: 'sts:AssumeRole',
        setsSourceIdentity: params.sourceIdentity !== undefined,
        context,
        session: {
          sessionName: params.roleSessionName,
          durationSeconds,
          tags: tags.tags,
          transitiveTagKeys: tags.transitiveTagKeys,
          inheritedTransitiveTags: tags.inherited,
          sourceIdentity,
          policy: params.policy,
          policyArns: params.policyArns,
          chained,
        },
        audit: {
          denied: (d) => {
            request.audit.additionalEventData = {
              decision: d.result?.decision,
              deniedAction: d.action,
            }
          },
          issued: (s) => {
            request.audit.recipientAccountId = s.role.accountId
          },
        },
      })
      return {
        SourceIdentity: sourceIdentity,
        ...assumedRoleResponse(issued.created),
        PackedPolicySize: packedPolicySizeOf(issued.packedPolicySize),
      }
    },
    (err) => renderDenial(ctx, caller, err),
  )
}

/** A trust denial names the caller and carries the encoded authorization message. */
async function renderDenial(
  ctx: AppContext,
  caller: Caller,
  err: AssumeRoleError,
): Promise<AwsError | undefined> {
  const d = err.denial
  if (err.code !== 'TRUST_DENIED' || d?.result === undefined || d.context === undefined)
    return undefined
  const encoded = await encodeAuthorizationMessage(
    ctx,
    caller.accountId,
    explain(d.result, {
      principalId: caller.userId,
      principalArn: caller.arn,
      action: d.action,
      resource: d.resource,
      context: d.context,
    }),
  )
  return new AwsError(
    'AccessDenied',
    `User: ${caller.arn} is not authorized to perform: ${d.action} on resource: ${d.resource}. Encoded authorization failure message: ${encoded}`,
  )
}
