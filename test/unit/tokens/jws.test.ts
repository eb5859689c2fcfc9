/**
 * The node:crypto JWS verifier against tokens jose signs: every allowed algorithm verifies, any change to
 * the signing input or signature fails, and keys that cannot serve the algorithm are refused.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import { JwsKeyError, publicKeyFor, verifyCompactSignature } from '../../../src/tokens/jws.ts'
import type { JwsAlgorithm } from '../../../src/tokens/jws.ts'

const ALGS: JwsAlgorithm[] = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512']

async function signed(alg: JwsAlgorithm): Promise<{ token: string; jwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const token = await new SignJWT({ sub: 'system:serviceaccount:a:b' })
    .setProtectedHeader({ alg, kid: 'k' })
    .setIssuedAt()
    .sign(privateKey)
  return { token, jwk: await exportJWK(publicKey) }
}

function flip(text: string, index: number): string {
  const c = text[index] === 'A' ? 'B' : 'A'
  return text.slice(0, index) + c + text.slice(index + 1)
}

void describe('tokens/jws', () => {
  for (const alg of ALGS) {
    void it(`${alg}: a jose-signed token verifies; a changed payload or signature does not`, async () => {
      const { token, jwk } = await signed(alg)
      const key = publicKeyFor(jwk, alg)
      assert.equal(verifyCompactSignature(token, key, alg), true)
      const [h, p, s] = token.split('.') as [string, string, string]
      assert.equal(verifyCompactSignature(`${h}.${flip(p, 3)}.${s}`, key, alg), false)
      assert.equal(verifyCompactSignature(`${h}.${p}.${flip(s, 5)}`, key, alg), false)
      assert.equal(verifyCompactSignature(`${h}.${p}.`, key, alg), false)
      assert.equal(verifyCompactSignature('no-dots', key, alg), false)
    })
  }

  void it('a key of one algorithm family cannot verify another', async () => {
    const rsa = await signed('RS256')
    const ec = await signed('ES256')
    assert.throws(() => publicKeyFor(rsa.jwk, 'ES256'), JwsKeyError)
    assert.throws(() => publicKeyFor(ec.jwk, 'RS256'), JwsKeyError)
    // Same family, other curve.
    assert.throws(() => publicKeyFor(ec.jwk, 'ES384'), /curve secp384r1/)
  })

  void it('RSA keys under 2048 bits, private JWKs and garbage are refused', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const smallJwk = small.publicKey.export({ format: 'jwk' }) as JWK
    assert.throws(() => publicKeyFor(smallJwk, 'RS256'), /at least 2048 bits/)
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const privateJwk = await exportJWK(privateKey)
    assert.throws(() => publicKeyFor(privateJwk, 'ES256'), /private JWK/)
    assert.throws(() => publicKeyFor({ kty: 'RSA', n: '!!', e: 'AQAB' }, 'RS256'), JwsKeyError)
  })

  void it('the same JWK yields the cached key object', async () => {
    const { jwk } = await signed('ES256')
    assert.equal(publicKeyFor({ ...jwk }, 'ES256'), publicKeyFor({ ...jwk }, 'ES256'))
  })
})

void describe('tokens/jws: remembered signatures', () => {
  void it('a remembered token still fails under another key, and a changed token is verified afresh', async () => {
    const a = await signed('ES256')
    const b = await signed('ES256')
    const keyA = publicKeyFor(a.jwk, 'ES256')
    const keyB = publicKeyFor(b.jwk, 'ES256')
    assert.equal(verifyCompactSignature(a.token, keyA, 'ES256'), true)
    assert.equal(verifyCompactSignature(a.token, keyA, 'ES256'), true)
    assert.equal(verifyCompactSignature(a.token, keyB, 'ES256'), false)
    const [h, p, s] = a.token.split('.') as [string, string, string]
    assert.equal(verifyCompactSignature(`${h}.${flip(p, 4)}.${s}`, keyA, 'ES256'), false)
  })
})
