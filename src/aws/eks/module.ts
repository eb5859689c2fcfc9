/**
 * @module aws/eks/module
 * The EKS protocol module: registered clusters (ListClusters, DescribeCluster) and pod identity associations,
 * restJson1 under `/clusters`, SigV4 service `eks`, each operation authorized as `eks:<Operation>` by the
 * one authorizer with the complete request context, and audited (src/aws/eks/audit.ts). It exports its
 * tables and config sections for the composition root.
 */
import type { ProtocolModule } from '../../app/module.ts'
import { authenticate } from '../sigv4/authenticate.ts'
import type { Caller } from '../../identity/types.ts'
import { auditedAuthenticate, eksAuditMiddleware } from './audit.ts'
import { authorizeCaller } from './authorize-caller.ts'
import { clustersSection, podIdentityAssociationsSection } from './config.ts'
import { eksDepsFromContext } from './deps.ts'
import { eksMigrations } from './migrations.ts'
import { mountEksRoutes } from './routes.ts'

export const eksModule: ProtocolModule = {
  name: 'eks',
  migrations: eksMigrations,
  configSections: [clustersSection, podIdentityAssociationsSection],
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
        authenticate(ctx, request, { service: 'eks', configuredRegion: ctx.settings.region }),
      ),
      authorize: (caller, action, resource, context) =>
        authorizeCaller(ctx, caller as Caller, action, resource, context),
      log: (event, fields) => ctx.log.warn(event, fields),
    })
  },
}
