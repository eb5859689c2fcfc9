import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CelError } from '../../../src/gcp/cel/index.ts'
import {
  compileProvider,
  federate,
  isValidMember,
  memberMatches,
  parseProviderAudience,
  principalIdentifier,
  providerAudience,
  type FederatedIdentity,
} from '../../../src/gcp/federation.ts'

const pool = { projectNumber: '123456789', poolId: 'kube' }
const claims = {
  iss: 'https://issuer.example',
  sub: 'system:serviceaccount:default:app',
  'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'app' } },
  groups: ['g1', 'g2'],
}
const mapping = {
  'google.subject': 'assertion.sub',
  'google.groups': 'assertion.groups',
  'attribute.namespace': "assertion['kubernetes.io']['namespace']",
  'attribute.service_account_name': "assertion['kubernetes.io']['serviceaccount']['name']",
  'attribute.missing': 'assertion.nope',
}

void test('maps claims to google.subject, google.groups and attributes; missing claims leave attributes unset', () => {
  const result = federate(compileProvider(mapping, undefined), claims)
  assert.equal(result.ok, true)
  if (!result.ok) return
  assert.deepEqual(result.identity, {
    subject: 'system:serviceaccount:default:app',
    groups: ['g1', 'g2'],
    attributes: { namespace: ['default'], service_account_name: ['app'] },
  })
})

void test('the condition sees assertion, google and attribute', () => {
  const allow = compileProvider(
    mapping,
    "attribute.namespace == 'default' && google.subject.endsWith(':app') && 'g1' in google.groups && assertion.iss.startsWith('https://')",
  )
  assert.equal(federate(allow, claims).ok, true)
  const deny = compileProvider(mapping, "attribute.namespace in ['prod', 'staging']")
  const result = federate(deny, claims)
  assert.equal(result.ok, false)
  if (!result.ok) {
    assert.equal(result.reason, 'condition_false')
    assert.equal(result.message, 'The given credential is rejected by the attribute condition.')
  }
  // A condition that errors (a missing attribute) rejects like false.
  const erroring = federate(compileProvider(mapping, "attribute.missing == 'x'"), claims)
  assert.equal(erroring.ok, false)
  if (!erroring.ok) assert.equal(erroring.reason, 'condition_error')
})

void test('google.subject must be a non-empty string of at most 127 bytes', () => {
  const empty = federate(compileProvider({ 'google.subject': "''" }, undefined), claims)
  assert.equal(empty.ok, false)
  if (!empty.ok) assert.equal(empty.reason, 'subject_missing')
  const long = federate(
    compileProvider(
      { 'google.subject': "'x' + assertion.sub + assertion.sub + assertion.sub + assertion.sub" },
      undefined,
    ),
    claims,
  )
  assert.equal(long.ok, false)
  if (!long.ok) assert.equal(long.reason, 'subject_too_long')
  const failing = federate(
    compileProvider({ 'google.subject': 'assertion.email' }, undefined),
    claims,
  )
  assert.equal(failing.ok, false)
  if (!failing.ok) assert.equal(failing.reason, 'mapping_failed')
  const wrongType = federate(compileProvider({ 'google.subject': '1' }, undefined), claims)
  assert.equal(wrongType.ok, false)
})

void test('compileProvider rejects bad mappings and conditions with the field named', () => {
  const cases: [Record<string, string>, string | undefined, RegExp][] = [
    [{ 'attribute.x': 'assertion.sub' }, undefined, /must map 'google.subject'/],
    [
      { 'google.subject': 'assertion.sub', 'attribute.Bad': 'x' },
      undefined,
      /custom attribute names/,
    ],
    [{ 'google.subject': 'assertion.sub', 'google.email': 'x' }, undefined, /not google.subject/],
    [{ 'google.subject': 'assertion.' }, undefined, /attributeMapping\['google.subject'\]/],
    [{ 'google.subject': 'assertion.sub' }, 'attribute.ns ==', /attributeCondition/],
    [{ 'google.subject': 'x'.repeat(2049) }, undefined, /longer than 2048/],
  ]
  for (const [m, c, pattern] of cases) {
    assert.throws(
      () => compileProvider(m, c),
      (e: unknown) => e instanceof CelError && pattern.test(e.message),
    )
  }
})

void test('principal identifiers and member matching', () => {
  const identity: FederatedIdentity = {
    subject: 'system:serviceaccount:default:app',
    groups: ['admins'],
    attributes: { namespace: ['default'] },
  }
  const base = 'iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/kube'
  assert.equal(
    principalIdentifier(pool, identity.subject),
    `principal://${base}/subject/system:serviceaccount:default:app`,
  )
  assert.equal(
    memberMatches(`principal://${base}/subject/system:serviceaccount:default:app`, pool, identity),
    true,
  )
  assert.equal(
    memberMatches(
      `principal://${base}/subject/system:serviceaccount:default:other`,
      pool,
      identity,
    ),
    false,
  )
  assert.equal(
    memberMatches(`principal://${base}/subject/SYSTEM:serviceaccount:default:app`, pool, identity),
    false,
  )
  assert.equal(memberMatches(`principalSet://${base}/group/admins`, pool, identity), true)
  assert.equal(memberMatches(`principalSet://${base}/group/devs`, pool, identity), false)
  assert.equal(
    memberMatches(`principalSet://${base}/attribute.namespace/default`, pool, identity),
    true,
  )
  assert.equal(
    memberMatches(`principalSet://${base}/attribute.namespace/prod`, pool, identity),
    false,
  )
  assert.equal(memberMatches(`principalSet://${base}/*`, pool, identity), true)
  const otherPool = base.replace('/kube', '/other')
  assert.equal(memberMatches(`principalSet://${otherPool}/*`, pool, identity), false)
  assert.equal(
    memberMatches(
      `principal://${otherPool}/subject/system:serviceaccount:default:app`,
      pool,
      identity,
    ),
    false,
  )
  assert.equal(memberMatches('user:someone@example.com', pool, identity), false)
})

void test('member syntax validation', () => {
  const base = 'iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p'
  for (const ok of [
    `principal://${base}/subject/x`,
    `principalSet://${base}/*`,
    `principalSet://${base}/group/g`,
    `principalSet://${base}/attribute.ns/a`,
    'user:a@b.c',
    'serviceAccount:a@p.iam.gserviceaccount.com',
  ]) {
    assert.equal(isValidMember(ok), true, ok)
  }
  for (const bad of [
    '',
    'principal://x',
    `principal://${base}/*`,
    `principalSet://${base}/subject/x`,
    `principalSet://${base}/attribute.NS/a`,
    'everyone',
  ]) {
    assert.equal(isValidMember(bad), false, bad)
  }
})

void test('provider audiences parse with and without https:', () => {
  const aud = providerAudience(pool, 'prov')
  assert.equal(
    aud,
    '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/kube/providers/prov',
  )
  assert.deepEqual(parseProviderAudience(aud), {
    projectNumber: '123456789',
    poolId: 'kube',
    providerId: 'prov',
  })
  assert.deepEqual(parseProviderAudience(`https:${aud}`), {
    projectNumber: '123456789',
    poolId: 'kube',
    providerId: 'prov',
  })
  for (const bad of [
    '',
    'sts.amazonaws.com',
    '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p',
    `${aud}/extra`,
    'http:' + aud,
  ]) {
    assert.equal(parseProviderAudience(bad), undefined, bad)
  }
})
