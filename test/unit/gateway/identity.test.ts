/**
 * The gateway authorizer's `mentions`: whether a caller's policies (identity, boundary, session) or the
 * resource policy use a condition key, answered per needle (the gateway then fetches object tags only when
 * a policy can read them).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AppContext } from '../../../src/app/context.ts'
import { createGatewayAuthorizer } from '../../../src/gateway/identity.ts'
import { compileCached } from '../../../src/policy/compile-cached.ts'

const policy = (id: string, condition?: Record<string, unknown>) =>
  compileCached(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: '*',
          ...(condition === undefined ? {} : { Condition: condition }),
        },
      ],
    }),
    { id, type: 'inline' },
  )

void test('mentions finds a condition key in any of the caller policies or the resource policy', () => {
  const authz = createGatewayAuthorizer({} as AppContext)
  const tagged = policy('tagged', { StringEquals: { 's3:ExistingObjectTag/team': 'a' } })
  const plain = {
    identityPolicies: [policy('plain')],
    permissionBoundaries: [],
    sessionPolicies: undefined,
    principalTags: [],
  }
  assert.equal(authz.mentions(plain, undefined, 'ExistingObjectTag'), false)
  assert.equal(
    authz.mentions(plain, tagged, 'ExistingObjectTag'),
    true,
    'the resource policy counts',
  )
  assert.equal(
    authz.mentions(plain, undefined, 'ExistingObjectTag'),
    false,
    'and is not remembered as the caller’s',
  )
  const viaSession = { ...plain, sessionPolicies: [tagged] }
  assert.equal(authz.mentions(viaSession, undefined, 'existingobjecttag'), true)
  assert.equal(
    authz.mentions(viaSession, undefined, 'RequestObjectTag'),
    false,
    'each needle answered on its own',
  )
  const viaBoundary = { ...plain, permissionBoundaries: [tagged] }
  assert.equal(authz.mentions(viaBoundary, undefined, 'ExistingObjectTag'), true)
})
