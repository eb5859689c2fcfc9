/**
 * Must-fix: replicas starting at the same moment on one store create exactly one first signing key per
 * issuer (two would both sign, and relying parties caching one JWKS would reject half the tokens). Several
 * store handles race `currentSigningKey` / `ensureIssuer` on a fresh issuer; one key must result.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { currentSigningKey, listSigningKeys } from '../../../src/keys/store.ts'
import { openDb } from '../../../src/server/store.ts'
import { ensureIssuer } from '../../../src/tokens/issuer.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

for (const engine of engines) {
  void describe(`first signing key under concurrent starts (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    void it(
      'one key per issuer, whatever the race',
      skip === undefined ? {} : { skip },
      async () => {
        const t = await openTestDb(engine)
        // PostgreSQL: separate pools, as separate replicas have. SQLite: one handle (separate processes are
        // serialized by BEGIN IMMEDIATE; handles in one process would busy-wait on each other's event loop).
        const others = await Promise.all(
          (engine === 'postgres' ? [1, 2, 3] : []).map(() =>
            openDb({
              dataDir: t.dataDir,
              ...(t.url === undefined ? {} : { url: t.url }),
              ...(t.schema === undefined ? {} : { schema: t.schema }),
            }),
          ),
        )
        try {
          const handles = [t.db, ...others]
          const now = new Date()
          for (const issuer of ['default', 'tenant:race']) {
            const signed = await Promise.all(
              handles.flatMap((db) => [
                currentSigningKey(db, issuer, now),
                ensureIssuer(db, issuer === 'default' ? 'default' : 'cluster:race', { now }).then(
                  () => currentSigningKey(db, issuer, now),
                ),
              ]),
            )
            const keys = await listSigningKeys(t.db, issuer)
            assert.equal(keys.length, 1, `${issuer}: ${keys.length} keys`)
            assert.deepEqual(new Set(signed.map((k) => k.kid)), new Set([keys[0]!.kid]))
          }
        } finally {
          await Promise.all(others.map((db) => db.close()))
          await t.cleanup()
        }
      },
    )
  })
}
