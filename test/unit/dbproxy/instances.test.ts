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

  void it('a backend host that is a directory is a Unix socket, as in libpq', () => {
    const encoded = parseBackendUrl('postgres://app@%2Fvar%2Frun%2Fpostgresql:5433/orders')
    assert.equal(encoded.socketPath, '/var/run/postgresql/.s.PGSQL.5433')
    assert.equal(encoded.host, '/var/run/postgresql')
    assert.equal(encoded.database, 'orders')
    assert.equal(encoded.sslMode, 'disable')
    const param = parseBackendUrl('postgresql:///orders?host=/tmp/pg/&port=6000')
    assert.equal(param.socketPath, '/tmp/pg/.s.PGSQL.6000')
    assert.equal(parseBackendUrl('postgres:///d?host=/run/pg').socketPath, '/run/pg/.s.PGSQL.5432')
    // A TCP host has no socket path; an empty host without a directory is still an error.
    assert.equal(parseBackendUrl('postgres://app@db:5432/orders').socketPath, undefined)
    assert.throws(() => parseBackendUrl('postgres:///orders'), /no host/)
    assert.throws(() => parseBackendUrl('postgres:///orders?host=db'), /no host/)
    // PostgreSQL refuses TLS on a Unix socket: a TLS mode there is refused instead of silently dropped.
    assert.throws(
      () => parseBackendUrl('postgres://app@%2Ftmp:5432/orders?sslmode=verify-full'),
      /cannot apply to a Unix socket/,
    )
    assert.throws(() => parseBackendUrl('mysql://root@%2Ftmp/test'), /PostgreSQL only/)
    assert.throws(() => parseBackendUrl('postgres://app@%2F%E0%A4%A:5432/d'), /not a valid socket/)
    assert.throws(() => parseBackendUrl('postgres:///d?host=/run/pg&port=99999'), /not a port/)
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
