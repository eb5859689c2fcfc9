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

/**
 * IAM's module for one app instance. Its start-up hook creates the administrator idempotently; its
 * credential provider shows the key's secret only when this instance's start created the key — later
 * starts print how to get it, never the secret itself.
 */
export function createIamModule(): ProtocolModule {
  let createdAtStart = false
  const bootstrapHook: StartupHook = async (ctx) => {
    const admin = await ensureBootstrapAdmin(ctx.db, {
      accountId: ctx.settings.accountId,
      now: ctx.now(),
      randomBytes: ctx.randomBytes,
    })
    if (admin.created === true) createdAtStart = true
  }
  const bootstrapCredentials: AdminCredentialProvider = async (ctx) => {
    const admin = await getBootstrapAdmin(ctx.db, ctx.settings.accountId)
    if (admin === undefined) return undefined
    return createdAtStart
      ? { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }
      : { accessKeyId: admin.accessKeyId }
  }
  return {
    name: 'iam',
    migrations: iamMigrations,
    configSections: iamConfigSections,
    startupHooks: [bootstrapHook],
    adminCredentials: bootstrapCredentials,
  }
}
