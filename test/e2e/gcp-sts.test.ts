/**
 * Google STS, introspection and IAM Credentials over raw HTTP against the in-process server: every
 * decision path and error shape that the client e2e tests do not reach.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { applyConfig } from '../../src/server/config.ts'
import { startServer, type RunningServer } from '../../src/server/start.ts'
import { getIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const NUMBER = '123456789012'
const POOL = `projects/${NUMBER}/locations/global/workloadIdentityPools/kube`
const AUD = `//iam.googleapis.com/${POOL}/providers/local`
const SA = 'app-sa@demo-project.iam.gserviceaccount.com'
const FOREIGN = 'https://foreign.example/cluster'

let server: RunningServer
let dir: string
let foreignKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podtrust-gcp-sts-'))
  server = await startServer({ dataDir: join(dir, 'data'), port: 0, logLevel: 'silent' })
  const issuerUrl = (await getIssuer(server.ctx.db, 'default'))!.url
  const pair = await generateKeyPair('RS256', { extractable: true })
  foreignKey = pair.privateKey
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'foreign-1', alg: 'RS256', use: 'sig' }
  await applyConfig(
    server.ctx.db,
    `
gcp:
  projects:
    - projectId: demo-project
      projectNumber: '${NUMBER}'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
              attributeMapping:
                google.subject: assertion.sub
                google.groups: "['ns-' + assertion['kubernetes.io']['namespace']]"
                attribute.namespace: assertion['kubernetes.io']['namespace']
            - providerId: custom-aud
              oidc: { issuerUri: '${issuerUrl}', allowedAudiences: [my-audience] }
            - providerId: off-one
              disabled: true
              oidc: { issuerUri: '${issuerUrl}' }
            - providerId: foreign
              oidc:
                issuerUri: ${FOREIGN}
                jwksJson: '${JSON.stringify({ keys: [jwk] })}'
        - poolId: short
          sessionDuration: 600s
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
      serviceAccounts:
        - accountId: app-sa
          uniqueId: '111222333444555666777'
          bindings:
            - role: roles/iam.workloadIdentityUser
              members: ['principalSet://iam.googleapis.com/${POOL}/group/ns-default']
        - accountId: off-sa
          disabled: true
          bindings:
            - role: roles/iam.workloadIdentityUser
              members: ['principalSet://iam.googleapis.com/${POOL}/*']
`,
    { accountId: '000000000000', region: 'us-east-1', now: new Date() },
  )
})

after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

const mint = (audience: string, namespace = 'default', now = new Date()) =>
  mintServiceAccountToken(server.ctx.db, {
    namespace,
    serviceAccount: 'app',
    audiences: [audience],
    now,
  })

function exchangeForm(
  subjectToken: string,
  audience = AUD,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    ...extra,
  }
}

async function sts(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.baseUrl}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function federatedToken(): Promise<string> {
  const r = await sts(exchangeForm(await mint(AUD)))
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body['access_token'] as string
}

interface GenerateBody {
  accessToken: string
  expireTime: string
  error: { status: string; message: string; details: { reason: string }[] }
}

async function generate(token: string | undefined, body: unknown, account = SA) {
  const res = await fetch(
    `${server.baseUrl}/v1/projects/-/serviceAccounts/${account}:generateAccessToken`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    },
  )
  return { status: res.status, body: (await res.json()) as GenerateBody }
}

void test('successful exchange: shape, lifetime capped by the subject token, Basic client auth ignored', async () => {
  const r = await sts(exchangeForm(await mint(AUD)), {
    authorization: `Basic ${Buffer.from('32555940559.apps.googleusercontent.com:x').toString('base64')}`,
  })
  assert.equal(r.status, 200)
  assert.equal(r.body['token_type'], 'Bearer')
  assert.equal(r.body['issued_token_type'], 'urn:ietf:params:oauth:token-type:access_token')
  assert.ok((r.body['expires_in'] as number) <= 3600 && (r.body['expires_in'] as number) > 3500)
  assert.match(r.body['access_token'] as string, /^ya29\.d\./)
  // https: form of the default audience is accepted too
  const https = await sts(exchangeForm(await mint(`https:${AUD}`)))
  assert.equal(https.status, 200, JSON.stringify(https.body))
  // a JSON-encoded request works as well
  const res = await fetch(`${server.baseUrl}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(exchangeForm(await mint(AUD))),
  })
  assert.equal(res.status, 200)
})

void test('pool sessionDuration sets expires_in', async () => {
  const aud = `//iam.googleapis.com/projects/${NUMBER}/locations/global/workloadIdentityPools/short/providers/local`
  const r = await sts(exchangeForm(await mint(aud), aud))
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body['expires_in'], 600)
})

void test('STS errors: Google codes and messages', async () => {
  const good = await mint(AUD)
  const cases: [Record<string, string>, string, RegExp][] = [
    [exchangeForm(good, 'projects/1/pools/x'), 'invalid_request', /^Invalid value for "audience"/],
    [
      exchangeForm(good, AUD.replace('/local', '/nope')),
      'invalid_target',
      /pool or provider is disabled or deleted/,
    ],
    [exchangeForm(good, AUD.replace('/local', '/off-one')), 'invalid_target', /disabled/],
    [exchangeForm(good, AUD.replace(NUMBER, '999')), 'invalid_target', /doesn't exist/],
    [
      exchangeForm(good, AUD, { grant_type: 'client_credentials' }),
      'unsupported_grant_type',
      /Unsupported grant type/,
    ],
    [
      exchangeForm(good, AUD, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }),
      'invalid_request',
      /not supported by OIDC providers/,
    ],
    [
      exchangeForm(good, AUD, { requested_token_type: 'urn:x' }),
      'invalid_request',
      /requested_token_type/,
    ],
    [exchangeForm('', AUD), 'invalid_request', /Missing required parameter: "subject_token"/],
    [exchangeForm('garbage', AUD), 'invalid_grant', /Unable to parse the ID Token/],
    [
      exchangeForm(await mint('sts.amazonaws.com'), AUD),
      'invalid_grant',
      /The audience in ID Token \[sts.amazonaws.com\] does not match the expected audience/,
    ],
    [
      exchangeForm(good, AUD.replace('/local', '/custom-aud')),
      'invalid_grant',
      /does not match the expected audience/,
    ],
    [
      exchangeForm(await mint(AUD, 'default', new Date(Date.now() - 7200_000)), AUD),
      'invalid_grant',
      /^ID Token issued at \d+ is stale to sign-in\.$/,
    ],
    [exchangeForm(good.slice(0, -6) + 'AAAAAA', AUD), 'invalid_grant', /Invalid JWT signature/],
  ]
  for (const [form, error, description] of cases) {
    const r = await sts(form)
    assert.equal(r.status, 400, `${error} ${description}`)
    assert.equal(r.body['error'], error, String(description))
    assert.match(r.body['error_description'] as string, description)
  }
  const custom = await sts(
    exchangeForm(await mint('my-audience'), AUD.replace('/local', '/custom-aud')),
  )
  assert.equal(custom.status, 200, JSON.stringify(custom.body))
})

void test('a provider with uploaded jwksJson verifies a foreign issuer without fetching it', async () => {
  const aud = AUD.replace('/local', '/foreign')
  const sign = (kid: string) =>
    new SignJWT({ sub: 'repo:org/app' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(FOREIGN)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(foreignKey)
  const ok = await sts(exchangeForm(await sign('foreign-1'), aud))
  assert.equal(ok.status, 200, JSON.stringify(ok.body))
  const bad = await sts(exchangeForm(await sign('other-kid'), aud))
  assert.equal(bad.body['error'], 'invalid_grant')
})

void test('introspection, tokeninfo and the project lookup', async () => {
  const token = await federatedToken()
  const info = await fetch(`${server.baseUrl}/v1/introspect`, {
    method: 'POST',
    body: new URLSearchParams({
      token,
      token_type_hint: 'urn:ietf:params:oauth:token-type:access_token',
    }),
  })
  const body = (await info.json()) as Record<string, unknown>
  assert.equal(body['active'], true)
  assert.equal(
    body['username'],
    `principal://iam.googleapis.com/${POOL}/subject/system:serviceaccount:default:app`,
  )
  const inactive = await fetch(`${server.baseUrl}/v1/introspect`, {
    method: 'POST',
    body: new URLSearchParams({ token: 'ya29.d.forged' }),
  })
  assert.deepEqual(await inactive.json(), { active: false })
  const tokeninfo = await fetch(
    `${server.baseUrl}/tokeninfo?access_token=${encodeURIComponent(token)}`,
  )
  assert.equal(((await tokeninfo.json()) as Record<string, unknown>)['sub'], body['username'])
  const project = await fetch(`${server.baseUrl}/v1/projects/${NUMBER}`)
  assert.deepEqual(((await project.json()) as Record<string, unknown>)['projectId'], 'demo-project')
})

void test('generateAccessToken: group member binding, expireTime format, unique id, errors', async () => {
  const token = await federatedToken()
  const ok = await generate(token, {
    delegates: null,
    scope: ['https://www.googleapis.com/auth/cloud-platform'],
    lifetime: '1800s',
  })
  assert.equal(ok.status, 200, JSON.stringify(ok.body))
  assert.match(ok.body['expireTime'], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  const remaining = Date.parse(ok.body['expireTime']) - Date.now()
  assert.ok(remaining > 1700_000 && remaining <= 1800_000, String(remaining))
  assert.match(ok.body['accessToken'], /^ya29\.c\./)
  const byId = await generate(token, { scope: ['x'] }, '111222333444555666777')
  assert.equal(byId.status, 200)
  const unauthenticated = await generate(undefined, { scope: ['x'] })
  assert.equal(unauthenticated.status, 401)
  assert.equal(unauthenticated.body['error']['status'], 'UNAUTHENTICATED')
  // an impersonated token cannot impersonate again
  const chained = await generate(ok.body['accessToken'], { scope: ['x'] })
  assert.equal(chained.status, 401)
  const noScope = await generate(token, {})
  assert.equal(noScope.status, 400)
  assert.equal(noScope.body['error']['status'], 'INVALID_ARGUMENT')
  const badLifetime = await generate(token, { scope: ['x'], lifetime: '7200s' })
  assert.equal(badLifetime.status, 400)
  const unknown = await generate(
    token,
    { scope: ['x'] },
    'nobody@demo-project.iam.gserviceaccount.com',
  )
  assert.equal(unknown.status, 403)
  assert.equal(
    unknown.body['error']['message'],
    "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
  )
  assert.equal(unknown.body.error.details[0]?.reason, 'IAM_PERMISSION_DENIED')
  const disabled = await generate(
    token,
    { scope: ['x'] },
    'off-sa@demo-project.iam.gserviceaccount.com',
  )
  assert.equal(disabled.status, 403)
  assert.match(disabled.body['error']['message'], /is disabled/)
  // a principal in another namespace is not in group ns-default
  const otherToken = (await sts(exchangeForm(await mint(AUD, 'prod')))).body[
    'access_token'
  ] as string
  const denied = await generate(otherToken, { scope: ['x'] })
  assert.equal(denied.status, 403)
})

void test('generateIdToken returns a token verifiable at /google', async () => {
  const token = await federatedToken()
  const res = await fetch(`${server.baseUrl}/v1/projects/-/serviceAccounts/${SA}:generateIdToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ audience: 'https://example.com', includeEmail: true }),
  })
  assert.equal(res.status, 200)
  const idToken = ((await res.json()) as { token: string }).token
  const { createRemoteJWKSet, jwtVerify } = await import('jose')
  const { payload } = await jwtVerify(
    idToken,
    createRemoteJWKSet(new URL(`${server.baseUrl}/google/oauth2/v3/certs`)),
    {
      issuer: `${server.baseUrl}/google`,
      audience: 'https://example.com',
    },
  )
  assert.equal(payload['email'], SA)
})

void test('exchanges are audited with Google event sources', async () => {
  const log = server.ctx.audit as unknown as {
    flush(): Promise<void>
    tail(o: object): Promise<{ event: Record<string, unknown> }[]>
  }
  await log.flush()
  const events = (await log.tail({ limit: 500 })).map((e) => e.event)
  assert.ok(
    events.some(
      (e) =>
        e['eventSource'] === 'sts.googleapis.com' &&
        e['eventName'] === 'ExchangeToken' &&
        e['errorCode'] === undefined,
    ),
  )
  assert.ok(
    events.some(
      (e) => e['eventSource'] === 'sts.googleapis.com' && e['errorCode'] === 'invalid_target',
    ),
  )
  assert.ok(
    events.some(
      (e) =>
        e['eventSource'] === 'iamcredentials.googleapis.com' &&
        e['errorCode'] === 'PERMISSION_DENIED',
    ),
  )
  assert.ok(!JSON.stringify(events).includes('ya29.'), 'no access token in the audit log')
})

void test('malformed inputs never become server errors', async () => {
  const token = await federatedToken()
  const encoded = await fetch(
    `${server.baseUrl}/v1/projects/-/serviceAccounts/${SA.replace('@', '%40')}:generateAccessToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scope: ['x'] }),
    },
  )
  assert.equal(encoded.status, 200)
  const badEscape = await fetch(
    `${server.baseUrl}/v1/projects/-/serviceAccounts/a%E0%A4%A:generateAccessToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{}',
    },
  )
  assert.ok(badEscape.status < 500, String(badEscape.status))
  const badJson = await fetch(
    `${server.baseUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{not json',
    },
  )
  assert.equal(badJson.status, 400)
  const stsJson = await fetch(`${server.baseUrl}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{not json',
  })
  assert.equal(stsJson.status, 400)
  assert.equal(((await stsJson.json()) as { error: string }).error, 'invalid_request')
  const tokeninfo = await fetch(`${server.baseUrl}/tokeninfo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{not json',
  })
  assert.equal(tokeninfo.status, 400)
  const introspect = await fetch(`${server.baseUrl}/v1/introspect`, { method: 'POST', body: '' })
  assert.equal(introspect.status, 400)
})

void test('tokens of a disabled pool stop working', async () => {
  const issuerUrl = (await getIssuer(server.ctx.db, 'default'))!.url
  const aud = `//iam.googleapis.com/projects/${NUMBER}/locations/global/workloadIdentityPools/short/providers/local`
  const r = await sts(exchangeForm(await mint(aud), aud))
  assert.equal(r.status, 200)
  const token = r.body['access_token'] as string
  const setDisabled = (disabled: boolean) =>
    applyConfig(
      server.ctx.db,
      `
gcp:
  projects:
    - projectId: demo-project
      projectNumber: '${NUMBER}'
      pools:
        - poolId: short
          disabled: ${disabled}
          sessionDuration: 600s
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
`,
      { accountId: '000000000000', region: 'us-east-1', now: new Date() },
    )
  const introspect = async () =>
    (await (
      await fetch(`${server.baseUrl}/v1/introspect`, {
        method: 'POST',
        body: new URLSearchParams({ token }),
      })
    ).json()) as { active: boolean }
  assert.equal((await introspect()).active, true)
  await setDisabled(true)
  try {
    assert.equal((await introspect()).active, false)
    const exchange = await sts(exchangeForm(await mint(aud), aud))
    assert.equal(exchange.body['error'], 'invalid_target')
  } finally {
    await setDisabled(false)
  }
  assert.equal((await introspect()).active, true)
})

void test('oversized bodies are refused in Google shapes', async () => {
  const big = 'x'.repeat(100 * 1024)
  const res = await fetch(`${server.baseUrl}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ subject_token: big }),
  })
  assert.equal(res.status, 400)
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_request')
  const api = await fetch(
    `${server.baseUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: [big] }),
    },
  )
  assert.equal(api.status, 400)
  assert.equal(
    ((await api.json()) as { error: { status: string } }).error.status,
    'INVALID_ARGUMENT',
  )
})
