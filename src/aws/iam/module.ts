/**
 * @module aws/iam/module
 * IAM's protocol module: it mounts no routes of its own (the awsQuery front door serves IAM at `/`). Mounting
 * registers the IAM actions with the query registry and, once per process, a startup hook that creates the
 * bootstrap administrator (`podtrust-admin`, AdministratorAccess, one access key) in the server's account,
 * idempotently, before the listeners accept requests; and the provider through which `podtrust up` prints
 * that administrator's active key (src/cli/up-env.ts).
 */
import { adminCredentialProviders, type AdminCredentialProvider } from '../../cli/up-env.ts'
import type { ProtocolModule } from '../../server/module.ts'
import { startupHooks, type StartupHook } from '../../server/start.ts'
import { ensureBootstrapAdmin, getBootstrapAdmin } from './bootstrap.ts'
import { registerIamService } from './service.ts'

const bootstrapHook: StartupHook = async (ctx) => {
  await ensureBootstrapAdmin(ctx.db, {
    accountId: ctx.settings.accountId,
    now: ctx.now(),
    randomBytes: ctx.randomBytes,
  })
}

/** The bootstrap administrator's active key in the server's account (none once its keys are removed). */
const bootstrapCredentials: AdminCredentialProvider = async (ctx) => {
  const admin = await getBootstrapAdmin(ctx.db, ctx.settings.accountId)
  return admin === undefined
    ? undefined
    : { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }
}

export const iamModule: ProtocolModule = {
  name: 'iam',
  mount() {
    registerIamService()
    if (!startupHooks.includes(bootstrapHook)) startupHooks.push(bootstrapHook)
    if (!adminCredentialProviders.includes(bootstrapCredentials))
      adminCredentialProviders.push(bootstrapCredentials)
  },
}

export default iamModule
