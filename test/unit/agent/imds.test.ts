/**
 * The IMDSv2-compatible endpoint, checked against the EC2 User Guide's rules
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html,
 *  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html — the
 *  `HttpTokens` option and the HTTP error codes: 400 a PUT with a missing or invalid TTL, 401 a GET with an
 *  invalid token, 403 a request that is not allowed, 404 a path that does not exist) and read by the AWS SDK
 * for JavaScript v3's own instance-metadata provider.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { fromInstanceMetadata } from '@aws-sdk/credential-providers'
import { type RunningImds, createTokenCodec, startImds } from '../../../src/agent/imds.ts'

const identity = {
  accountId: '111122223333',
  region: 'eu-west-1',
  availabilityZone: 'eu-west-1a',
  instanceId: 'i-0123456789abcdef0',
  instanceType: 'm5.large',
  imageId: 'ami-0123456789abcdef0',
  privateIp: '10.0.0.10',
  roleName: 'node-role',
  instanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/node-role',
  instanceProfileId: 'AIPAEXAMPLE',
}

void describe('agent/imds', () => {
  let imds: RunningImds
  let clock = new Date('2026-12-06T12:00:00Z')
  let calls = 0
  let fail = false
  before(async () => {
    imds = await startImds({
      identity,
      now: () => clock,
      source: () => {
        calls++
        if (fail) return Promise.reject(new Error('trust denied'))
        return Promise.resolve({
          accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
          secretAccessKey: 'secret',
          sessionToken: 'session-token',
          expiration: new Date(clock.getTime() + 6 * 3600_000),
        })
      },
    })
  })
  after(() => imds.close())
  const url = (p: string) => `${imds.urls[0]}${p}`
  const token = async (ttl = '21600', headers: Record<string, string> = {}) =>
    fetch(url('/latest/api/token'), {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl, ...headers },
    })

  void it('issues tokens for TTLs 1–21600 and refuses others (400) and proxied requests (403)', async () => {
    const ok = await token('1')
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('x-aws-ec2-metadata-token-ttl-seconds'), '1')
    assert.equal((await token('21600')).status, 200)
    for (const bad of ['0', '21601', 'abc', '-5', ''])
      assert.equal((await token(bad)).status, 400, bad)
    assert.equal((await fetch(url('/latest/api/token'), { method: 'PUT' })).status, 400)
    assert.equal((await token('60', { 'x-forwarded-for': '10.1.2.3' })).status, 403)
  })

  void it('requires the token on every GET (401 without, forged or expired)', async () => {
    assert.equal((await fetch(url('/latest/meta-data/'))).status, 401)
    assert.equal(
      (
        await fetch(url('/latest/meta-data/'), {
          headers: { 'x-aws-ec2-metadata-token': 'A'.repeat(54) },
        })
      ).status,
      401,
    )
    const foreign = createTokenCodec().issue(clock.getTime() + 60_000)
    assert.equal(
      (await fetch(url('/latest/meta-data/'), { headers: { 'x-aws-ec2-metadata-token': foreign } }))
        .status,
      401,
    )
    const t = await (await token('2')).text()
    assert.equal(
      (
        await fetch(url('/latest/meta-data/instance-id'), {
          headers: { 'x-aws-ec2-metadata-token': t },
        })
      ).status,
      200,
    )
    clock = new Date(clock.getTime() + 3000)
    assert.equal(
      (
        await fetch(url('/latest/meta-data/instance-id'), {
          headers: { 'x-aws-ec2-metadata-token': t },
        })
      ).status,
      401,
    )
  })

  void it('serves the role name, its credentials, placement and the identity document', async () => {
    const h = { 'x-aws-ec2-metadata-token': await (await token()).text() }
    const get = (p: string) => fetch(url(p), { headers: h })
    assert.equal(
      await (await get('/latest/meta-data/iam/security-credentials/')).text(),
      'node-role',
    )
    assert.equal(
      await (await get('/latest/meta-data/iam/security-credentials')).text(),
      'node-role',
    )
    const creds = (await (
      await get('/latest/meta-data/iam/security-credentials/node-role')
    ).json()) as Record<string, string>
    assert.deepEqual(Object.keys(creds), [
      'Code',
      'LastUpdated',
      'Type',
      'AccessKeyId',
      'SecretAccessKey',
      'Token',
      'Expiration',
    ])
    assert.equal(creds['Code'], 'Success')
    assert.equal(creds['Type'], 'AWS-HMAC')
    assert.match(creds['Expiration'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.equal(await (await get('/latest/meta-data/placement/region')).text(), 'eu-west-1')
    const doc = (await (await get('/latest/dynamic/instance-identity/document')).json()) as Record<
      string,
      unknown
    >
    assert.equal(doc['accountId'], '111122223333')
    assert.equal(doc['instanceId'], 'i-0123456789abcdef0')
    assert.equal(doc['version'], '2017-09-30')
    assert.equal((await get('/latest/meta-data/iam/security-credentials/other-role')).status, 404)
    // Cached: a second read does not assume the role again.
    const before = calls
    await get('/latest/meta-data/iam/security-credentials/node-role')
    assert.equal(calls, before)
  })

  void it('serves the version and category listings and answers IMDS’s 404 page for anything else', async () => {
    const h = { 'x-aws-ec2-metadata-token': await (await token()).text() }
    const get = (p: string) => fetch(url(p), { headers: h })
    assert.equal(await (await get('/')).text(), 'latest')
    assert.equal(await (await get('/latest')).text(), 'dynamic\nmeta-data')
    assert.equal(await (await get('/latest/')).text(), 'dynamic\nmeta-data')
    const listing = (await (await get('/latest/meta-data/')).text()).split('\n')
    for (const entry of ['iam/', 'instance-id', 'placement/']) assert.ok(listing.includes(entry))
    assert.equal(await (await get('/latest/meta-data/iam/')).text(), 'info\nsecurity-credentials/')
    assert.equal(await (await get('/latest/meta-data/instance-id')).text(), identity.instanceId)
    const info = (await (await get('/latest/meta-data/iam/info')).json()) as Record<string, string>
    assert.equal(info['Code'], 'Success')
    assert.equal(info['InstanceProfileArn'], identity.instanceProfileArn)
    // Unknown paths — including ones outside /latest and JavaScript prototype names — are 404, not a listing.
    for (const p of [
      '/foo',
      '/latest/nope',
      '/latest/meta-data/nope',
      '/latest/toString',
      '/latest/constructor',
      '/latest/meta-data/__proto__',
      '/latest/meta-data/iam/security-credentials/node-role/extra',
    ]) {
      const r = await get(p)
      assert.equal(r.status, 404, p)
      assert.equal(r.headers.get('content-type'), 'text/html', p)
      assert.match(await r.text(), /<title>404 - Not Found<\/title>/, p)
    }
    const post = await fetch(url('/latest/meta-data/'), { method: 'POST', headers: h })
    assert.equal(post.status, 405)
    await post.arrayBuffer()
  })

  void it('a token must be valid even with IMDSv1 allowed; IMDSv1 is answered only when configured optional', async () => {
    const optional = await startImds({
      identity,
      httpTokens: 'optional',
      now: () => clock,
      source: () =>
        Promise.resolve({
          accessKeyId: 'ASIAEXAMPLEEXAMPLE02',
          secretAccessKey: 'secret',
          sessionToken: 'session-token',
          expiration: new Date(clock.getTime() + 6 * 3600_000),
        }),
    })
    try {
      const at = (p: string) => `${optional.urls[0]}${p}`
      // IMDSv1: no token at all.
      const v1 = await fetch(at('/latest/meta-data/iam/security-credentials/node-role'))
      assert.equal(v1.status, 200)
      assert.equal(
        ((await v1.json()) as Record<string, string>)['AccessKeyId'],
        'ASIAEXAMPLEEXAMPLE02',
      )
      // A forged token is still refused.
      const forged = await fetch(at('/latest/meta-data/instance-id'), {
        headers: { 'x-aws-ec2-metadata-token': createTokenCodec().issue(clock.getTime() + 60_000) },
      })
      assert.equal(forged.status, 401)
      await forged.arrayBuffer()
      // The token PUT keeps its rules in optional mode.
      const proxied = await fetch(at('/latest/api/token'), {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.1' },
      })
      assert.equal(proxied.status, 403)
      await proxied.arrayBuffer()
    } finally {
      await optional.close()
    }
    // The default endpoint (required) refuses the same IMDSv1 request.
    const r = await fetch(url('/latest/meta-data/iam/security-credentials/node-role'))
    assert.equal(r.status, 401)
    assert.match(await r.text(), /401 - Unauthorized/)
  })

  void it('the JS SDK’s instance-metadata provider reads the credentials', async () => {
    const provider = fromInstanceMetadata({ maxRetries: 0, timeout: 2000 })
    const prev = process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT']
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = imds.urls[0]
    try {
      const c = await provider()
      assert.equal(c.accessKeyId, 'ASIAEXAMPLEEXAMPLE01')
      assert.equal(c.sessionToken, 'session-token')
    } finally {
      if (prev === undefined) delete process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT']
      else process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = prev
    }
  })

  void it('fails closed when the role cannot be assumed', async () => {
    clock = new Date(clock.getTime() + 7 * 3600_000)
    fail = true
    const h = { 'x-aws-ec2-metadata-token': await (await token()).text() }
    const r = await fetch(url('/latest/meta-data/iam/security-credentials/node-role'), {
      headers: h,
    })
    assert.equal(r.status, 500)
    assert.doesNotMatch(await r.text(), /AccessKeyId/)
    fail = false
  })
})
