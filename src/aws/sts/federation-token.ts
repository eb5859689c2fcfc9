/**
 * @module aws/sts/federation-token
 * STS `GetFederationToken` (STS API reference:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html) for a signed IAM user: the
 * awsQuery members, the pipeline's federation steps (`src/identity/assume-role/federation.ts`) with the caller's
 * own policies deciding `sts:GetFederationToken` / `sts:TagSession`, and the response `Credentials`,
 * `FederatedUser {FederatedUserId, Arn}`, `PackedPolicySize`.
 */
import type { AppContext } from '../../app/context.ts'
import { authorizeCaller, callerPolicies } from '../../identity/authorize.ts'
import {
  checkFederationParameters,
  federate,
  type FederationParameters,
} from '../../identity/assume-role/index.ts'
import { structList, tagList, type QueryRequest, type QueryResult } from '../query/registry.ts'
import { requireCaller } from './assume-role.ts'
import { withStsErrors } from './errors.ts'
import { credentialsResponse } from './response.ts'
import { policyArnsOf } from './session-policy.ts'
import { Problems } from './validate.ts'

/** The GetFederationToken members off the awsQuery form. */
function federationParameters(p: Record<string, string>): FederationParameters {
  return {
    name: p['Name'],
    durationSeconds: p['DurationSeconds'],
    policy: p['Policy'],
    policyArns: policyArnsOf(structList(p, 'PolicyArns')),
    tags: tagList(p, 'Tags'),
  }
}

export async function getFederationToken(
  request: QueryRequest,
  ctx: AppContext,
): Promise<QueryResult> {
  const caller = requireCaller(request)
  return withStsErrors(async () => {
    const params = checkFederationParameters(new Problems(), federationParameters(request.params))
    const policies = await callerPolicies(ctx, caller)
    const { created, packedPolicySize } = await federate(ctx, {
      caller,
      params,
      // `aws:RequestTag/*` and `aws:TagKeys` are the condition keys the action takes (Service Authorization
      // Reference, AWS STS).
      authorizeAction: (action, resource) =>
        authorizeCaller(
          ctx,
          caller,
          { action, resource, context: { ...request.facts, requestTags: params.tags } },
          policies,
        ),
    })
    return {
      Credentials: credentialsResponse(created.credentials),
      FederatedUser: {
        FederatedUserId: created.federatedUser.federatedUserId,
        Arn: created.federatedUser.arn,
      },
      PackedPolicySize: packedPolicySize,
    }
  })
}
