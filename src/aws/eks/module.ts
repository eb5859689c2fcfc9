/**
 * @module aws/eks/module
 * The EKS protocol module: registered clusters (ListClusters, DescribeCluster) and pod identity associations,
 * restJson1 under `/clusters`, SigV4 service `eks`, each operation authorized as `eks:<Operation>` and
 * audited (src/aws/eks/audit.ts).
 */
import { authenticateRequest } from '../sigv4/authenticate.ts'
import type { Caller } from '../../identity/types.ts'
import type { ProtocolModule } from '../../server/module.ts'
import { eksDepsFromContext } from '../eks-auth/wiring.ts'
import { auditedAuthenticate, eksAuditMiddleware } from './audit.ts'
import { authorizeCaller } from './authorize-caller.ts'
import { mountEksRoutes } from './routes.ts'

export const eksModule: ProtocolModule = {
  name: 'eks',
  mount(app, ctx) {
    const deps = eksDepsFromContext(ctx)
    // Every EKS call leaves a CloudTrail event in ctx.audit, as STS, IAM and EKS Auth calls do.
    app.use(
      '/clusters/*',
      eksAuditMiddleware({
        now: ctx.now,
        randomBytes: ctx.randomBytes,
        region: ctx.settings.region,
        record: (event) => ctx.audit.record(event),
        log: (event, fields) => ctx.log.error(event, fields),
      }),
    )
    mountEksRoutes(app, {
      // The listener's URL is known only after mount: read it per request.
      eks: () => ({ ...deps, endpoint: ctx.settings.baseUrl }),
      randomBytes: ctx.randomBytes,
      authenticate: auditedAuthenticate((request) =>
        authenticateRequest(ctx, request, { service: 'eks' }),
      ),
      authorize: (caller, action, resource) =>
        authorizeCaller(ctx, caller as Caller, action, resource),
      log: (event, fields) => ctx.log.warn(event, fields),
    })
  },
}
