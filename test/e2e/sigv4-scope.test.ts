/**
 * SigV4 rules on the wire, through the real server (each case failed before its fix):
 * - a credential scope naming no real Region is refused (SignatureDoesNotMatch, "Credential should be scoped
 *   to a valid region, not '…'."), and IAM, a global service, is signed for us-east-1
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html), so a Deny on
 *   aws:RequestedRegion cannot be bypassed by signing for an invented Region;
 * - `x-amz-content-sha256: UNSIGNED-PAYLOAD` is S3's alone: STS hashes the body it received;
 * - a presigned URL without X-Amz-Expires is incomplete.
 */
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { presignUrl, signRequest } from '../../src/aws/sigv4/sign.ts'
import { type Keys, type StsTestServer, startStsTestServer, xmlText } from './helpers/index.ts'

const STS_BODY = 'Action=GetCallerIdentity&Version=2011-06-15'
const IAM_BODY = 'Action=ListUsers&Version=2010-05-08'

void describe('SigV4 scope, payload and presign rules (STS, IAM)', () => {
  let t: StsTestServer
  let keys: Keys

  before(async () => {
    t = await startStsTestServer()
    keys = await t.addUser('caller', { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' })
  })
  after(async () => t?.close())

  const post = async (body: string, service: string, region: string) => {
    const headers = signRequest({
      method: 'POST',
      url: `${t.server.baseUrl}/`,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
      service,
      region,
      credentials: keys,
      now: new Date(),
    })
    const res = await fetch(`${t.server.baseUrl}/`, { method: 'POST', headers, body })
    return { status: res.status, body: await res.text() }
  }

  void it('STS: a real Region is accepted, an invented one refused as AWS does', async () => {
    assert.equal((await post(STS_BODY, 'sts', 'ap-southeast-2')).status, 200)
    const bad = await post(STS_BODY, 'sts', 'xx-fake-1')
    assert.equal(bad.status, 403)
    assert.equal(xmlText(bad.body, 'Code'), 'SignatureDoesNotMatch')
    assert.equal(
      xmlText(bad.body, 'Message'),
      "Credential should be scoped to a valid region, not 'xx-fake-1'. ",
    )
  })

  void it('IAM: signed for us-east-1 only', async () => {
    assert.equal((await post(IAM_BODY, 'iam', 'us-east-1')).status, 200)
    const other = await post(IAM_BODY, 'iam', 'eu-west-1')
    assert.equal(other.status, 403)
    assert.equal(
      xmlText(other.body, 'Message'),
      "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )
  })

  void it('STS: a signature over UNSIGNED-PAYLOAD does not match', async () => {
    const url = new URL(t.server.baseUrl)
    const now = new Date()
    const date = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z')
    const day = date.slice(0, 8)
    const h: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      host: url.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': date,
    }
    const names = Object.keys(h).sort()
    const canonical = [
      'POST',
      '/',
      '',
      names.map((n) => `${n}:${h[n]}\n`).join(''),
      names.join(';'),
      'UNSIGNED-PAYLOAD',
    ].join('\n')
    const scope = `${day}/us-east-1/sts/aws4_request`
    const toSign = [
      'AWS4-HMAC-SHA256',
      date,
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n')
    const hm = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d).digest()
    const key = hm(
      hm(hm(hm(`AWS4${keys.secretAccessKey}`, day), 'us-east-1'), 'sts'),
      'aws4_request',
    )
    const signature = createHmac('sha256', key).update(toSign).digest('hex')
    const res = await fetch(`${t.server.baseUrl}/`, {
      method: 'POST',
      headers: {
        ...h,
        authorization: `AWS4-HMAC-SHA256 Credential=${keys.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
      },
      body: STS_BODY,
    })
    const body = await res.text()
    assert.equal(res.status, 403, body)
    assert.equal(xmlText(body, 'Code'), 'SignatureDoesNotMatch')
  })

  void it('STS: a presigned URL needs X-Amz-Expires', async () => {
    const url = presignUrl({
      method: 'GET',
      url: `${t.server.baseUrl}/?${STS_BODY}`,
      service: 'sts',
      region: 'us-east-1',
      credentials: keys,
      now: new Date(),
      expiresSeconds: 60,
    })
    const ok = await fetch(url)
    assert.equal(ok.status, 200, await ok.text())
    const without = url.replace('&X-Amz-Expires=60', '')
    assert.notEqual(without, url)
    const res = await fetch(without)
    const body = await res.text()
    assert.equal(res.status, 400, body)
    assert.equal(xmlText(body, 'Code'), 'IncompleteSignature')
  })
})
