/**
 * The authenticator's scope and payload rules (each case failed before the fix it pins):
 * - the credential scope must name a real Region (SignatureDoesNotMatch "Credential should be scoped to a
 *   valid region, not '…'."), IAM only its global signing region
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html);
 * - `x-amz-content-sha256: UNSIGNED-PAYLOAD` is S3's alone
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): elsewhere the body's
 *   hash is what is signed, so such a request fails its signature check;
 * - a presigned URL must carry X-Amz-Expires
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request).
 */
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import { authenticate, type AuthenticatorPorts } from '../../../src/aws/sigv4/authenticate.ts'
import { presignUrl, signRequest } from '../../../src/aws/sigv4/sign.ts'
import { GLOBAL_SIGNING_REGION } from '../../../src/aws/regions.ts'
import type { AwsError } from '../../../src/aws/errors.ts'
import { SignatureMismatchError } from '../../../src/aws/sigv4/chunked.ts'

const NOW = new Date('2026-11-23T01:00:00Z')
const KEY = {
  accessKeyId: 'AKIAQAAAAAAAAAAAAAAA',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  status: 'Active' as const,
  userName: 'dev',
  userArn: 'arn:aws:iam::111122223333:user/dev',
  userId: 'AIDAQAAAAAAAAAAAAAAAA',
  accountId: '111122223333',
}
const ports: AuthenticatorPorts = {
  now: () => NOW,
  randomBytes: (n) => new Uint8Array(n),
  accessKeys: { getAccessKey: async (id) => (id === KEY.accessKeyId ? KEY : undefined) },
  keyring: {
    current: () => Promise.reject(new Error('no sessions here')),
    refresh: () => Promise.reject(new Error('no sessions here')),
  },
}
const URL_ = 'http://127.0.0.1:7070/'
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15'

function signed(region: string, service = 'sts') {
  const headers = signRequest({
    method: 'POST',
    url: URL_,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: BODY,
    service,
    region,
    credentials: KEY,
    now: NOW,
  })
  return { method: 'POST', url: '/', headers, body: BODY }
}

const rejectsWith = async (p: Promise<unknown>, code: string, message?: string | RegExp) =>
  assert.rejects(p, (err: AwsError) => {
    assert.equal(err.code, code)
    if (typeof message === 'string') assert.equal(err.message, message)
    else if (message !== undefined) assert.match(err.message, message)
    return true
  })

void describe('aws/sigv4/authenticate: credential scope Region', () => {
  void it('accepts a real Region and reports it (aws:RequestedRegion)', async () => {
    const out = await authenticate(ports, signed('eu-west-3'), { service: 'sts' })
    assert.equal(out.region, 'eu-west-3')
    assert.equal(out.caller.arn, KEY.userArn)
  })

  void it('rejects an unknown or malformed Region as AWS does', async () => {
    for (const region of ['xx-fake-1', 'us-east-1 ', 'US-EAST-1', 'moon']) {
      await rejectsWith(
        authenticate(ports, signed(region), { service: 'sts' }),
        'SignatureDoesNotMatch',
        `Credential should be scoped to a valid region, not '${region}'. `,
      )
    }
  })

  void it("accepts the server's own configured region", async () => {
    const out = await authenticate(ports, signed('local-lab-1'), {
      service: 'sts',
      configuredRegion: 'local-lab-1',
    })
    assert.equal(out.region, 'local-lab-1')
  })

  void it('a global service (IAM) accepts only its signing region', async () => {
    const iam = { service: 'iam', regions: [GLOBAL_SIGNING_REGION] }
    assert.equal((await authenticate(ports, signed('us-east-1', 'iam'), iam)).region, 'us-east-1')
    await rejectsWith(
      authenticate(ports, signed('eu-west-1', 'iam'), iam),
      'SignatureDoesNotMatch',
      "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )
  })
})

/** A header signature computed over a declared payload hash (as S3 clients sign), by hand. */
function declaredPayloadRequest(
  region: string,
  service: string,
  declared: string,
  date = '20261123T010000Z',
) {
  const headers: Record<string, string> = {
    host: '127.0.0.1:7070',
    'x-amz-content-sha256': declared,
    'x-amz-date': date,
  }
  const names = Object.keys(headers).sort()
  const canonical = [
    'POST',
    '/',
    '',
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    declared,
  ].join('\n')
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    date,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n')
  const h = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d).digest()
  const key = h(
    h(h(h(`AWS4${KEY.secretAccessKey}`, date.slice(0, 8)), region), service),
    'aws4_request',
  )
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  return {
    method: 'POST',
    url: '/',
    headers: {
      ...headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    },
    body: BODY,
  }
}

const unsignedPayloadRequest = (region: string, service: string) =>
  declaredPayloadRequest(region, service, 'UNSIGNED-PAYLOAD')

