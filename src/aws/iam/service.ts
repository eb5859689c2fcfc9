/**
 * @module aws/iam/service
 * IAM (`iam`, 2010-05-08) for the awsQuery registry (`registerIamService`, called by `iamModule`). The
 * dispatcher authenticates (SigV4), routes by `Action`, renders XML and records the audit event; every
 * handler authorizes its action with the policy engine.
 */
import { registerQueryService, type QueryHandler, type QueryService } from '../query/registry.ts'
import { gaadActions } from './actions-gaad.ts'
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
  ...gaadActions,
}

export const iamService: QueryService = {
  signingName: 'iam',
  version: IAM_VERSION,
  xmlns: IAM_XMLNS,
  actions: iamActions,
  eventSource: 'iam.amazonaws.com',
}

/** Registers IAM with the awsQuery registry (idempotent: the same service object). */
export function registerIamService(): void {
  registerQueryService(iamService)
}
