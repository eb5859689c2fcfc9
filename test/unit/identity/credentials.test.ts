import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import { main } from '../../../src/cli/main.ts'
import {
  decodeAccountId,
  encodeAccountId,
  newAccessKeyId,
  newSecretAccessKey,
  openToken,
  sealToken,
  tokenKid,
  type CredentialError,
  type Keyring,
} from '../../../src/identity/credentials.ts'
import { loadKeyring, rotateKeyring, RETIRED_KEY_GRACE_MS } from '../../../src/keys/session-keys.ts'
import { engines, openTestDb, postgresSkipReason } from '../store/engines.ts'

const rnd = (n: number) => new Uint8Array(randomBytes(n))

void test('account id encoding: AWS vector, known accounts round trip, old-style ids undecodable', () => {
  assert.equal(decodeAccountId('ASIAY34FZKBOKMUTVV7A'), '609629065308')
  for (const acct of [
    '000000000000',
    '000000000001',
    '111122223333',
    '123456789012',
    '999999999999',
  ]) {
    for (const prefix of ['ASIA', 'AKIA']) {
      const id = encodeAccountId(prefix, acct, rnd)
      assert.match(id, /^A[SK]IA[A-Z2-7]{16}$/)
      assert.equal(decodeAccountId(id), acct)
    }
    assert.equal(encodeAccountId('AROA', acct, rnd, 17).length, 21)
  }
  assert.equal(decodeAccountId('AKIAIOSFODNN7EXAMPLE'), undefined)
  assert.equal(decodeAccountId('ASIA'), undefined)
  assert.equal(decodeAccountId('ASIA0000000000000000'), undefined)
  assert.throws(
    () => encodeAccountId('ASIA', '12', rnd),
    (e: CredentialError) => e.code === 'ACCOUNT_INVALID',
  )
  // Changing the last characters keeps the account (it is not a lookup).
  const id = newAccessKeyId('temporary', '111122223333', rnd)
  assert.equal(decodeAccountId(`${id.slice(0, 13)}AAAAAAA`), '111122223333')
  assert.equal(newSecretAccessKey(rnd).length, 40)
})

void test('property: any 12-digit account round-trips through ASIA ids', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 999_999_999_999 }), (n) => {
      const acct = String(n).padStart(12, '0')
      assert.equal(decodeAccountId(newAccessKeyId('temporary', acct, rnd)), acct)
    }),
    { numRuns: 300 },
  )
})

const ring: Keyring = (() => {
  const key = {
    kid: 'a1b2c3d4e5f6',
    secret: randomBytes(32),
    createdAt: new Date(0),
    retiredAt: undefined,
  }
  return { active: key, byKid: new Map([[key.kid, key]]) }
})()

/** A token in the earlier PT1 format (whole payload deflated), as sessions sealed before PT2 carry. */
function sealLegacy(payload: unknown): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ring.active.secret, iv)
  cipher.setAAD(Buffer.from(`PT1${ring.active.kid}`))
  const body = Buffer.concat([
    cipher.update(deflateRawSync(Buffer.from(JSON.stringify(payload)))),
    cipher.final(),
  ])
  return `PT1${ring.active.kid}${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')}`
}

void test('sealed tokens: small payloads raw, large ones deflated; PT1 tokens still open', () => {
  const small = { roleArn: 'arn:aws:iam::111122223333:role/r', tags: [] }
  const smallToken = sealToken(ring, small, rnd)
  assert.match(smallToken, /^PT2a1b2c3d4e5f6/)
  assert.deepEqual(openToken(ring, smallToken), small)
  const large = { policy: 'x'.repeat(4000), tags: Array.from({ length: 50 }, (_, i) => `tag-${i}`) }
  const largeToken = sealToken(ring, large, rnd)
  assert.deepEqual(openToken(ring, largeToken), large)
  assert.ok(
    largeToken.length < JSON.stringify(large).length / 2,
    'a repetitive payload is deflated',
  )
  assert.deepEqual(openToken(ring, sealLegacy(small)), small)
  assert.equal(tokenKid(sealLegacy(small)), ring.active.kid)
  // A PT2 body relabelled PT1 (or the reverse) fails authentication: the prefix is additional data.
  assert.throws(
    () => openToken(ring, `PT1${smallToken.slice(3)}`),
    (e: CredentialError) => e.code === 'TOKEN_INVALID',
  )
  assert.throws(
    () => openToken(ring, `PT2${sealLegacy(small).slice(3)}`),
    (e: CredentialError) => e.code === 'TOKEN_INVALID',
  )
})

