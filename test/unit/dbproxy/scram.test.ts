/**
 * The SCRAM-SHA-256 client against RFC 7677 §3's recorded exchange (user "user", password "pencil"):
 * the client-final message and the server signature must match byte for byte. The local PostgreSQL trusts
 * 127.0.0.1, so the e2e tests do not make the server run SCRAM; test/e2e/dbproxy-scram-backend runs its own.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ScramClient, ScramError } from '../../../src/dbproxy/pg/scram.ts'

const SERVER_FIRST =
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'

void describe('SCRAM-SHA-256 client (RFC 7677 §3)', () => {
  void it('reproduces the RFC exchange', () => {
    const c = new ScramClient('pencil', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' })
    assert.equal(c.first(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
    assert.equal(
      c.final(SERVER_FIRST),
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    )
    c.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')
  })

  void it('rejects a wrong server signature, a server error and a nonce that does not extend ours', () => {
    const c = new ScramClient('pencil', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' })
    c.final(SERVER_FIRST)
    assert.throws(() => c.verify('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), ScramError)
    assert.throws(() => c.verify('e=invalid-proof'), /invalid-proof/)
    const d = new ScramClient('pencil', { nonce: 'abc' })
    assert.throws(() => d.final('r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), ScramError)
    assert.throws(() => d.final('r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0'), ScramError)
  })

  void it('a wrong password gives a different proof', () => {
    const c = new ScramClient('pencil2', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' })
    assert.doesNotMatch(c.final(SERVER_FIRST), /p=dHzbZapWIk4jUhN/)
  })
})
