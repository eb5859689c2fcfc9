/**
 * @module server/modules
 * The route table's protocol modules, in mount order: REST modules first, the AWS query module
 * (`src/aws/query/module.ts`) LAST, since it takes every remaining form POST. The issuer's discovery and
 * JWKS routes and /healthz, /readyz, /metrics are mounted by the server itself, before these.
 * Adding a module is one import and one entry, appended in its place.
 */
import type { ProtocolModule } from './module.ts'
import { eksAuthModule } from '../aws/eks-auth/module.ts'
import { eksModule } from '../aws/eks/module.ts'
import { azureModule } from '../azure/module.ts'
import { gcpModule } from '../gcp/module.ts'
import { iamModule } from '../aws/iam/module.ts'
import { awsQueryModule } from '../aws/query/module.ts'

export const protocolModules: ProtocolModule[] = [
  eksAuthModule,
  eksModule,
  azureModule,
  gcpModule,
  iamModule,
  awsQueryModule,
]
