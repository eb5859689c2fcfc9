import assert from 'node:assert/strict'
import { request } from 'node:http'
import { afterEach, describe, it } from 'node:test'
import { type RunningAgent, startAgent } from '../../../src/agent/server.ts'
import { type PodCredentials, UpstreamError } from '../../../src/agent/source.ts'
import { basicClaimCheck } from '../../../src/agent/jwt.ts'

const T0 = Date.parse('2026-01-01T00:00:00Z')

function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${enc({ alg: 'RS256' })}.${enc(claims)}.sig`
}

const goodToken = (n = 1) => jwt({ sub: `pod-${n}`, exp: T0 / 1000 + 86400, iat: T0 / 1000 })

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

void describe('podtrust agent', () => {
  let agent: RunningAgent | undefined
  afterEach(async () => {
    await agent?.close()
    agent = undefined
  })

  function setup(lifetimeSeconds = 6 * 3600, fail?: UpstreamError) {
    const clock = { now: T0 }
    const calls: string[] = []
    const source = async (token: string): Promise<PodCredentials> => {
      calls.push(token)
      if (fail !== undefined) throw fail
      return {
        accessKeyId: `ASIA${calls.length}`,
        secretAccessKey: 'secret',
        sessionToken: `session-${calls.length}`,
        expiration: new Date(clock.now + lifetimeSeconds * 1000),
        roleArn: 'arn:aws:sts::111122223333:assumed-role/app/eks-c1-pod-x',
      }
    }
    return { clock, calls, source }
  }

  void it('serves credentials in the container-credentials format and caches per token', async () => {
    const { clock, calls, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const r1 = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(r1.status, 200)
    assert.match(r1.type, /application\/json/)
    const body = JSON.parse(r1.body) as Record<string, string>
    assert.deepEqual(Object.keys(body).sort(), [
      'AccessKeyId',
      'AccountId',
      'Expiration',
      'SecretAccessKey',
      'Token',
    ])
    assert.equal(body['AccountId'], '111122223333')
    assert.equal(body['Expiration'], '2026-01-01T06:00:00Z')
    const r2 = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(JSON.parse(r2.body).Token, 'session-1')
    assert.equal(calls.length, 1)
    await get(agent.credentialsUrl, { authorization: goodToken(2) })
    assert.equal(calls.length, 2)
    assert.deepEqual(agent.cache.stats().size, 2)
  })

  void it('renews in the background after min(3 h, half the lifetime) and never serves < 20 min', async () => {
    const { clock, calls, source } = setup(3600)
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    await get(agent.credentialsUrl, { authorization: goodToken() })
    clock.now += 31 * 60 * 1000 // past half-life: served from cache, refreshed behind
    const r = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(JSON.parse(r.body).Token, 'session-1')
    await new Promise((res) => setTimeout(res, 20))
    assert.equal(calls.length, 2)
    const fresh = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(JSON.parse(fresh.body).Token, 'session-2')
    clock.now += 45 * 60 * 1000 // 14 min left of session-2: too close, fetched synchronously
    const sync = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(JSON.parse(sync.body).Token, 'session-3')
  })

  void it('refuses requests without Authorization, with an expired or unparsable token', async () => {
    const { clock, calls, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const none = await get(agent.credentialsUrl)
    assert.equal(none.status, 401)
    assert.equal(JSON.parse(none.body).Code, 'AccessDenied')
    const expired = await get(agent.credentialsUrl, { authorization: jwt({ exp: T0 / 1000 - 10 }) })
    assert.equal(expired.status, 400)
    assert.match(JSON.parse(expired.body).Message, /basic claim validations/)
    const garbage = await get(agent.credentialsUrl, { authorization: 'Bearer abc' })
    assert.equal(garbage.status, 400)
    assert.equal(calls.length, 0)
  })

  void it('refuses a Host that is not one of its addresses', async () => {
    const { clock, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const r = await get(agent.credentialsUrl, {
      authorization: goodToken(),
      host: 'evil.example:80',
    })
    assert.equal(r.status, 403)
  })

  void it('passes EKS Auth errors through with their status', async () => {
    const { clock, source } = setup(
      3600,
      new UpstreamError(404, 'ResourceNotFoundException', 'no association'),
    )
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const r = await get(agent.credentialsUrl, { authorization: goodToken() })
    assert.equal(r.status, 404)
    assert.deepEqual(JSON.parse(r.body), {
      Code: 'ResourceNotFoundException',
      Message: 'no association',
    })
  })

  void it('shares one EKS Auth call among concurrent first requests for a token', async () => {
    const { clock, calls, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const url = agent.credentialsUrl
    const results = await Promise.all(
      Array.from({ length: 10 }, () => get(url, { authorization: goodToken(7) })),
    )
    assert.ok(results.every((r) => r.status === 200))
    assert.equal(calls.length, 1)
  })

  void it('serves /healthz and /metrics', async () => {
    const { clock, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now) })
    const base = agent.urls[0] ?? ''
    assert.equal((await get(`${base}/healthz`)).status, 200)
    await get(agent.credentialsUrl, { authorization: goodToken() })
    const m = await get(`${base}/metrics`)
    assert.match(m.body, /podtrust_agent_credential_requests_total\{status="200",cache="miss"\} 1/)
    assert.match(m.body, /podtrust_agent_cache_entries 1/)
    assert.equal((await get(`${base}/nope`)).status, 404)
  })

  void it('evicts least recently used tokens beyond maxEntries', async () => {
    const { clock, calls, source } = setup()
    agent = await startAgent({ source, now: () => new Date(clock.now), maxEntries: 2 })
    for (const n of [1, 2, 3]) await get(agent.credentialsUrl, { authorization: goodToken(n) })
    assert.equal(agent.cache.stats().size, 2)
    await get(agent.credentialsUrl, { authorization: goodToken(1) })
    assert.equal(calls.length, 4)
  })
})

void describe('basicClaimCheck', () => {
  const now = new Date(T0)
  void it('accepts a valid token and rejects malformed ones', () => {
    assert.equal(basicClaimCheck(goodToken(), now).exp, T0 / 1000 + 86400)
    for (const bad of [
      '',
      'a.b',
      'a..c',
      'x.!!!.y',
      `a.${Buffer.from('[1]').toString('base64url')}.c`,
    ]) {
      assert.throws(() => basicClaimCheck(bad, now), /cannot be parsed/, bad)
    }
    assert.throws(() => basicClaimCheck(jwt({ nbf: T0 / 1000 + 3600 }), now), /not valid yet/)
    assert.throws(() => basicClaimCheck(jwt({ iat: T0 / 1000 + 3600 }), now), /before issued/)
  })
})

void describe('agent credentials from the standard AWS environment', () => {
  void it('prefers the variables, then reads the profile of the shared credentials file', async () => {
    const { profileCredentials, standardCredentials } = await import('../../../src/agent/source.ts')
    const { mkdtempSync, writeFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const file = join(mkdtempSync(join(tmpdir(), 'podtrust-creds-')), 'credentials')
    writeFileSync(
      file,
      '# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n[node]\r\nAWS_ACCESS_KEY_ID=ASIANODE\naws_secret_access_key=s2\naws_session_token = t2\n',
    )
    assert.deepEqual(standardCredentials({ AWS_SHARED_CREDENTIALS_FILE: file }), {
      accessKeyId: 'AKIADEFAULT',
      secretAccessKey: 's1',
    })
    assert.deepEqual(
      standardCredentials({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'node' }),
      {
        accessKeyId: 'ASIANODE',
        secretAccessKey: 's2',
        sessionToken: 't2',
      },
    )
    assert.deepEqual(
      standardCredentials({
        AWS_SHARED_CREDENTIALS_FILE: file,
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 'B',
      }),
      { accessKeyId: 'A', secretAccessKey: 'B' },
    )
    assert.equal(
      standardCredentials({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'missing' }),
      undefined,
    )
    assert.equal(
      standardCredentials({ AWS_SHARED_CREDENTIALS_FILE: join(file, 'nope') }),
      undefined,
    )
    // Malformed files yield nothing rather than half a credential.
    for (const bad of [
      '',
      '[default',
      'aws_access_key_id=A\naws_secret_access_key=B',
      '[default]\naws_access_key_id=A',
    ]) {
      assert.equal(profileCredentials(bad, 'default'), undefined, JSON.stringify(bad))
    }
  })
})

void describe('credential cache background renewal rate', () => {
  void it('renews at most refreshPerSecond tokens per second in the background', async () => {
    const { createCredentialCache } = await import('../../../src/agent/cache.ts')
    let now = T0
    const calls: string[] = []
    const cache = createCredentialCache({
      now: () => new Date(now),
      refreshPerSecond: 2,
      source: async (token) => {
        calls.push(token)
        return {
          accessKeyId: 'A',
          secretAccessKey: 'S',
          sessionToken: `t-${calls.length}`,
          expiration: new Date(now + 3600 * 1000),
          roleArn: 'arn:aws:sts::111122223333:assumed-role/r/s',
        }
      },
    })
    for (let i = 0; i < 5; i++) await cache.get(`tok-${i}`)
    assert.equal(calls.length, 5)
    now += 31 * 60 * 1000 // every entry is past its renewal point
    for (let i = 0; i < 5; i++) assert.equal((await cache.get(`tok-${i}`)).cached, true)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(calls.length, 5 + 2, 'a burst of 2')
    now += 1000
    for (let i = 0; i < 5; i++) await cache.get(`tok-${i}`)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(calls.length, 5 + 4, 'two more after one second')
    assert.equal(cache.stats().backgroundRefreshes, 4)
  })
})
