/** Instance declarations: identifiers, DbiResourceIds, endpoints and backend URLs as RDS shapes them. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseConfig } from '../../../src/server/config.ts'
import {
  dbUserArn,
  newResourceId,
  normalizeEndpoint,
  parseBackendUrl,
  redactUrl,
  validateInstance,
} from '../../../src/dbproxy/instances.ts'
import { backendPassword } from '../../../src/dbproxy/server.ts'

const base = {
  name: 'orders',
  resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  engine: 'postgres' as const,
  endpoint: 'Orders.DB.local:5432',
  backend: 'postgres://app:s3cret@10.0.0.5:5432/orders',
}

void describe('database instances', () => {
  void it('validates and normalizes', () => {
    const i = validateInstance({ ...base, iamUsers: ['app', 'app'] })
    assert.equal(i.endpoint, 'orders.db.local:5432')
    assert.deepEqual(i.iamUsers, ['app'])
    assert.match(newResourceId(), /^db-[A-Z2-7]{26}$/)
    assert.equal(
      dbUserArn('us-east-1', '111122223333', i.resourceId, 'app'),
      'arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ/app',
    )
    assert.equal(normalizeEndpoint('[::1]:6432'), '[::1]:6432')
  })

  void it('refuses bad identifiers, resource ids, endpoints, engines and password sources', () => {
    assert.throws(() => validateInstance({ ...base, name: '1abc' }), /identifier/)
    assert.throws(() => validateInstance({ ...base, resourceId: 'rds-123' }), /DbiResourceId/)
    assert.throws(() => validateInstance({ ...base, resourceId: 'db-has space' }), /DbiResourceId/)
    // The IAM docs' example id is shorter than the 26 characters RDS issues: accepted.
    assert.equal(
      validateInstance({ ...base, resourceId: 'db-ABCDEFGHIJKL01234' }).resourceId,
      'db-ABCDEFGHIJKL01234',
    )
    assert.throws(() => validateInstance({ ...base, endpoint: 'no-port' }), /endpoint/)
    assert.throws(() => validateInstance({ ...base, endpoint: 'h:70000' }), /endpoint/)
    assert.throws(() => validateInstance({ ...base, backend: 'redis://x' }), /not supported/)
    assert.throws(() => validateInstance({ ...base, engine: 'mysql' }), /does not match/)
    assert.throws(() => validateInstance({ ...base, backendPasswords: { app: {} } }), /exactly one/)
  })

  void it('parses backend URLs, redacts passwords, resolves backend passwords', () => {
    const u = parseBackendUrl('postgres://app:p%40ss@db:6543/orders?sslmode=verify-full')
    assert.deepEqual(u, {
      engine: 'postgres',
      user: 'app',
      password: 'p@ss',
      host: 'db',
      port: 6543,
      database: 'orders',
      sslMode: 'verify-full',
    })
    assert.equal(parseBackendUrl('mysql://root@127.0.0.1/test').port, 3306)
    assert.equal(redactUrl(base.backend), 'postgres://app:***@10.0.0.5:5432/orders')
    const i = validateInstance({ ...base, backendPasswords: { other: { env: 'OTHER_PW' } } })
    assert.equal(backendPassword(i, 'app', {}), 's3cret')
    assert.equal(backendPassword(i, 'other', { OTHER_PW: 'x' }), 'x')
    assert.equal(backendPassword(i, 'third', {}), undefined)
  })

  void it('the databases: config section validates each entry', () => {
    const ok = parseConfig(
      'databases:\n  - identifier: orders\n    endpoint: 127.0.0.1:5433\n    backend: postgres://app@127.0.0.1:5432/orders\n    iamUsers: [app]\n',
    )
    assert.equal(ok.sections[0]?.section.key, 'databases')
    assert.throws(
      () => parseConfig('databases:\n  - identifier: orders\n    backend: postgres://a@h/d\n'),
      /databases\[0\]\.endpoint: is required/,
    )
    assert.throws(
      () =>
        parseConfig(
          'databases:\n  - identifier: orders\n    endpoint: h:1\n    backend: postgres://a@h/d\n    color: red\n',
        ),
      /databases\[0\]\.color: unknown key/,
    )
  })
})
