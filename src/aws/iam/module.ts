/**
 * @module aws/iam/module
 * IAM's protocol module: it mounts no routes of its own (the awsQuery front door serves IAM at `/`); mounting
 * registers the IAM actions with the query registry, so the server's module list wires IAM in one entry.
 */
import type { ProtocolModule } from '../../server/module.ts'
import { registerIamService } from './service.ts'

export const iamModule: ProtocolModule = {
  name: 'iam',
  mount() {
    registerIamService()
  },
}

export default iamModule