for (const engine of engines) {
  void test(`keyring in the store (${engine}): seal/open, tamper and truncation rejected, rotation keeps old tokens valid`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresSkipReason()
      if (reason !== undefined) return t.skip(reason)
    }
    const store = await openTestDb(engine)
    const db = store.db
    try {
      const t0 = new Date('2026-11-23T00:00:00Z')
      const ring = await loadKeyring(db, t0, rnd)
      const again = await loadKeyring(db, t0, rnd)
      assert.equal(again.active.kid, ring.active.kid, 'first key persisted, not recreated')
      const token = sealToken(ring, { hello: 'world', n: 1 }, rnd)
      assert.equal(tokenKid(token), ring.active.kid)
      assert.deepEqual(openToken(ring, token), { hello: 'world', n: 1 })
      const flipped = token.slice(0, -6) + (token.at(-6) === 'A' ? 'B' : 'A') + token.slice(-5)
      assert.throws(
        () => openToken(ring, flipped),
        (e: CredentialError) => e.code === 'TOKEN_INVALID',
      )
      assert.throws(
        () => openToken(ring, token.slice(0, 20)),
        (e: CredentialError) => e.code === 'TOKEN_INVALID',
      )
      assert.throws(
        () => openToken(ring, 'FQoGZXIvYXdzEBYaD'),
        (e: CredentialError) => e.code === 'TOKEN_INVALID',
      )
      // A token naming another kid (forged header) does not open.
      assert.throws(
        () => openToken(ring, `PT1${'0'.repeat(12)}${token.slice(15)}`),
        (e: CredentialError) => e.code === 'KEY_NOT_FOUND',
      )

      const newKid = await rotateKeyring(db, new Date(t0.getTime() + 1000), rnd)
      const rotated = await loadKeyring(db, new Date(t0.getTime() + 2000), rnd)
      assert.equal(rotated.active.kid, newKid)
      assert.notEqual(newKid, ring.active.kid)
      assert.deepEqual(
        openToken(rotated, token),
        { hello: 'world', n: 1 },
        'old tokens open after rotation',
      )
      assert.equal(tokenKid(sealToken(rotated, {}, rnd)), newKid)
      const later = await loadKeyring(db, new Date(t0.getTime() + RETIRED_KEY_GRACE_MS + 5000), rnd)
      assert.throws(
        () => openToken(later, token),
        (e: CredentialError) => e.code === 'KEY_NOT_FOUND',
      )
    } finally {
      await store.cleanup()
    }
  })
}

/** `podtrust ARGV` in-process against the test store; stdout, stderr and the exit code. */
async function podtrust(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => (out += c.toString()))
  stderr.on('data', (c: Buffer) => (err += c.toString()))
  const code = await main(argv, { stdout, stderr, env: {}, cwd: process.cwd() })
  return { code, out, err }
}

for (const engine of engines) {
  void test(`keys rotate-sessions (${engine}): new kid seals, tokens sealed before still open`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresSkipReason()
      if (reason !== undefined) return t.skip(reason)
    }
    const store = await openTestDb(engine)
    const target = [
      '--data-dir',
      store.dataDir,
      ...(store.url === undefined ? [] : ['--store', `${store.url}?schema=${store.schema ?? ''}`]),
    ]
    try {
      const before = await loadKeyring(store.db, new Date(), rnd)
      const token = sealToken(before, { session: 'before' }, rnd)
      const r = await podtrust(['keys', 'rotate-sessions', ...target])
      assert.equal(r.code, 0, r.err)
      const kid =
        /^new session-token key ([0-9a-f]{12}) seals from now on; tokens sealed by retired keys keep opening for 37 h$/m.exec(
          r.out,
        )?.[1]
      assert.ok(kid !== undefined, r.out)
      assert.notEqual(kid, before.active.kid)
      const after = await loadKeyring(store.db, new Date(), rnd)
      assert.equal(after.active.kid, kid)
      assert.deepEqual(openToken(after, token), { session: 'before' })
      assert.equal(tokenKid(sealToken(after, {}, rnd)), kid)
      // A second rotation keeps both earlier keys opening (each retired within the grace period).
      const again = await podtrust(['keys', 'rotate-sessions', ...target])
      assert.equal(again.code, 0, again.err)
      const third = await loadKeyring(store.db, new Date(), rnd)
      assert.equal(third.byKid.size, 3)
      assert.deepEqual(openToken(third, token), { session: 'before' })
      // Options of the signing-key subcommands do not apply.
      for (const extra of [
        ['--alg', 'RS256'],
        ['--issuer', 'default'],
        ['--cluster', 'c'],
        ['--activate-in', '0'],
        ['stray'],
      ]) {
        const bad = await podtrust(['keys', 'rotate-sessions', ...extra, ...target])
        assert.equal(bad.code, 2, extra.join(' '))
        assert.match(bad.err, /Usage:/)
      }
      assert.equal((await loadKeyring(store.db, new Date(), rnd)).byKid.size, 3)
    } finally {
      await store.cleanup()
    }
  })
}
