import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EntraError } from '../../../src/azure/errors.ts'
import {
  entraErrorForToken,
  openidConfiguration,
  resourceFromScope,
  signingIssuer,
} from '../../../src/azure/exchange.ts'
import { TokenError } from '../../../src/tokens/errors.ts'
import type { TokenErrorCode } from '../../../src/tokens/types.ts'

void test('scope → resource, as Entra derives the access token audience', () => {
  assert.equal(resourceFromScope('https://storage.azure.com/.default'), 'https://storage.azure.com')
  // az CLI's double slash keeps the trailing slash of the resource
  assert.equal(
    resourceFromScope('https://management.core.windows.net//.default'),
    'https://management.core.windows.net/',
  )
  assert.equal(
    resourceFromScope('api://my-app/.default openid profile offline_access'),
    'api://my-app',
  )
  for (const bad of [
    'https://storage.azure.com/user_impersonation',
    'a/.default b/.default',
    'openid',
    '/.default',
  ]) {
    assert.throws(
      () => resourceFromScope(bad),
      (e: unknown) => e instanceof EntraError && (e.aadsts === 1002012 || e.aadsts === 70011),
      bad,
    )
  }
})

void test('every TokenError code maps to an AADSTS code', () => {
  const expected: Record<TokenErrorCode, number> = {
    TOKEN_MALFORMED: 50027,
    TOKEN_ALG_NOT_ALLOWED: 700027,
    TOKEN_SIGNATURE_INVALID: 700027,
    TOKEN_KEY_NOT_FOUND: 700027,
    TOKEN_EXPIRED: 700024,
    TOKEN_NOT_YET_VALID: 700024,
    TOKEN_ISSUER_MISMATCH: 50027,
    TOKEN_AUDIENCE_MISMATCH: 50027,
    ISSUER_UNREACHABLE: 90061,
    ISSUER_FORBIDDEN: 90061,
  }
  const now = new Date('2026-01-01T00:10:00Z')
  for (const [code, aadsts] of Object.entries(expected)) {
    const mapped = entraErrorForToken(new TokenError(code as TokenErrorCode, 'x'), now, {
      nbf: 1767225600,
      exp: 1767225660,
    })
    assert.equal(mapped.aadsts, aadsts, code)
  }
  const expired = entraErrorForToken(new TokenError('TOKEN_EXPIRED', 'x'), now, {
    nbf: 1767225600,
    exp: 1767225660,
  })
  assert.match(
    expired.message,
    /Current time: 2026-01-01 00:10:00Z, assertion valid from 2026-01-01 00:00:00Z, expiry time of assertion 2026-01-01 00:01:00Z/,
  )
  assert.equal(expired.status, 401)
  assert.equal(expired.error, 'invalid_client')
})

void test('discovery has the four keys MSAL requires, on the authority the client used', () => {
  const doc = openidConfiguration('https://localhost:9443', 'tenant-1')
  assert.equal(doc['token_endpoint'], 'https://localhost:9443/tenant-1/oauth2/v2.0/token')
  assert.equal(
    doc['authorization_endpoint'],
    'https://localhost:9443/tenant-1/oauth2/v2.0/authorize',
  )
  assert.equal(doc['jwks_uri'], 'https://localhost:9443/tenant-1/discovery/v2.0/keys')
  assert.equal(doc['issuer'], 'https://localhost:9443/tenant-1/v2.0')
  assert.equal(signingIssuer('ABC'), 'entra:abc')
})
