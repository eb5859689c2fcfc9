/**
 * @module aws/iam/service
 * IAM (`iam`, 2010-05-08) as an awsQuery service (`iamService`, served by the front door the composition root
 * assembles). The dispatcher authenticates (SigV4, scoped to the global signing region), routes by `Action`,
 * renders XML and records the audit event; every handler authorizes its action with the policy engine.
 * A federated user session (STS GetFederationToken) "cannot call any IAM operations using the CLI or the AWS
 * API" (STS API reference, GetFederationToken); AWS answers such a call as an invalid security token.
 */
import { AwsError } from '../errors.ts'
import type { QueryHandler, QueryService } from '../query/registry.ts'
import { accountActions } from './actions-account.ts'
import { gaadActions } from './actions-gaad.ts'
import { groupActions } from './actions-groups.ts'
import { instanceProfileActions } from './actions-instance-profiles.ts'
import { passwordPolicyActions } from './actions-password-policy.ts'
import { serviceLinkedRoleActions } from './actions-service-linked-roles.ts'
import { simulateActions } from './actions-simulate.ts'
import { userProfileActions } from './actions-user-profile.ts'
import { oidcActions } from './actions-oidc.ts'
import { policyActions } from './actions-policies.ts'
import { roleActions } from './actions-roles.ts'
import { userActions } from './actions-users.ts'

export const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/'
export const IAM_VERSION = '2010-05-08'

export const iamActions: Record<string, QueryHandler> = {
  ...roleActions,
  ...policyActions,
  ...oidcActions,
  ...userActions,
  ...userProfileActions,
  ...groupActions,
  ...instanceProfileActions,
  ...serviceLinkedRoleActions,
  ...accountActions,
  ...passwordPolicyActions,
  ...simulateActions,
  ...gaadActions,
}

/**
 * IAM refuses two kinds of temporary credentials outright: federated user sessions (GetFederationToken) and
 * GetSessionToken sessions without MFA (podtrust verifies no MFA device, so all of them). STS API reference:
 * "You cannot call any IAM API operations unless MFA authentication information is included in the request"
 * (GetSessionToken) and "You cannot call any IAM operations" (GetFederationToken). AWS answers
 * InvalidClientTokenId, its message without the final period STS's carries (as IAM's XML shows it, e.g.
 * https://github.com/aws/aws-cli/issues/8918).
 */
export const IAM_SESSION_REFUSED_MESSAGE = 'The security token included in the request is invalid'

function closedToSessionsWithoutIam(
  actions: Record<string, QueryHandler>,
): Record<string, QueryHandler> {
  const out: Record<string, QueryHandler> = {}
  for (const [name, handler] of Object.entries(actions)) {
    out[name] = async (request, ctx) => {
      const caller = request.caller
      if (caller?.type === 'FederatedUser' || caller?.federatedFromUser === true)
        throw new AwsError('InvalidClientTokenId', IAM_SESSION_REFUSED_MESSAGE)
      return handler(request, ctx)
    }
  }
  return out
}

export const iamService: QueryService = {
  signingName: 'iam',
  version: IAM_VERSION,
  xmlns: IAM_XMLNS,
  actions: closedToSessionsWithoutIam(iamActions),
  eventSource: 'iam.amazonaws.com',
  globalService: true,
}
