/**
 * S3 Signature Version 2 through the gateway with the clients that still produce it: boto3 1.43 and the AWS
 * CLI v1 presign with SigV2 by default against a custom endpoint (`?AWSAccessKeyId=…&Signature=…&Expires=…`),
 * and botocore's `signature_version='s3'` signs the Authorization header (`AWS AKID:signature`).
 * "Signing and authenticating REST requests (AWS signature version 2)",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html; the `s3:signatureversion` and
 * `s3:authType` condition keys, "Amazon S3 condition key examples",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { findOnPath, irsaTrust, pythonHas, run } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import { boto, clientEnv, irsaCredentials, type Creds } from './gateway-clients.ts'
import { signV2 } from '../../src/aws/sigv2/s3-sigv2.ts'

const BUCKET = 'sigv2'
const GUARDED = 'sigv2-guarded'

const haveBoto = await pythonHas('boto3')
const haveMoto = await pythonHas('moto.server')
const skip = !haveBoto || !haveMoto ? 'boto3 and moto (python3 -m moto.server) are required' : false

const READER_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [`arn:aws:s3:::${BUCKET}/reports/*`, `arn:aws:s3:::${GUARDED}/*`],
    },
  ],
}

/**
 * boto3 with its defaults (no signature_version): presigned URLs for [bucket, key, expiresIn] (GET) or
 * [bucket, key, expiresIn, contentType] (PUT), then calls
 * signed with `signature_version='s3'` (the V2 Authorization header).
 */
const V2_SCRIPT = `
import json, sys, boto3, botocore
from botocore.config import Config
req = json.load(sys.stdin)
default = boto3.client('s3', endpoint_url=req['endpoint'], region_name='us-east-1')
def presign(b, k, e, content_type=None):
    if content_type is None:
        return default.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': k}, ExpiresIn=e)
    return default.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': k, 'ContentType': content_type}, ExpiresIn=e)
urls = [presign(*p) for p in req['presign']]
v2 = boto3.client('s3', endpoint_url=req['endpoint'], region_name='us-east-1', config=Config(signature_version='s3', retries={'max_attempts': 1}))
calls = []
for method, kwargs in req['calls']:
    try:
        r = getattr(v2, method)(**kwargs)
        body = r.get('Body')
        calls.append({'ok': True, 'body': body.read().decode() if body is not None else None})
    except botocore.exceptions.ClientError as e:
        calls.append({'ok': False, 'code': e.response['Error'].get('Code'), 'status': e.response['ResponseMetadata']['HTTPStatusCode']})
print(json.dumps({'urls': urls, 'calls': calls}))
`

interface V2Out {
  urls: string[]
  calls: { ok: boolean; body?: string | null; code?: string; status?: number }[]
}