void describe('aws/sigv4/authenticate: payload and presigned rules', () => {
  void it('rejects UNSIGNED-PAYLOAD unless the service allows it (S3 only)', async () => {
    await rejectsWith(
      authenticate(ports, unsignedPayloadRequest('us-east-1', 'sts'), { service: 'sts' }),
      'SignatureDoesNotMatch',
      /does not match the signature you provided/,
    )
    const s3 = await authenticate(ports, unsignedPayloadRequest('us-east-1', 's3'), {
      service: 's3',
      normalizePath: false,
      allowUnsignedPayload: true,
    })
    assert.equal(s3.caller.arn, KEY.userArn)
  })

  void it('accepts a presigned URL with X-Amz-Expires and rejects one without', async () => {
    const url = presignUrl({
      method: 'GET',
      url: `${URL_}?Action=GetCallerIdentity&Version=2011-06-15`,
      service: 'sts',
      region: 'us-east-1',
      credentials: KEY,
      now: NOW,
      expiresSeconds: 60,
    })
    const target = url.slice(url.indexOf('/', 'http://'.length))
    const headers = { host: '127.0.0.1:7070' }
    const ok = await authenticate(
      ports,
      { method: 'GET', url: target, headers, body: '' },
      {
        service: 'sts',
      },
    )
    assert.equal(ok.signature.kind, 'query')
    const without = target.replace(/&X-Amz-Expires=60/, '')
    assert.notEqual(without, target)
    await rejectsWith(
      authenticate(ports, { method: 'GET', url: without, headers, body: '' }, { service: 'sts' }),
      'IncompleteSignature',
      "AWS query-string parameters must include 'X-Amz-Expires'. Re-examine the query-string parameters.",
    )
  })
})

/**
 * S3 signs over the payload hash the client declares in x-amz-content-sha256 — UNSIGNED-PAYLOAD, the
 * STREAMING-… values of aws-chunked uploads, or the body's hex SHA-256 — and allows 15 minutes of clock skew
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html "within 15 minutes").
 */
void describe('aws/sigv4/authenticate: declared payload hash (S3)', () => {
  const s3 = (declared: string) => ({
    service: 's3',
    normalizePath: false,
    declaredPayloadHash: declared,
  })

  void it('verifies over a STREAMING value and returns the seed the chunk signatures chain from', async () => {
    const declared = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
    const request = declaredPayloadRequest('us-east-1', 's3', declared)
    const out = await authenticate(ports, request, s3(declared))
    assert.equal(out.caller.arn, KEY.userArn)
    const signature = /Signature=([0-9a-f]{64})/.exec(request.headers.authorization)?.[1]
    assert.equal(out.seed?.seedSignature, signature)
    assert.equal(out.seed?.scope, '20261123/us-east-1/s3/aws4_request')
  })

  void it('verifies over a declared hex SHA-256 without reading the body (checked while it streams)', async () => {
    const declared = createHash('sha256').update('the object, still on the wire').digest('hex')
    const request = { ...declaredPayloadRequest('us-east-1', 's3', declared), body: '' }
    assert.equal((await authenticate(ports, request, s3(declared))).caller.arn, KEY.userArn)
  })

  void it('a declared value other than the signed one fails with the canonical request S3 echoes', async () => {
    const request = declaredPayloadRequest('us-east-1', 's3', 'UNSIGNED-PAYLOAD')
    await assert.rejects(
      authenticate(ports, request, s3('STREAMING-UNSIGNED-PAYLOAD-TRAILER')),
      (err: SignatureMismatchError) => {
        assert.ok(err instanceof SignatureMismatchError)
        assert.equal(err.code, 'SignatureDoesNotMatch')
        assert.match(err.detail.canonicalRequest, /\nSTREAMING-UNSIGNED-PAYLOAD-TRAILER$/)
        return true
      },
    )
  })

  void it('allows the clock skew the caller names (S3: 15 minutes), 5 minutes by default', async () => {
    const tenMinutesAgo = declaredPayloadRequest(
      'us-east-1',
      's3',
      'UNSIGNED-PAYLOAD',
      '20261123T005000Z',
    )
    await rejectsWith(
      authenticate(ports, tenMinutesAgo, s3('UNSIGNED-PAYLOAD')),
      'SignatureDoesNotMatch',
      /^Signature expired: 20261123T005000Z is now earlier than 20261123T005500Z/,
    )
    const out = await authenticate(ports, tenMinutesAgo, {
      ...s3('UNSIGNED-PAYLOAD'),
      maxClockSkewMs: 15 * 60_000,
    })
    assert.equal(out.caller.arn, KEY.userArn)
  })

  void it('takes credentials from the resolver it is given (the gateway caches them)', async () => {
    const asked: string[] = []
    const request = declaredPayloadRequest('us-east-1', 's3', 'UNSIGNED-PAYLOAD')
    const caller = {
      arn: 'arn:aws:iam::111122223333:user/cached',
      accountId: '111122223333',
      userId: 'AIDAQCACHEDCACHEDCACH',
      accessKeyId: KEY.accessKeyId,
      type: 'IAMUser' as const,
    }
    const resolveCredentials = (id: string) => {
      asked.push(id)
      return Promise.resolve(
        asked.length === 1
          ? { caller, secretAccessKey: KEY.secretAccessKey }
          : ('unknown-key' as const),
      )
    }
    const options = { ...s3('UNSIGNED-PAYLOAD'), resolveCredentials }
    assert.equal((await authenticate(ports, request, options)).caller.arn, caller.arn)
    await rejectsWith(
      authenticate(ports, request, options),
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    )
    assert.deepEqual(asked, [KEY.accessKeyId, KEY.accessKeyId])
  })
})
