import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EntraError, entraErrorBody } from '../../../src/azure/errors.ts'
import {
  evaluateClaimsExpression,
  ficsForIssuer,
  matchFederatedCredential,
  parseClaimsExpression,
  validateFederatedCredential,
  validateFederatedCredentialSet,
  wildcardMatches,
  type FederatedCredential,
} from '../../../src/azure/fic.ts'

const ISS = 'https://127.0.0.1:7443'
const AUD = 'api://AzureADTokenExchange'
const fic = (
  name: string,
  subject: string,
  over: Partial<FederatedCredential> = {},
): FederatedCredential => ({
  name,
  issuer: ISS,
  subject,
  audiences: [AUD],
  ...over,
})

function code(fn: () => unknown): number {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof EntraError)
    return err.aadsts
  }
  assert.fail('expected an EntraError')
}

const assertion = (sub: string, aud = [AUD], claims: Record<string, unknown> = {}) => ({
  issuer: ISS,
  subject: sub,
  audience: aud,
  claims: { sub, ...claims },
})

void test('issuer must match exactly, including a trailing slash and case (700211)', () => {
  const fics = [fic('a', 'system:serviceaccount:default:app')]
  assert.equal(ficsForIssuer(fics, ISS).length, 1)
  assert.equal(
    code(() => ficsForIssuer(fics, `${ISS}/`)),
    700211,
  )
  assert.equal(
    code(() => ficsForIssuer(fics, ISS.toUpperCase())),
    700211,
  )
  assert.equal(
    code(() => ficsForIssuer([], ISS)),
    700211,
  )
})

void test('subject and audience matching: 700213, 700212, 70021 and success', () => {
  const fics = [
    fic('a', 'system:serviceaccount:default:app'),
    fic('b', 'system:serviceaccount:default:other', { audiences: ['custom'] }),
  ]
  assert.equal(
    matchFederatedCredential(fics, assertion('system:serviceaccount:default:app')).name,
    'a',
  )
  assert.equal(
    matchFederatedCredential(
      fics,
      assertion('system:serviceaccount:default:other', ['x', 'custom']),
    ).name,
    'b',
  )
  assert.equal(
    code(() => matchFederatedCredential(fics, assertion('system:serviceaccount:default:App'))),
    700213,
  )
  assert.equal(
    code(() =>
      matchFederatedCredential(fics, assertion('system:serviceaccount:default:app', ['nope'])),
    ),
    700212,
  )
  // subject matches FIC a, audience matches FIC b: no single record matches
  assert.equal(
    code(() =>
      matchFederatedCredential(fics, assertion('system:serviceaccount:default:app', ['custom'])),
    ),
    70021,
  )
})

void test('error bodies carry Entra fields and the AADSTS prefix', () => {
  let err: EntraError | undefined
  try {
    matchFederatedCredential([fic('a', 's1')], assertion('s2'))
  } catch (e) {
    err = e as EntraError
  }
  assert.ok(err)
  const body = entraErrorBody(err, {
    traceId: 't',
    correlationId: 'c',
    now: new Date('2026-01-02T03:04:05.678Z'),
    authorityHost: 'https://127.0.0.1:7443/',
  })
  assert.equal(body.error, 'invalid_client')
  assert.deepEqual(body.error_codes, [700213])
  assert.match(
    body.error_description,
    /^AADSTS700213: No matching federated identity record found for presented assertion subject 's2'\./,
  )
  assert.match(
    body.error_description,
    /Trace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-01-02 03:04:05Z$/,
  )
  assert.equal(body.timestamp, '2026-01-02 03:04:05Z')
  assert.equal(body.error_uri, 'https://127.0.0.1:7443/error?code=700213')
})

