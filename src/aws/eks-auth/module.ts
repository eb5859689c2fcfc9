/**
 * @module aws/eks-auth/module
 * The EKS Auth protocol module: `POST /clusters/{name}/assume-role-for-pod-identity`, SigV4 service
 * `eks-auth`, the caller authorized as `eks-auth:AssumeRoleForPodIdentity` on the cluster by the one
 * authorizer with the complete request context. Its tables are the EKS module's.
 */
import type { ProtocolModule } from '../../app/module.ts'
import { authenticate } from '../sigv4/authenticate.ts'
import { mountEksAuthRoutes } from './routes.ts'
import { callerAuthorizer, podIdentityDepsFromContext } from './wiring.ts'

export const eksAuthModule: ProtocolModule = {
  name: 'eks-auth',
  mount(app, ctx) {
    // Built once; only the caller's authorization is bound per request (to the request's facts).
    const base = podIdentityDepsFromContext(ctx)
    mountEksAuthRoutes(app, {
      deps: (request) => ({ ...base, authorizeCaller: callerAuthorizer(ctx, request) }),
      randomBytes: ctx.randomBytes,
      authenticate: (request) =>
        authenticate(ctx, request, { service: 'eks-auth', configuredRegion: ctx.settings.region }),
      log: (event, fields) => ctx.log.warn(event, fields),
    })
  },
}
