import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import { decodeCompactJws } from '../../../src/tokens/decode.ts'
import { TokenError } from '../../../src/tokens/errors.ts'
import { ensureIssuer } from '../../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../../src/tokens/mint.ts'
import { classifyAddress } from '../../../src/tokens/netguard.ts'
import type { TokenErrorCode } from '../../../src/tokens/types.ts'
import { createTokenVerifier } from '../../../src/tokens/verify.ts'
import { tempDb } from './helpers.ts'

const now = new Date('2026-03-01T12:00:00Z')
const nowSec = Math.floor(now.getTime() / 1000)

function code(expected: TokenErrorCode) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof TokenError, `expected TokenError, got ${String(e)}`)
    assert.equal(e.code, expected, e.message)
    return true
  }
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')

async function foreignKey(
  alg: 'RS256' | 'ES256',
  kid: string,
): Promise<{
  jwk: JWK
  sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>
}> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return {
    jwk,
    sign: (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid, ...header }).sign(privateKey),
  }
}

void describe('token verifier: own issuers (in-process keys)', () => {
  void it("reuses the caller's decode only for the very token it verifies", async () => {
    const t = await tempDb()
    try {
      const issuer = await ensureIssuer(t.db, 'default')
      const verifier = createTokenVerifier({ db: t.db, now: () => now })
      const mint = (serviceAccount: string) =>
        mintServiceAccountToken(t.db, {
          namespace: 'ns',
          serviceAccount,
          audiences: ['sts.amazonaws.com'],
          now,
        })
      const token = await mint('sa')
      const other = await mint('other')
      const opts = { issuer: issuer.url, audiences: ['sts.amazonaws.com'], now }
      const decodedOf = (tok: string) => ({ token: tok, ...decodeCompactJws(tok) })
      const same = await verifier.verify(token, { ...opts, decoded: decodedOf(token) })
      assert.equal(same.subject, 'system:serviceaccount:ns:sa')
      // Another token's claims handed in beside this token are ignored: the claims are always the signed ones.
      const mismatched = await verifier.verify(token, { ...opts, decoded: decodedOf(other) })
      assert.equal(mismatched.subject, 'system:serviceaccount:ns:sa')
      const forged = { ...decodedOf(token), payload: { ...decodedOf(token).payload, sub: 'admin' } }
      forged.token = `${token}x`
      const ignored = await verifier.verify(token, { ...opts, decoded: forged })
      assert.equal(ignored.subject, 'system:serviceaccount:ns:sa')
    } finally {
      await t.cleanup()
    }
  })

  void it('verifies a minted token (trailing newline tolerated) and refuses each kind of bad token', async () => {
    const t = await tempDb()
    try {
      const issuer = await ensureIssuer(t.db, 'default')
      const verifier = createTokenVerifier({ db: t.db, now: () => now })
      const opts = { issuer: issuer.url, audiences: ['sts.amazonaws.com'], now }
      const token = await mintServiceAccountToken(t.db, {
        namespace: 'ns',
        serviceAccount: 'sa',
        audiences: ['sts.amazonaws.com'],
        now,
      })
      const ok = await verifier.verify(`${token}\n`, opts)
      assert.equal(ok.subject, 'system:serviceaccount:ns:sa')
      assert.deepEqual(ok.audience, ['sts.amazonaws.com'])
      assert.equal(ok.alg, 'RS256')

      await assert.rejects(
        verifier.verify(token, { ...opts, audiences: ['other'] }),
        code('TOKEN_AUDIENCE_MISMATCH'),
      )
      await assert.rejects(
        verifier.verify(token, { ...opts, issuer: 'https://elsewhere' }),
        code('TOKEN_ISSUER_MISMATCH'),
      )
      const later = new Date(now.getTime() + 3601_000)
      await assert.rejects(verifier.verify(token, { ...opts, now: later }), (e: unknown) => {
        code('TOKEN_EXPIRED')(e)
        assert.equal((e as TokenError).at?.getTime(), (nowSec + 3600) * 1000)
        return true
      })
      // Clock tolerance lets a just-expired token through.
      await verifier.verify(token, { ...opts, now: later, clockToleranceSec: 300 })
      const earlier = new Date(now.getTime() - 60_000)
      await assert.rejects(
        verifier.verify(token, { ...opts, now: earlier }),
        code('TOKEN_NOT_YET_VALID'),
      )

      // Bad signature: payload changed after signing.
      const [h, , s] = token.split('.')
      const forged = `${h}.${b64({ ...JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()), sub: 'system:serviceaccount:kube-system:admin' })}.${s}`
      await assert.rejects(verifier.verify(forged, opts), code('TOKEN_SIGNATURE_INVALID'))

      const claims = {
        iss: issuer.url,
        sub: 'x',
        aud: ['sts.amazonaws.com'],
        iat: nowSec,
        exp: nowSec + 60,
      }
      // alg none
      await assert.rejects(
        verifier.verify(`${b64({ alg: 'none' })}.${b64(claims)}.`, opts),
        code('TOKEN_ALG_NOT_ALLOWED'),
      )
      // HS256 keyed with the public key (algorithm confusion)
      const kid = JSON.parse(Buffer.from(h!, 'base64url').toString()).kid as string
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid })
        .sign(new TextEncoder().encode('public-key-as-secret-public-key-as-secret'))
      await assert.rejects(verifier.verify(hs, opts), code('TOKEN_ALG_NOT_ALLOWED'))
      // PS256 is not in AWS's list either.
      await assert.rejects(
        verifier.verify(`${b64({ alg: 'PS256', kid })}.${b64(claims)}.c2ln`, opts),
        code('TOKEN_ALG_NOT_ALLOWED'),
      )
      // ES256 header against the issuer's RSA key: the key type pins the algorithm.
      const ec = await foreignKey('ES256', kid)
      await assert.rejects(
        verifier.verify(await ec.sign(claims), opts),
        code('TOKEN_ALG_NOT_ALLOWED'),
      )
      // Signed by a key the issuer never published.
      const stranger = await foreignKey('RS256', 'unknown-kid')
      await assert.rejects(
        verifier.verify(await stranger.sign(claims), opts),
        code('TOKEN_KEY_NOT_FOUND'),
      )
      // A stranger reusing the issuer's kid: signature check fails.
      const impostor = await foreignKey('RS256', kid)
      await assert.rejects(
        verifier.verify(await impostor.sign(claims), opts),
        code('TOKEN_SIGNATURE_INVALID'),
      )
      // Missing aud
      const noAud = await impostor.sign({ iss: issuer.url, sub: 'x', exp: nowSec + 60 })
      await assert.rejects(
        createTokenVerifier({ db: t.db, now: () => now }).verify(noAud, {
          ...opts,
          jwks: { keys: [impostor.jwk] },
        }),
        (e: unknown) => {
          code('TOKEN_AUDIENCE_MISMATCH')(e)
          assert.equal((e as TokenError).reason, 'missing')
          return true
        },
      )
      // No exp: a token that never expires is refused; a non-numeric time claim too.
      for (const [extra, claim] of [
        [{}, 'exp'],
        [{ exp: 'soon' }, 'exp'],
        [{ exp: nowSec + 60, nbf: 'now' }, 'nbf'],
        [{ exp: nowSec + 60, iat: [1] }, 'iat'],
      ] as const) {
        const token = await impostor.sign({
          iss: issuer.url,
          sub: 'x',
          aud: 'sts.amazonaws.com',
          ...extra,
        })
        await assert.rejects(
          createTokenVerifier({ db: t.db, now: () => now }).verify(token, {
            ...opts,
            jwks: { keys: [impostor.jwk] },
          }),
          (e: unknown) => {
            code('TOKEN_MALFORMED')(e)
            assert.equal((e as TokenError).claim, claim)
            return true
          },
        )
      }
      // Garbage
      for (const junk of ['', 'abc', 'a.b', 'a.b.c.d', '!!.??.##', `${b64('x')}.${b64('y')}.z`]) {
        await assert.rejects(verifier.verify(junk, opts), code('TOKEN_MALFORMED'), junk)
      }
    } finally {
      await t.cleanup()
    }
  })

  void it('never puts the token in an error message', async () => {
    const t = await tempDb()
    try {
      const issuer = await ensureIssuer(t.db, 'default')
      const token = await mintServiceAccountToken(t.db, {
        namespace: 'ns',
        serviceAccount: 'sa',
        audiences: ['a'],
        now,
      })
      const verifier = createTokenVerifier({ db: t.db, now: () => now })
      await assert.rejects(
        verifier.verify(token, { issuer: issuer.url, audiences: ['b'], now }),
        (e: unknown) => {
          assert.ok(e instanceof Error)
          assert.ok(!e.message.includes(token.split('.')[1]!))
          return true
        },
      )
    } finally {
      await t.cleanup()
    }
  })
})