void test('flexible claims-matching expressions', () => {
  const terms = parseClaimsExpression(
    "claims['sub'] matches 'system:serviceaccount:team-*:*' and claims['ns'] eq 'x'",
  )
  assert.deepEqual(terms, [
    { claim: 'sub', op: 'matches', value: 'system:serviceaccount:team-*:*' },
    { claim: 'ns', op: 'eq', value: 'x' },
  ])
  assert.equal(
    evaluateClaimsExpression(terms, { sub: 'system:serviceaccount:team-a:app', ns: 'x' }),
    true,
  )
  assert.equal(
    evaluateClaimsExpression(terms, { sub: 'system:serviceaccount:team-a:app', ns: 'y' }),
    false,
  )
  assert.equal(
    evaluateClaimsExpression(terms, { sub: 'system:serviceaccount:other:app', ns: 'x' }),
    false,
  )
  assert.equal(evaluateClaimsExpression(terms, { ns: 'x' }), false)
  assert.equal(wildcardMatches('a?c', 'abc'), true)
  assert.equal(wildcardMatches('a?c', 'abbc'), false)
  assert.equal(wildcardMatches('a.c', 'abc'), false)
  for (const bad of [
    '',
    "claims['sub']",
    "claims['sub'] like 'x'",
    "claims['sub'] eq x",
    "claims['sub'] eq 'x' or claims['a'] eq 'b'",
    "claims[''] eq 'x'",
    "claims['sub'] eq 'x' and",
  ]) {
    assert.throws(() => parseClaimsExpression(bad), Error, bad)
  }
  const flex = [
    {
      name: 'flex',
      issuer: ISS,
      claimsMatchingExpression: "claims['sub'] matches 'system:serviceaccount:team-*'",
      audiences: [AUD],
    },
  ]
  assert.equal(
    matchFederatedCredential(flex, assertion('system:serviceaccount:team-x')).name,
    'flex',
  )
  assert.equal(
    code(() => matchFederatedCredential(flex, assertion('system:serviceaccount:other'))),
    7002131,
  )
})

void test('FIC validation: name, one audience, subject xor expression, limits', () => {
  assert.deepEqual(validateFederatedCredential(fic('good-name_1', 's')), [])
  const problems = (f: FederatedCredential) => validateFederatedCredential(f).join('\n')
  assert.match(problems(fic('-bad', 's')), /name '-bad' is invalid/)
  assert.match(problems(fic('ab', 's')), /is invalid/)
  assert.match(problems(fic('name', 's', { audiences: [] })), /exactly one audience/)
  assert.match(problems(fic('name', 's', { audiences: ['a', 'b'] })), /exactly one audience/)
  assert.match(
    problems(fic('name', 's', { claimsMatchingExpression: "claims['sub'] eq 'x'" })),
    /exactly one of subject/,
  )
  assert.match(problems({ name: 'name', issuer: ISS, audiences: [AUD] }), /exactly one of subject/)
  assert.match(problems(fic('name', 'system:*')), /wildcards/)
  assert.match(problems(fic('name', 's', { issuer: ` ${ISS}` })), /whitespace/)
  assert.match(problems(fic('name', 'x'.repeat(601))), /subject must be 1 to 600/)
  const many = Array.from({ length: 21 }, (_, i) => fic(`fic-${i}`, `s${i}`))
  assert.match(validateFederatedCredentialSet(many).join('\n'), /at most 20/)
  assert.deepEqual(validateFederatedCredentialSet(many.slice(0, 20)), [])
  assert.match(
    validateFederatedCredentialSet([fic('abc', 's'), fic('ABC', 't')]).join('\n'),
    /duplicate federated identity credential name/,
  )
  assert.match(
    validateFederatedCredentialSet([fic('abc', 's'), fic('def', 's')]).join('\n'),
    /Issuer and subject combination already exists/,
  )
})

void test('wildcard matching agrees with a regular-expression reference and stays fast', async () => {
  const fc = (await import('fast-check')).default
  const reference = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`))}$`,
      's',
    ).test(value)
  const alphabet = fc.constantFrom('a', 'b', '*', '?', ':')
  fc.assert(
    fc.property(
      fc.array(alphabet, { maxLength: 8 }),
      fc.array(fc.constantFrom('a', 'b', ':'), { maxLength: 10 }),
      (p, v) => {
        assert.equal(wildcardMatches(p.join(''), v.join('')), reference(p.join(''), v.join('')))
      },
    ),
  )
  const start = performance.now()
  assert.equal(wildcardMatches('*a'.repeat(50) + 'b', 'a'.repeat(600)), false)
  assert.ok(performance.now() - start < 200)
})
