/**
 * The PostgreSQL engine survives its connections being killed (pg_terminate_backend, as a failover, a
 * restart or a pooler recycle does): a backend terminated while its client is checked out for a transaction
 * (between two statements, so no query is active to receive the error) must not emit an unhandled 'error'
 * and crash the process; the transaction rejects with STORE_UNAVAILABLE, the broken client is discarded, and
 * the next statement succeeds on a fresh connection. Pool settings reach the server.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { StoreError, isStoreUnavailable } from '../../../src/store/errors.ts'
import { isConnectionFailure } from '../../../src/store/postgres.ts'
import { openTestDb, postgresSkipReason, postgresUrl } from './engines.ts'

const skip = await postgresSkipReason()

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
  } finally {
    await admin.end()
  }
}

void describe('PostgreSQL connection loss', () => {
  void it(
    'a backend killed mid-transaction: STORE_UNAVAILABLE, no crash, next query works',
    skip === undefined ? {} : { skip },
    async () => {
      const t = await openTestDb('postgres')
      const uncaught: unknown[] = []
      const onUncaught = (err: unknown): void => void uncaught.push(err)
      process.on('uncaughtException', onUncaught)
      try {
        await t.db.run('CREATE TABLE resilience (id INTEGER PRIMARY KEY)')
        const attempt = t.db.transaction(async (tx) => {
          const row = await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid')
          await tx.run('INSERT INTO resilience (id) VALUES (1)')
          await terminate(Number(row!.pid))
          // The 'error' event arrives while no statement is active on this checked-out client.
          await new Promise((r) => setTimeout(r, 300))
          await tx.run('INSERT INTO resilience (id) VALUES (2)')
        })
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(err instanceof StoreError, String(err))
          assert.equal(err.code, 'STORE_UNAVAILABLE')
          return true
        })
        assert.deepEqual(uncaught, [])
        // The pool discarded the broken client; the rolled-back insert is not there.
        const rows = await t.db.all('SELECT id FROM resilience')
        assert.deepEqual(rows, [])
        await t.db.insertMany('INSERT INTO resilience (id) VALUES (?)', [[3]])
        assert.deepEqual(await t.db.all('SELECT id FROM resilience'), [{ id: 3 }])
      } finally {
        process.off('uncaughtException', onUncaught)
        await t.cleanup()
      }
    },
  )

  void it(
    'statement timeout and application_name are applied to every connection',
    skip === undefined ? {} : { skip },
    async () => {
      const t = await openTestDb('postgres', {})
      try {
        const row = await t.db.get<{ app: string; timeout: string }>(
          "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS timeout",
        )
        assert.equal(row?.app, 'podtrust')
        assert.equal(row?.timeout, '30s')
      } finally {
        await t.cleanup()
      }
    },
  )

  void it('classifies connection-class failures only', () => {
    for (const e of [
      Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    ])
      assert.equal(isConnectionFailure(e), true, e.message)
    for (const e of [
      Object.assign(new Error('duplicate key'), { code: '23505' }),
      Object.assign(new Error('syntax error'), { code: '42601' }),
      new Error('something else'),
    ])
      assert.equal(isConnectionFailure(e), false, e.message)
    assert.equal(isStoreUnavailable(new StoreError('STORE_UNAVAILABLE', 'x')), true)
    assert.equal(
      isStoreUnavailable(new Error('x', { cause: new StoreError('STORE_UNAVAILABLE', 'x') })),
      true,
    )
    assert.equal(isStoreUnavailable(new StoreError('STORE_WRITE_FAILED', 'x')), false)
  })
})