async function botoV2(
  env: Record<string, string>,
  endpoint: string,
  presign: ([string, string, number] | [string, string, number, string])[],
  calls: [string, Record<string, unknown>][] = [],
): Promise<V2Out> {
  const r = await run('python3', ['-c', V2_SCRIPT], {
    env,
    input: JSON.stringify({ endpoint, presign, calls }),
    timeoutMs: 120_000,
  })
  if (r.code !== 0) throw new Error(`boto3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as V2Out
}

void describe('gateway: S3 Signature Version 2 (boto3 and AWS CLI v1 defaults)', { skip }, () => {
  let f: GatewayFixture
  let reader: Creds
  let admin: Creds

  before(async () => {
    f = await startGatewayFixture()
    const provider = await f.s.addOidcProvider(f.s.issuerUrl)
    const trust = irsaTrust(provider, f.s.providerUrl, 'system:serviceaccount:default:app')
    const readerArn = await f.s.addRole('gw-v2-reader', trust, { inline: READER_POLICY })
    const token = await f.s.token({ namespace: 'default', serviceAccount: 'app' })
    reader = await irsaCredentials(f.s.server.baseUrl, readerArn, token)
    admin = await f.s.addUser('gw-v2-admin', {
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    })
    const seeded = await boto(clientEnv(admin, f.gateway.url), [
      ['s3', 'create_bucket', { Bucket: BUCKET }],
      ['s3', 'create_bucket', { Bucket: GUARDED }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'reports/q1.csv', Body: 'revenue,1\n' }],
      ['s3', 'put_object', { Bucket: BUCKET, Key: 'private/salaries.csv', Body: 'secret\n' }],
      ['s3', 'put_object', { Bucket: GUARDED, Key: 'doc.txt', Body: 'guarded\n' }],
    ])
    for (const r of seeded) assert.ok(r.ok, JSON.stringify(r))
  })
  after(async () => f?.close())

  void test("boto3's default presigned GET (SigV2, session credentials) works with curl until it expires", async () => {
    const env = clientEnv(reader, f.gateway.url)
    const { urls } = await botoV2(env, f.gateway.url, [
      [BUCKET, 'reports/q1.csv', 300],
      [BUCKET, 'reports/q1.csv', 1],
      [BUCKET, 'private/salaries.csv', 300],
    ])
    const [good, short, outside] = urls as [string, string, string]
    assert.match(good, /[?&]AWSAccessKeyId=ASIA[^&]+&Signature=[^&]+/)
    assert.match(good, /[?&]x-amz-security-token=/)
    assert.match(good, /[?&]Expires=\d+/)
    const ok = await run('curl', ['-s', '-w', '\\n%{http_code}', good], { env })
    assert.equal(ok.stdout, 'revenue,1\n\n200')

    // Authenticated, then authorized like any call: outside the role's policy → AccessDenied.
    const denied = await fetch(outside)
    assert.equal(denied.status, 403)
    assert.match(await denied.text(), /<Code>AccessDenied<\/Code>/)

    // The signature covers the resource: another key with the same signature does not verify.
    const moved = await fetch(good.replace('reports/q1.csv', 'reports/q2.csv'))
    assert.equal(moved.status, 403)
    const mismatch = await moved.text()
    assert.match(mismatch, /<Code>SignatureDoesNotMatch<\/Code>/)
    assert.match(
      mismatch,
      /<StringToSign>GET\n\n\n\d+\nx-amz-security-token:[^\n]+\n\/sigv2\/reports\/q2.csv<\/StringToSign>/,
    )
    assert.match(mismatch, /<SignatureProvided>[A-Za-z0-9+/=]+<\/SignatureProvided>/)

    await new Promise((r) => setTimeout(r, 2100))
    const expired = await run('curl', ['-s', '-w', '\\n%{http_code}', short], { env })
    assert.match(
      expired.stdout,
      /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message><Expires>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/Expires><ServerTime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/ServerTime>/,
    )
    assert.match(expired.stdout, /\n403$/)
  })

  void test(
    'aws s3 presign (AWS CLI v1) gives a SigV2 URL the gateway serves',
    { skip: findOnPath('aws') === undefined ? 'aws CLI not installed' : false },
    async () => {
      const env = clientEnv(reader, f.gateway.url)
      const r = await run(
        'aws',
        ['s3', 'presign', `s3://${BUCKET}/reports/q1.csv`, '--endpoint-url', f.gateway.url],
        { env, timeoutMs: 120_000 },
      )
      assert.equal(r.code, 0, r.stderr)
      const url = r.stdout.trim()
      assert.match(url, /[?&]AWSAccessKeyId=/)
      const res = await fetch(url)
      assert.equal(res.status, 200)
      assert.equal(await res.text(), 'revenue,1\n')
    },
  )

  void test("the V2 Authorization header (botocore signature_version='s3')", async () => {
    const env = clientEnv(reader, f.gateway.url)
    const { calls } = await botoV2(
      env,
      f.gateway.url,
      [],
      [
        ['put_object', { Bucket: BUCKET, Key: 'reports/v2.csv', Body: 'v2,1\n' }],
        ['get_object', { Bucket: BUCKET, Key: 'reports/v2.csv' }],
        ['get_object', { Bucket: BUCKET, Key: 'private/salaries.csv' }],
      ],
    )
    assert.deepEqual(calls[0], { ok: true, body: null })
    assert.deepEqual(calls[1], { ok: true, body: 'v2,1\n' })
    assert.deepEqual(calls[2], { ok: false, code: 'AccessDenied', status: 403 })
    const wrong = await botoV2(
      clientEnv({ ...reader, secretAccessKey: 'wrong' }, f.gateway.url),
      f.gateway.url,
      [],
      [['get_object', { Bucket: BUCKET, Key: 'reports/v2.csv' }]],
    )
    assert.deepEqual(wrong.calls[0], { ok: false, code: 'SignatureDoesNotMatch', status: 403 })
  })

  void test('a default presigned PUT with a ContentType (signed as a content-type parameter) uploads', async () => {
    const env = clientEnv(reader, f.gateway.url)
    const { urls } = await botoV2(env, f.gateway.url, [
      [BUCKET, 'reports/upload.csv', 300, 'text/csv'],
    ])
    const url = urls[0] as string
    assert.match(url, /[?&]content-type=text%2Fcsv/)
    const put = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'text/csv' },
      body: 'up,1\n',
    })
    assert.equal(put.status, 200, await put.text())
    const [get] = await boto(env, [
      ['s3', 'get_object', { Bucket: BUCKET, Key: 'reports/upload.csv' }],
    ])
    assert.equal((get?.data as { Body: string }).Body, 'up,1\n')
    // The signature covers the content type: another one in the URL does not verify.
    const other = await fetch(url.replace('text%2Fcsv', 'text%2Fhtml'), {
      method: 'PUT',
      headers: { 'content-type': 'text/html' },
      body: '<b>x</b>',
    })
    assert.equal(other.status, 403)
    assert.match(await other.text(), /<Code>SignatureDoesNotMatch<\/Code>/)
  })

  void test('the V2 header needs a Date within 15 minutes (RequestTimeTooSkewed)', async () => {
    const path = `/${BUCKET}/reports/q1.csv`
    const get = (date: string | undefined) => {
      const sts = `GET\n\n\n${date ?? ''}\n${path}`
      return fetch(`${f.gateway.url}${path}`, {
        headers: {
          authorization: `AWS ${admin.accessKeyId}:${signV2(admin.secretAccessKey, sts)}`,
          ...(date === undefined ? {} : { date }),
        },
      })
    }
    const fresh = await get(new Date().toUTCString())
    assert.equal(fresh.status, 200)
    assert.equal(await fresh.text(), 'revenue,1\n')
    const old = await get(new Date(Date.now() - 20 * 60 * 1000).toUTCString())
    assert.equal(old.status, 403)
    assert.match(await old.text(), /<Code>RequestTimeTooSkewed<\/Code>/)
    const undated = await get(undefined)
    assert.equal(undated.status, 403)
    assert.match(
      await undated.text(),
      /<Code>AccessDenied<\/Code><Message>AWS authentication requires a valid Date or x-amz-date header<\/Message>/,
    )
  })

  void test('a bucket policy denying s3:signatureversion "AWS" refuses SigV2 and keeps SigV4', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenySigV2',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${GUARDED}`, `arn:aws:s3:::${GUARDED}/*`],
          Condition: { StringEquals: { 's3:signatureversion': 'AWS' } },
        },
      ],
    })
    const [put] = await boto(clientEnv(admin, f.gateway.url), [
      ['s3', 'put_bucket_policy', { Bucket: GUARDED, Policy: policy }],
    ])
    assert.ok(put?.ok, JSON.stringify(put))
    const env = clientEnv(reader, f.gateway.url)
    const { urls, calls } = await botoV2(
      env,
      f.gateway.url,
      [[GUARDED, 'doc.txt', 300]],
      [['get_object', { Bucket: GUARDED, Key: 'doc.txt' }]],
    )
    const v2 = await fetch(urls[0] as string)
    assert.equal(v2.status, 403)
    assert.match(await v2.text(), /<Code>AccessDenied<\/Code>/)
    assert.deepEqual(calls[0], { ok: false, code: 'AccessDenied', status: 403 })
    const [v4] = await boto(env, [['s3', 'get_object', { Bucket: GUARDED, Key: 'doc.txt' }]])
    assert.equal((v4?.data as { Body: string }).Body, 'guarded\n')
  })
  void test('V2 calls are data events with SignatureVersion SigV2 and their authentication method', async () => {
    await f.gateway.flushAudit()
    const rows = await f.s.server.ctx.db.all<{ event: string }>('SELECT event FROM audit_events')
    const extras = rows
      .map((r) => JSON.parse(r.event) as Record<string, unknown>)
      .filter((e) => e['eventCategory'] === 'Data' && e['eventName'] === 'GetObject')
      .map((e) => e['additionalEventData'] as Record<string, unknown>)
    assert.ok(
      extras.some(
        (x) => x['SignatureVersion'] === 'SigV2' && x['AuthenticationMethod'] === 'QueryString',
      ),
    )
    assert.ok(
      extras.some(
        (x) => x['SignatureVersion'] === 'SigV2' && x['AuthenticationMethod'] === 'AuthHeader',
      ),
    )
    assert.ok(extras.some((x) => x['SignatureVersion'] === 'SigV4'))
    assert.ok(!rows.some((r) => r.event.includes(reader.secretAccessKey)))
  })
})
