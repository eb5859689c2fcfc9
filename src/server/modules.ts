/**
 * @module server/modules
 * The composition root's lists, assembled from what each module exports (`ProtocolModule`,
 * src/app/module.ts): the protocol modules in mount order, the migrations, the config sections, the
 * start-up hooks and the administrator-credential providers. Nothing registers itself anywhere: a module
 * joins the app by one entry here. Mount order: REST modules first, the awsQuery front door LAST (it takes
 * every remaining form POST). The platform's own parts (signing keys, issuers, audit, the session keyring)
 * own tables and config too and come first, as they did before the modules.
 */
import type { ProtocolModule, StartupHook, AdminCredentialProvider } from '../app/module.ts'
import { auditMigrations } from '../audit/migrations.ts'
import { certsMigrations } from '../certs/migrations.ts'
import { eksAuthModule } from '../aws/eks-auth/module.ts'
import { eksModule } from '../aws/eks/module.ts'
import { createIamModule } from '../aws/iam/module.ts'
import { iamService } from '../aws/iam/service.ts'
import { createAwsQueryModule } from '../aws/query/module.ts'
import { stsService } from '../aws/sts/service.ts'
import { azureModule } from '../azure/module.ts'
import type { ConfigSection } from '../config/section.ts'
import { gcpModule } from '../gcp/module.ts'
import { gatewayModule } from '../gateway/module.ts'
import { dbproxyModule } from '../dbproxy/module.ts'
import { setupModule } from '../setup/module.ts'
import { keysMigrations } from '../keys/migrations.ts'
import { sessionKeyMigrations } from '../keys/session-keys.ts'
import type { Migration } from '../store/db.ts'
import { issuersSection } from '../tokens/config.ts'
import { tokensMigrations } from '../tokens/migrations.ts'

/**
 * The protocol modules of one app, in mount order (IAM first: its config holds the accounts); fresh for each
 * app instance, so what a module remembers (IAM: whether this start created the admin key) is its own.
 */
export function createProtocolModules(): ProtocolModule[] {
  return [
    createIamModule(),
    eksAuthModule,
    eksModule,
    azureModule,
    gcpModule,
    gatewayModule,
    dbproxyModule,
    setupModule,
    // The awsQuery services (STS, IAM) behind one front door, mounted last.
    createAwsQueryModule([stsService, iamService]),
  ]
}

export const protocolModules: readonly ProtocolModule[] = createProtocolModules()

/** Every migration, in run order: the platform's, then each module's, then the session keyring's. */
export function collectMigrations(modules: readonly ProtocolModule[]): Migration[] {
  return [
    ...keysMigrations,
    ...tokensMigrations,
    ...auditMigrations,
    ...certsMigrations,
    ...modules.flatMap((m) => m.migrations ?? []),
    ...sessionKeyMigrations,
  ]
}

/** Every config section, in apply order: issuers, then each module's (accounts before what lives in them). */
export function collectConfigSections(modules: readonly ProtocolModule[]): ConfigSection[] {
  return [issuersSection as ConfigSection, ...modules.flatMap((m) => m.configSections ?? [])]
}

export function collectStartupHooks(modules: readonly ProtocolModule[]): StartupHook[] {
  return modules.flatMap((m) => m.startupHooks ?? [])
}

export function collectAdminCredentials(
  modules: readonly ProtocolModule[],
): AdminCredentialProvider[] {
  return modules.flatMap((m) => (m.adminCredentials === undefined ? [] : [m.adminCredentials]))
}

/** The app's migrations (what `openDb` in src/server/store.ts runs). */
export const appMigrations: readonly Migration[] = collectMigrations(protocolModules)

/** The app's config sections (what `podtrust apply` / `export` and config files at start use). */
export const appConfigSections: readonly ConfigSection[] = collectConfigSections(protocolModules)
