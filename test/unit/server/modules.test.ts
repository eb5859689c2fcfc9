/**
 * The composition root's lists come from what the modules export: every table, config section, start-up
 * hook and admin-credential provider once, in order, and every app instance gets its own modules (no
 * module-level registries).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  appConfigSections,
  appMigrations,
  collectAdminCredentials,
  collectMigrations,
  collectStartupHooks,
  createProtocolModules,
} from '../../../src/server/modules.ts'
import { iamMigrations } from '../../../src/aws/iam/migrations.ts'
import type { ProtocolModule } from '../../../src/app/module.ts'

void describe('server/modules: the lists assembled from the modules', () => {
  void it('runs every migration once: platform first, then each module, then the session keyring', () => {
    const ids = appMigrations.map((m) => m.id)
    assert.equal(new Set(ids).size, ids.length, 'ids are unique')
    for (const prefix of [
      'keys-',
      'tokens-',
      'audit-',
      'iam-',
      'eks-',
      'azure-',
      'gcp-',
      'gateway-',
    ])
      assert.ok(
        ids.some((id) => id.startsWith(prefix)),
        prefix,
      )
    assert.equal(ids.at(-1), 'identity-0001-session-keys')
    assert.ok(ids.indexOf(iamMigrations[0]!.id) > ids.findIndex((id) => id.startsWith('audit-')))
  })

  void it('applies config sections in dependency order (accounts before what lives in them)', () => {
    assert.deepEqual(
      appConfigSections.map((s) => s.key),
      [
        'issuers',
        'accounts',
        'policies',
        'oidcProviders',
        'users',
        'groups',
        'roles',
        'clusters',
        'podIdentityAssociations',
        'azure',
        'gcp',
        'gateway',
        'databases',
      ],
    )
  })

  void it('collects hooks and admin providers from the modules that export them', () => {
    const modules = createProtocolModules()
    assert.equal(collectStartupHooks(modules).length, 1, "IAM's bootstrap administrator")
    assert.equal(collectAdminCredentials(modules).length, 1)
    const extra: ProtocolModule = {
      name: 'extra',
      migrations: [{ id: 'extra-0001', sql: [] }],
      startupHooks: [async () => {}],
    }
    assert.equal(collectStartupHooks([...modules, extra]).length, 2)
    assert.equal(collectMigrations([extra]).filter((m) => m.id === 'extra-0001').length, 1)
  })

  void it('gives every app instance its own modules; the awsQuery front door mounts last', () => {
    const a = createProtocolModules()
    const b = createProtocolModules()
    assert.deepEqual(
      a.map((m) => m.name),
      ['iam', 'eks-auth', 'eks', 'azure', 'gcp', 'gateway', 'dbproxy', 'setup', 'aws-query'],
    )
    assert.notEqual(a.at(-1), b.at(-1), 'one awsQuery module (and service table) per app')
  })
})
