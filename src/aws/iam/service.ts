/**
 * @module aws/iam/service
 * IAM (`iam`, 2010-05-08) as an awsQuery service (`iamService`, served by the front door the composition root
 * assembles). The dispatcher authenticates (SigV4, scoped to the global signing region), routes by `Action`,
 * renders XML and records the audit event; every handler authorizes its action with the policy engine.
 * A federated user session (STS GetFederationToken) "cannot call any IAM operations using the CLI or the AWS
 * API" (STS API reference, GetFederationToken); AWS answers such a call as an invalid security token.
 */
import { AwsError } from '../errors.ts'
import { INVALID_TOKEN_MESSAGE } from '../sigv4/authenticate.ts'
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

/** Every IAM action, refusing federated user sessions before the handler runs. */
function closedToFederatedSessions(
  actions: Record<string, QueryHandler>,
): Record<string, QueryHandler> {
  const out: Record<string, QueryHandler> = {}
  for (const [name, handler] of Object.entries(actions)) {
    out[name] = async (request, ctx) => {
      if (request.caller?.type === 'FederatedUser')
        throw new AwsError('InvalidClientTokenId', INVALID_TOKEN_MESSAGE)
      return handler(request, ctx)
    }
  }
  return out
}

export const iamService: QueryService = {
  signingName: 'iam',
  version: IAM_VERSION,
  xmlns: IAM_XMLNS,
  actions: closedToFederatedSessions(iamActions),
  eventSource: 'iam.amazonaws.com',
  globalService: true,
}
