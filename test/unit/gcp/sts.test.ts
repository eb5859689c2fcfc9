import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GoogleApiError } from '../../../src/gcp/errors.ts'
import { googleTimestamp, parseLifetime } from '../../../src/gcp/iamcredentials.ts'
import { decodeClaimsUnverified, stsErrorForToken } from '../../../src/gcp/sts.ts'
import { TokenError } from '../../../src/tokens/errors.ts'
import type { TokenErrorCode } from '../../../src/tokens/types.ts'

void test('every TokenError code maps to invalid_grant with a Google message', () => {
  const codes: TokenErrorCode[] = [
    'TOKEN_MALFORMED',
    'TOKEN_ALG_NOT_ALLOWED',
    'TOKEN_SIGNATURE_INVALID',
    'TOKEN_KEY_NOT_FOUND',
    'TOKEN_EXPIRED',
    'TOKEN_NOT_YET_VALID',
    'TOKEN_ISSUER_MISMATCH',
    'TOKEN_AUDIENCE_MISMATCH',
    'ISSUER_UNREACHABLE',
    'ISSUER_FORBIDDEN',
  ]
  for (const code of codes) {
    const err = stsErrorForToken(new TokenError(code, 'x'), {
      aud: ['a', 'b'],
      iat: 1713260741,
      iss: 'https://i',
    })
    assert.equal(err.code, 'invalid_grant', code)
  }
  assert.equal(
    stsErrorForToken(new TokenError('TOKEN_EXPIRED', 'x'), { iat: 1713260741 }).message,
    'ID Token issued at 1713260741 is stale to sign-in.',
  )
  assert.equal(
    stsErrorForToken(new TokenError('TOKEN_AUDIENCE_MISMATCH', 'x'), { aud: 'x' }).message,
    'The audience in ID Token [x] does not match the expected audience.',
  )
  assert.equal(
    stsErrorForToken(new TokenError('ISSUER_UNREACHABLE', 'x'), {}).message,
    "Error connecting to the given credential's issuer.",
  )
})

void test('decodeClaimsUnverified never throws', () => {
  assert.deepEqual(decodeClaimsUnverified('a.eyJzdWIiOiJ4In0.c'), { sub: 'x' })
  for (const bad of ['', 'abc', 'a.!!!.c', 'a.bnVsbA.c'])
    assert.deepEqual(decodeClaimsUnverified(bad), {}, bad)
})

void test('lifetime parsing and expireTime format', () => {
  assert.equal(parseLifetime(undefined), 3600)
  assert.equal(parseLifetime(null), 3600)
  assert.equal(parseLifetime('1800s'), 1800)
  assert.equal(parseLifetime('1800.5s'), 1800)
  for (const bad of ['0s', '3601s', '1h', 3600, '', '-5s']) {
    assert.throws(
      () => parseLifetime(bad),
      (e: unknown) => e instanceof GoogleApiError && e.code === 'INVALID_ARGUMENT',
      String(bad),
    )
  }
  assert.equal(googleTimestamp(new Date('2026-11-23T01:13:01.789Z')), '2026-11-23T01:13:01Z')
})

void test('API errors render the Google envelope', () => {
  const err = new GoogleApiError('PERMISSION_DENIED', 'denied', {
    reason: 'IAM_PERMISSION_DENIED',
    metadata: { permission: 'p' },
  })
  assert.deepEqual(err.toJSON(), {
    error: {
      code: 403,
      message: 'denied',
      status: 'PERMISSION_DENIED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'IAM_PERMISSION_DENIED',
          domain: 'iam.googleapis.com',
          metadata: { permission: 'p' },
        },
      ],
    },
  })
})
