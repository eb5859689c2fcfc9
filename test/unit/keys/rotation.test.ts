import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import { KeyError } from '../../../src/keys/errors.ts'
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  listSigningKeys,
  publishedKeys,
  rotateSigningKey,
} from '../../../src/keys/store.ts'
import { TokenError } from '../../../src/tokens/errors.ts'
import { ensureIssuer } from '../../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../../src/tokens/mint.ts'
import { createTokenVerifier } from '../../../src/tokens/verify.ts'
import { tempDb } from '../tokens/helpers.ts'

const t0 = new Date('2026-05-01T00:00:00Z')
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000)

void describe('signing key rotation', () => {
  void it('publishes before signing and keeps the old key until its tokens expire', async () => {
    const t = await tempDb()
    try {
      const issuer = await ensureIssuer(t.db, 'default', { now: t0 })
      const mint = (now: Date, exp = 3600) =>
        mintServiceAccountToken(t.db, {
          namespace: 'ns',
          serviceAccount: 'sa',
          audiences: ['a'],
          expirationSeconds: exp,
          now,
        })
      const kidOf = (tok: string) => decodeProtectedHeader(tok).kid
      const oldToken = await mint(at(0), MAX_TOKEN_LIFETIME_SECONDS)
      const oldKid = kidOf(oldToken)
      const { key, retiring } = await rotateSigningKey(t.db, 'default', {
        now: at(10),
        activationDelaySeconds: 60,
      })
      assert.notEqual(key.kid, oldKid)
      assert.deepEqual(
        retiring.map((k) => k.kid),
        [oldKid],
      )
      // Published at once, both keys in the JWKS.
      const jwks = (await publishedKeys(t.db, 'default', at(11))).map((k) => k.kid)
      assert.deepEqual(new Set(jwks), new Set([oldKid, key.kid]))
      // Not signing yet: before activation the old key still signs.
      assert.equal(kidOf(await mint(at(69))), oldKid)
      // After activation the new key signs.
      const newToken = await mint(at(70))
      assert.equal(kidOf(newToken), key.kid)
      // The longest-lived token signed by the old key just before activation stays verifiable to its end.
      const lastOld = await mint(at(69), MAX_TOKEN_LIFETIME_SECONDS)
      const verifier = createTokenVerifier({ db: t.db, now: () => at(0) })
      const endOfLastOld = at(69 + MAX_TOKEN_LIFETIME_SECONDS - 1)
      await verifier.verify(lastOld, { issuer: issuer.url, now: endOfLastOld })
      await verifier.verify(oldToken, {
        issuer: issuer.url,
        now: at(MAX_TOKEN_LIFETIME_SECONDS - 1),
      })
      // Once past its expiry, the old key leaves the JWKS; the new one stays.
      const gone = at(70 + MAX_TOKEN_LIFETIME_SECONDS + 301)
      assert.deepEqual(
        (await publishedKeys(t.db, 'default', gone)).map((k) => k.kid),
        [key.kid],
      )
      await assert.rejects(
        verifier.verify(lastOld, { issuer: issuer.url, now: gone, clockToleranceSec: 10 ** 6 }),
        (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_KEY_NOT_FOUND',
      )
      // A second rotation prunes keys already past expiry.
      await rotateSigningKey(t.db, 'default', { now: gone, activationDelaySeconds: 0 })
      const kids = (await listSigningKeys(t.db, 'default')).map((k) => k.kid)
      assert.ok(!kids.includes(oldKid!))
      assert.equal(kids.length, 2)
    } finally {
      await t.cleanup()
    }
  })

  void it('keeps issuers independent and validates the delay', async () => {
    const t = await tempDb()
    try {
      await ensureIssuer(t.db, 'default', { now: t0 })
      await ensureIssuer(t.db, 'cluster:a', { now: t0 })
      await rotateSigningKey(t.db, 'cluster:a', { now: t0 })
      assert.equal((await listSigningKeys(t.db, 'default')).length, 1)
      assert.equal((await listSigningKeys(t.db, 'cluster:a')).length, 2)
      for (const d of [-1, 1.5, 86_401]) {
        await assert.rejects(
          rotateSigningKey(t.db, 'default', { now: t0, activationDelaySeconds: d }),
          KeyError,
        )
      }
      const es = await rotateSigningKey(t.db, 'default', {
        now: t0,
        activationDelaySeconds: 0,
        alg: 'ES256',
      })
      const tok = await mintServiceAccountToken(t.db, {
        namespace: 'n',
        serviceAccount: 's',
        audiences: ['a'],
        now: at(1),
      })
      assert.equal(decodeProtectedHeader(tok).alg, 'ES256')
      assert.equal(decodeProtectedHeader(tok).kid, es.key.kid)
    } finally {
      await t.cleanup()
    }
  })
})
