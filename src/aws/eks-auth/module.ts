/**
 * @module aws/eks-auth/module
 * The EKS Auth protocol module: `POST /clusters/{name}/assume-role-for-pod-identity`, SigV4 service
 * `eks-auth`, authorized as `eks-auth:AssumeRoleForPodIdentity` on the cluster.
 */
import { authenticateRequest } from '../sigv4/authenticate.ts'
import type { ProtocolModule } from '../../server/module.ts'
import { mountEksAuthRoutes } from './routes.ts'
import { podIdentityDepsFromContext } from './wiring.ts'

export const eksAuthModule: ProtocolModule = {
  name: 'eks-auth',
  mount(app, ctx) {
    const deps = podIdentityDepsFromContext(ctx)
    mountEksAuthRoutes(app, {
      deps: () => deps,
      randomBytes: ctx.randomBytes,
      authenticate: (request) => authenticateRequest(ctx, request, { service: 'eks-auth' }),
      log: (event, fields) => ctx.log.warn(event, fields),
    })
  },
}
