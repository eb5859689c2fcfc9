/**
 * @module aws/iam/module
 * IAM's protocol module. It mounts no routes of its own (the awsQuery front door serves IAM's `iamService`
 * at `/`, assembled by the composition root); it exports its tables, its config sections, a start-up hook
 * that creates the bootstrap administrator (`podtrust-admin`, AdministratorAccess, one access key) in the
 * server's account, idempotently, before the listeners accept requests, and the provider through which
 * `podtrust up` prints that administrator's active key.
 */
import type { AdminCredentialProvider, ProtocolModule, StartupHook } from '../../app/module.ts'
import { ensureBootstrapAdmin, getBootstrapAdmin } from './bootstrap.ts'
import { iamConfigSections } from './config.ts'
import { iamMigrations } from './migrations.ts'

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
  migrations: iamMigrations,
  configSections: iamConfigSections,
  startupHooks: [bootstrapHook],
  adminCredentials: bootstrapCredentials,
}

export default iamModule
