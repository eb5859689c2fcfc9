/**
 * `podtrust up`'s SQLite durability setting: `--sqlite-sync full|normal` or $PODTRUST_SQLITE_SYNC (the flag
 * wins), the store's default (FULL) when neither is set, and a usage error naming its source otherwise.
 * SQLite's meaning of the two levels in WAL mode: https://www.sqlite.org/pragma.html#pragma_synchronous
 */
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { UsageError } from '../../../src/errors.ts'
import { serverFlagSettings } from '../../../src/cli/server-flags.ts'
import type { CliIo } from '../../../src/cli/command.ts'

const io = (env: NodeJS.ProcessEnv = {}): CliIo => ({
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  env,
  cwd: '/',
})

void describe('up --sqlite-sync', () => {
  void it('defaults to the store default, reads the flag or the environment, the flag first', () => {
    assert.equal(serverFlagSettings({}, io()).sqliteSynchronous, undefined)
    assert.equal(serverFlagSettings({ 'sqlite-sync': 'normal' }, io()).sqliteSynchronous, 'NORMAL')
    assert.equal(serverFlagSettings({ 'sqlite-sync': 'FULL' }, io()).sqliteSynchronous, 'FULL')
    assert.equal(
      serverFlagSettings({}, io({ PODTRUST_SQLITE_SYNC: 'normal' })).sqliteSynchronous,
      'NORMAL',
    )
    assert.equal(
      serverFlagSettings({ 'sqlite-sync': 'full' }, io({ PODTRUST_SQLITE_SYNC: 'normal' }))
        .sqliteSynchronous,
      'FULL',
    )
  })
  void it('refuses other levels (OFF would lose committed events), naming the flag or the variable', () => {
    assert.throws(
      () => serverFlagSettings({ 'sqlite-sync': 'off' }, io()),
      (e: unknown) =>
        e instanceof UsageError && /--sqlite-sync must be full or normal/.test(e.message),
    )
    assert.throws(
      () => serverFlagSettings({}, io({ PODTRUST_SQLITE_SYNC: 'extra' })),
      (e: unknown) =>
        e instanceof UsageError && /\$PODTRUST_SQLITE_SYNC must be full or normal/.test(e.message),
    )
  })
})
