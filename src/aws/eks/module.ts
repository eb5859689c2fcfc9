/**
 * @module aws/eks/module
 * The EKS protocol module: registered clusters (ListClusters, DescribeCluster) and pod identity associations,
 * restJson1 under `/clusters`, SigV4 service `eks`, each operation authorized as `eks:<Operation>`.
 */
import { authenticateRequest } from '../../identity/auth.ts'
import type { Caller } from '../../identity/types.ts'
import type { ProtocolModule } from '../../server/module.ts'
import { eksDepsFromContext } from '../eks-auth/wiring.ts'
import { authorizeCaller } from './authorize-caller.ts'
import { mountEksRoutes } from './routes.ts'

export const eksModule: ProtocolModule = {
  name: 'eks',
  mount(app, ctx) {
    const deps = eksDepsFromContext(ctx)
    mountEksRoutes(app, {
      // The listener's URL is known only after mount: read it per request.
      eks: () => ({ ...deps, endpoint: ctx.settings.baseUrl }),
      randomBytes: ctx.randomBytes,
      authenticate: (request) => authenticateRequest(ctx, request, { service: 'eks' }),
      authorize: (caller, action, resource) =>
        authorizeCaller(ctx, caller as Caller, action, resource),
      log: (event, fields) => ctx.log.warn(event, fields),
    })
  },
}
