/**
 * @module aws/iam/module
 * IAM's protocol module: it mounts no routes of its own (the awsQuery front door serves IAM at `/`). Mounting
 * registers the IAM actions with the query registry and, once per process, a startup hook that creates the
 * bootstrap administrator (`podtrust-admin`, AdministratorAccess, one access key) in the server's account,
 * idempotently, before the listeners accept requests.
 */
import type { ProtocolModule } from '../../server/module.ts'
import { startupHooks, type StartupHook } from '../../server/start.ts'
import { ensureBootstrapAdmin } from './bootstrap.ts'
import { registerIamService } from './service.ts'

const bootstrapHook: StartupHook = async (ctx) => {
  await ensureBootstrapAdmin(ctx.db, {
    accountId: ctx.settings.accountId,
    now: ctx.now(),
    randomBytes: ctx.randomBytes,
  })
}

export const iamModule: ProtocolModule = {
  name: 'iam',
  mount() {
    registerIamService()
    if (!startupHooks.includes(bootstrapHook)) startupHooks.push(bootstrapHook)
  },
}

export default iamModule
