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
import { iamConfigSections } from './config-sections.ts'
import { iamMigrations } from './migrations.ts'

/** Servers whose start created the administrator's key: only they show its secret, once. */
const createdAtStart = new WeakSet<object>()

const bootstrapHook: StartupHook = async (ctx) => {
  const admin = await ensureBootstrapAdmin(ctx.db, {
    accountId: ctx.settings.accountId,
    now: ctx.now(),
    randomBytes: ctx.randomBytes,
  })
  if (admin.created === true) createdAtStart.add(ctx)
}

/**
 * The bootstrap administrator's active key in the server's account (none once its keys are removed); the
 * secret only when this start created the key — later starts print how to get it, never the secret itself.
 */
const bootstrapCredentials: AdminCredentialProvider = async (ctx) => {
  const admin = await getBootstrapAdmin(ctx.db, ctx.settings.accountId)
  if (admin === undefined) return undefined
  return createdAtStart.has(ctx)
    ? { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }
    : { accessKeyId: admin.accessKeyId }
}

export const iamModule: ProtocolModule = {
  name: 'iam',
  migrations: iamMigrations,
  configSections: iamConfigSections,
  startupHooks: [bootstrapHook],
  adminCredentials: bootstrapCredentials,
}

export default iamModule
