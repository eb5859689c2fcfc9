/**
 * The unverified JWS reader: header and claims of a compact JWS (RFC 7515 §7.1, three base64url segments;
 * RFC 7519 §7.2: the claims set must be a JSON object), and TOKEN_MALFORMED for everything else.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SignJWT, generateKeyPair } from 'jose'
import { decodeCompactJws } from '../../../src/tokens/decode.ts'
import { TokenError } from '../../../src/tokens/errors.ts'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function malformed(token: string): void {
  assert.throws(
    () => decodeCompactJws(token),
    (err: unknown) => err instanceof TokenError && err.code === 'TOKEN_MALFORMED',
    token,
  )
}

void describe('tokens/decode', () => {
  void it('reads what jose signed: header and claims, unicode included', async () => {
    const { privateKey } = await generateKeyPair('ES256')
    const token = await new SignJWT({ sub: 'system:serviceaccount:ns:sä', aud: ['a', 'b'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://issuer.example')
      .sign(privateKey)
    const { header, payload } = decodeCompactJws(token)
    assert.deepEqual(header, { alg: 'ES256', kid: 'k1' })
    assert.equal(payload.iss, 'https://issuer.example')
    assert.equal(payload.sub, 'system:serviceaccount:ns:sä')
    assert.deepEqual(payload.aud, ['a', 'b'])
  })
  void it('refuses anything but three base64url segments holding JSON objects', () => {
    const h = b64({ alg: 'RS256' })
    const p = b64({ iss: 'x' })
    malformed(`${h}.${p}`) // two segments
    malformed(`${h}.${p}.s.t.u`) // a JWE's five
    malformed(`${h}.${p}.s\n`) // untrimmed: the caller trims
    malformed(`${h}.${p}+.s`) // base64, not base64url
    malformed(`${h}.${b64([1, 2])}.s`) // claims must be an object
    malformed(`${b64('alg')}.${p}.s`) // so must the header
    malformed(`${h}.${Buffer.from('{"iss":').toString('base64url')}.s`) // not JSON
    malformed(`${h}.${b64(null)}.s`)
    assert.deepEqual(decodeCompactJws(`${h}.${p}.`).payload, { iss: 'x' }) // unsigned shape: verify refuses it later
  })
})