interface FakeIssuer {
  url: string
  /** Overrides the discovery document's `issuer` (default: the issuer's own URL). */
  declaredIssuer?: string
  down?: boolean
  discoveryHits: number
  jwksHits: number
  keys: JWK[]
  jwksBody?: string
  close(): Promise<void>
}

async function fakeIssuer(): Promise<FakeIssuer> {
  const state: FakeIssuer = {
    url: '',
    discoveryHits: 0,
    jwksHits: 0,
    keys: [],
    close: async () => {},
  }
  const server = createServer((req, res) => {
    if (state.down === true) {
      res.statusCode = 503
      res.end()
    } else if (req.url === '/.well-known/openid-configuration') {
      state.discoveryHits += 1
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          issuer: state.declaredIssuer ?? state.url,
          jwks_uri: `${state.url}/keys`,
        }),
      )
    } else if (req.url === '/keys') {
      state.jwksHits += 1
      res.setHeader('cache-control', 'max-age=600')
      res.end(state.jwksBody ?? JSON.stringify({ keys: state.keys }))
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () => new Promise((r) => server.close(() => r()))
  return state
}

void describe('token verifier: remote issuers', () => {
  void it('fetches discovery + JWKS, caches, refetches on unknown kid at a limited rate', async () => {
    const t = await tempDb()
    const idp = await fakeIssuer()
    try {
      let clock = now
      const verifier = createTokenVerifier({ db: t.db, now: () => clock, allowHttpLoopback: true })
      const k1 = await foreignKey('RS256', 'k1')
      const k2 = await foreignKey('ES256', 'k2')
      idp.keys = [k1.jwk]
      const claims = {
        iss: idp.url,
        sub: 'repo:x',
        aud: 'sts.amazonaws.com',
        iat: nowSec,
        exp: nowSec + 3600,
      }
      const opts = { issuer: idp.url, audiences: ['sts.amazonaws.com'], now }
      assert.equal((await verifier.verify(await k1.sign(claims), opts)).subject, 'repo:x')
      await verifier.verify(await k1.sign(claims), opts)
      assert.equal(idp.jwksHits, 1, 'second verification served from cache')
      // New key appears at the issuer: the unknown kid triggers one refetch.
      idp.keys = [k1.jwk, k2.jwk]
      assert.equal((await verifier.verify(await k2.sign(claims), opts)).alg, 'ES256')
      assert.equal(idp.jwksHits, 2)
      // Another unknown kid right away: no refetch (rate limit), key not found.
      const k3 = await foreignKey('RS256', 'k3')
      idp.keys = [k1.jwk, k2.jwk, k3.jwk]
      await assert.rejects(
        verifier.verify(await k3.sign(claims), opts),
        code('TOKEN_KEY_NOT_FOUND'),
      )
      assert.equal(idp.jwksHits, 2)
      clock = new Date(now.getTime() + 31_000)
      await verifier.verify(await k3.sign(claims), opts)
      assert.equal(idp.jwksHits, 3)
      // Cache expiry (max-age 600) refetches.
      clock = new Date(now.getTime() + 700_000)
      await verifier.verify(await k1.sign(claims), opts)
      assert.equal(idp.jwksHits, 4)
    } finally {
      await idp.close()
      await t.cleanup()
    }
  })

  void it('refuses a discovery document naming another issuer; serves stale keys a bounded time', async () => {
    const t = await tempDb()
    const idp = await fakeIssuer()
    try {
      const k1 = await foreignKey('RS256', 'k1')
      idp.keys = [k1.jwk]
      const claims = { iss: idp.url, sub: 's', aud: 'a', exp: nowSec + 10 * 86_400 }
      const token = await k1.sign(claims)
      idp.declaredIssuer = 'https://someone-else.example'
      let clock = now
      const verifier = createTokenVerifier({ db: t.db, now: () => clock, allowHttpLoopback: true })
      await assert.rejects(
        verifier.verify(token, { issuer: idp.url, now: clock }),
        (e: unknown) => {
          code('ISSUER_FORBIDDEN')(e)
          assert.match((e as Error).message, /names issuer `https:\/\/someone-else\.example`/)
          return true
        },
      )
      idp.declaredIssuer = `${idp.url}/`
      assert.equal((await verifier.verify(token, { issuer: idp.url, now: clock })).subject, 's')
      // The issuer goes down: the cached keys (max-age 600) serve past expiry, up to a day more.
      idp.down = true
      clock = new Date(now.getTime() + 3_600_000)
      assert.equal((await verifier.verify(token, { issuer: idp.url, now: clock })).subject, 's')
      clock = new Date(now.getTime() + 600_000 + 86_400_000 + 1000)
      await assert.rejects(
        verifier.verify(token, { issuer: idp.url, now: clock }),
        code('ISSUER_UNREACHABLE'),
      )
    } finally {
      await idp.close()
      await t.cleanup()
    }
  })

  void it('refuses an oversized JWKS and reports an unreachable issuer', async () => {
    const t = await tempDb()
    const idp = await fakeIssuer()
    try {
      const k1 = await foreignKey('RS256', 'k1')
      idp.jwksBody = JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(300 * 1024) })
      const claims = { iss: idp.url, sub: 's', aud: 'a', exp: nowSec + 60 }
      const verifier = createTokenVerifier({ db: t.db, now: () => now, allowHttpLoopback: true })
      await assert.rejects(
        verifier.verify(await k1.sign(claims), { issuer: idp.url, now }),
        (e: unknown) => {
          code('ISSUER_UNREACHABLE')(e)
          assert.match((e as Error).message, /exceeds/)
          return true
        },
      )
      const small = createTokenVerifier({
        db: t.db,
        now: () => now,
        allowHttpLoopback: true,
        remote: { maxBytes: 100 },
      })
      idp.jwksBody = undefined
      idp.keys = [k1.jwk]
      await assert.rejects(
        small.verify(await k1.sign(claims), { issuer: idp.url, now }),
        code('ISSUER_UNREACHABLE'),
      )
      const dead = 'http://127.0.0.1:1'
      await assert.rejects(
        verifier.verify(await k1.sign({ ...claims, iss: dead }), { issuer: dead, now }),
        code('ISSUER_UNREACHABLE'),
      )
    } finally {
      await idp.close()
      await t.cleanup()
    }
  })

  void it('refuses SSRF targets before connecting', async () => {
    const t = await tempDb()
    try {
      let calls = 0
      const fetchSpy = (async () => {
        calls += 1
        return new Response('{}')
      }) as typeof fetch
      const k = await foreignKey('RS256', 'k')
      const strict = createTokenVerifier({ db: t.db, now: () => now, fetch: fetchSpy })
      const devLoopback = createTokenVerifier({
        db: t.db,
        now: () => now,
        fetch: fetchSpy,
        allowHttpLoopback: true,
      })
      const cases: [typeof strict, string][] = [
        [strict, 'http://203.0.113.10'], // plain http, not loopback
        [devLoopback, 'http://203.0.113.10'], // the dev flag covers loopback only
        [strict, 'http://127.0.0.1:9999'], // loopback http without the dev flag
        [strict, 'https://127.0.0.1:9999'], // loopback over https, not allowed
        [strict, 'https://localhost:9999'],
        [strict, 'https://10.1.2.3'],
        [strict, 'https://192.168.0.1'],
        [strict, 'https://172.20.0.1'],
        [strict, 'https://100.64.0.1'],
        [strict, 'https://169.254.169.254'], // cloud metadata
        [strict, 'https://[fd00::1]'],
        [strict, 'https://[fe80::1]'],
        [strict, 'https://[::ffff:10.0.0.1]'],
        [strict, 'https://0.0.0.0'],
        [strict, 'file:///etc/passwd'],
      ]
      for (const [v, iss] of cases) {
        const token = await k.sign({ iss, sub: 's', aud: 'a', exp: nowSec + 60 })
        await assert.rejects(v.verify(token, { issuer: iss, now }), code('ISSUER_FORBIDDEN'), iss)
      }
      assert.equal(calls, 0, 'no request was made')
      // A public issuer whose discovery points the JWKS at the metadata service.
      const evil = createTokenVerifier({
        db: t.db,
        now: () => now,
        fetch: (async (url: URL) => {
          calls += 1
          return new Response(
            JSON.stringify({
              issuer: 'https://203.0.113.10',
              jwks_uri: 'https://169.254.169.254/latest/meta-data',
            }),
            {
              status: String(url).endsWith('openid-configuration') ? 200 : 500,
            },
          )
        }) as unknown as typeof fetch,
      })
      const iss = 'https://203.0.113.10'
      await assert.rejects(
        evil.verify(await k.sign({ iss, sub: 's', aud: 'a', exp: nowSec + 60 }), {
          issuer: iss,
          now,
        }),
        code('ISSUER_FORBIDDEN'),
      )
      assert.equal(calls, 1, 'only discovery was fetched')
      // Private networks allowed explicitly.
      const allowed = createTokenVerifier({
        db: t.db,
        now: () => now,
        allowPrivateNetworks: true,
        fetch: (async (url: URL) =>
          new Response(
            String(url).endsWith('openid-configuration')
              ? JSON.stringify({ issuer: 'https://10.1.2.3', jwks_uri: 'https://10.1.2.3/keys' })
              : JSON.stringify({ keys: [k.jwk] }),
          )) as unknown as typeof fetch,
      })
      const priv = 'https://10.1.2.3'
      const v = await allowed.verify(
        await k.sign({ iss: priv, sub: 's', aud: 'a', exp: nowSec + 60 }),
        { issuer: priv, now },
      )
      assert.equal(v.subject, 's')
    } finally {
      await t.cleanup()
    }
  })

  void it('classifies addresses', () => {
    assert.equal(classifyAddress('8.8.8.8'), 'public')
    assert.equal(classifyAddress('127.0.0.53'), 'loopback')
    assert.equal(classifyAddress('::1'), 'loopback')
    assert.equal(classifyAddress('172.15.0.1'), 'public')
    assert.equal(classifyAddress('172.31.255.255'), 'private')
    assert.equal(classifyAddress('169.254.1.1'), 'link-local')
    assert.equal(classifyAddress('224.0.0.1'), 'forbidden')
    assert.equal(classifyAddress('not-an-ip'), 'forbidden')
    assert.equal(classifyAddress('2001:4860::8888'), 'public')
  })
})

void describe('netguard: embedded IPv4', () => {
  void it('classifies mapped and NAT64 forms by their IPv4 address', () => {
    assert.equal(classifyAddress('::ffff:a00:1'), 'private')
    assert.equal(classifyAddress('::ffff:7f00:1'), 'loopback')
    assert.equal(classifyAddress('::ffff:169.254.169.254'), 'link-local')
    assert.equal(classifyAddress('64:ff9b::a9fe:a9fe'), 'link-local')
    assert.equal(classifyAddress('::ffff:808:808'), 'public')
  })
})
