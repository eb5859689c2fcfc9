/**
 * S3 Signature Version 2, checked against the examples of "Signing and authenticating REST requests (AWS
 * signature version 2)", https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html
 * (access key AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY), and against what
 * botocore's HmacV1QueryAuth (boto3, AWS CLI v1) produces.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  canonicalResource,
  readSigV2,
  SigV2FormatError,
  signedAt,
  signV2,
  stringsToSign,
  verifySigV2,
  type SigV2Request,
} from '../../../src/aws/sigv2/s3-sigv2.ts'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

function headerRequest(
  method: string,
  path: string,
  headers: [string, string][],
  signature: string,
  extra: Partial<SigV2Request> = {},
): SigV2Request {
  return {
    method,
    path,
    query: '',
    headers: [...headers, ['Authorization', `AWS AKIAIOSFODNN7EXAMPLE:${signature}`]],
    hostBucket: 'awsexamplebucket1',
    ...extra,
  }
}

function verifies(request: SigV2Request): { ok: boolean; sts: string } {
  const creds = readSigV2(request)
  assert.ok(creds)
  const v = verifySigV2(request, creds, SECRET)
  return { ok: v.ok, sts: stringsToSign(request, creds)[0] as string }
}

void describe("S3 SigV2: the guide's authentication examples", () => {
  void it('Object GET (virtual-hosted bucket)', () => {
    const r = headerRequest(
      'GET',
      '/photos/puppy.jpg',
      [['Date', 'Tue, 27 Mar 2007 19:36:42 +0000']],
      'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    )
    const { ok, sts } = verifies(r)
    assert.equal(
      sts,
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
    )
    assert.equal(ok, true)
  })

  void it('Object PUT signs the Content-Type', () => {
    const r = headerRequest(
      'PUT',
      '/photos/puppy.jpg',
      [
        ['Content-Type', 'image/jpeg'],
        ['Content-Length', '94328'],
        ['Date', 'Tue, 27 Mar 2007 21:15:45 +0000'],
      ],
      'iqRzw+ileNPu1fhspnRs8nOjjIA=',
    )
    assert.equal(verifies(r).ok, true)
    assert.equal(
      verifies({
        ...r,
        headers: r.headers.map(([k, v]) => [k, k === 'Content-Type' ? 'image/png' : v]),
      }).ok,
      false,
    )
  })

  void it('List: the query parameters that are not sub-resources stay out of the resource', () => {
    const r = headerRequest(
      'GET',
      '/',
      [['Date', 'Tue, 27 Mar 2007 19:42:41 +0000']],
      'm0WP8eCtspQl5Ahe6L1SozdX9YA=',
      { query: 'prefix=photos&max-keys=50&marker=puppy' },
    )
    assert.equal(verifies(r).sts, 'GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/')
    assert.equal(verifies(r).ok, true)
  })

  void it('Fetch: the ?acl sub-resource is signed', () => {
    const r = headerRequest(
      'GET',
      '/',
      [['Date', 'Tue, 27 Mar 2007 19:44:46 +0000']],
      '82ZHiFIjc+WbcwFKGUVEQspPn+0=',
      { query: 'acl' },
    )
    assert.equal(verifies(r).ok, true)
    assert.equal(verifies({ ...r, query: '' }).ok, false)
  })

  void it('Delete: x-amz-date takes precedence over Date', () => {
    const r = headerRequest(
      'DELETE',
      '/photos/puppy.jpg',
      [
        ['User-Agent', 'dotnet'],
        ['Date', 'Tue, 27 Mar 2007 21:20:27 +0000'],
        ['x-amz-date', 'Tue, 27 Mar 2007 21:20:26 +0000'],
      ],
      'XbyTlbQdu9Xw5o8P4iMwPktxQd8=',
    )
    assert.equal(verifies(r).ok, true)
    assert.equal(signedAt(r)?.toISOString(), '2007-03-27T21:20:26.000Z')
  })

  void it('Upload: x-amz-* headers are lower-cased, sorted, and repeated ones joined with commas', () => {
    const r = headerRequest(
      'PUT',
      '/db-backup.dat.gz',
      [
        ['User-Agent', 'curl/7.15.5'],
        ['Date', 'Tue, 27 Mar 2007 21:06:08 +0000'],
        ['x-amz-acl', 'public-read'],
        ['content-type', 'application/x-download'],
        ['Content-MD5', '4gJE4saaMU4BqNR0kLY+lw=='],
        ['X-Amz-Meta-ReviewedBy', 'email1@amazon.com'],
        ['X-Amz-Meta-ReviewedBy', 'email2@amazon.com'],
        ['X-Amz-Meta-FileChecksum', '0x02661779'],
        ['X-Amz-Meta-ChecksumAlgorithm', 'crc32'],
        ['Content-Disposition', 'attachment; filename=database.dat'],
        ['Content-Encoding', 'gzip'],
        ['Content-Length', '5913339'],
      ],
      'dD5VpkTYB5JbYmKwutcQeHWqqPc=',
      { hostBucket: 'static.johnsmith.net' },
    )
    const { ok, sts } = verifies(r)
    assert.equal(
      sts,
      'PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n' +
        'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n' +
        'x-amz-meta-reviewedby:email1@amazon.com,email2@amazon.com\n/static.johnsmith.net/db-backup.dat.gz',
    )
    assert.equal(ok, true)
  })

  void it('Unicode keys are signed as the percent-encoded path that was sent', () => {
    const r = headerRequest(
      'GET',
      '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re',
      [['Date', 'Wed, 28 Mar 2007 01:49:49 +0000']],
      'DNEZGsoieTZ92F3bUfSPQcbGmlM=',
      { hostBucket: undefined },
    )
    assert.equal(verifies(r).ok, true)
  })

  void it('Query string authentication: Expires in the Date position', () => {
    const query =
      'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D'
    const r: SigV2Request = {
      method: 'GET',
      path: '/photos/puppy.jpg',
      query,
      headers: [],
      hostBucket: 'johnsmith',
    }
    const creds = readSigV2(r)
    assert.deepEqual(creds, {
      kind: 'query',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      signature: 'NpgCjnDzrM+WFzoENXmpNDUsSn8=',
      expires: 1175139620,
    })
    assert.equal(verifies(r).sts, 'GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg')
    assert.equal(verifies(r).ok, true)
    assert.equal(verifies({ ...r, path: '/photos/kitten.jpg' }).ok, false)
  })
})

void describe('S3 SigV2: what boto3 / AWS CLI v1 presigned URLs carry', () => {
  void it('the session token is a signed x-amz-* value; response-* overrides are signed decoded', () => {
    const token = 'FQoGZXIvYXdzE/token+value'
    const base: SigV2Request = {
      method: 'GET',
      path: '/b/k/a%20b.txt',
      query: '',
      headers: [['Host', '127.0.0.1:28001']],
    }
    const sts =
      'GET\n\n\n1796589409\nx-amz-security-token:' +
      token +
      '\n/b/k/a%20b.txt?response-content-type=text/plain'
    const sig = signV2(SECRET, sts)
    const r: SigV2Request = {
      ...base,
      query:
        'response-content-type=text%2Fplain&AWSAccessKeyId=ASIAEXAMPLE&Signature=' +
        encodeURIComponent(sig) +
        '&x-amz-security-token=' +
        encodeURIComponent(token) +
        '&Expires=1796589409',
    }
    const creds = readSigV2(r)
    assert.equal(creds?.securityToken, token)
    assert.deepEqual(verifySigV2(r, creds!, SECRET), { ok: true })
    const tampered = { ...r, query: r.query.replace('text%2Fplain', 'text%2Fhtml') }
    assert.deepEqual(verifySigV2(tampered, readSigV2(tampered)!, SECRET), {
      ok: false,
      stringToSign: sts.replace('text/plain', 'text/html'),
    })
  })

  void it('sub-resources are sorted by name; parameters without a value keep their bare name', () => {
    assert.equal(
      canonicalResource({
        method: 'GET',
        path: '/b/k',
        query: 'versionId=3&uploads&list-type=2&acl',
        headers: [],
      }),
      '/b/k?acl&uploads&versionId=3',
    )
  })
})

void describe('S3 SigV2: which requests are V2', () => {
  void it('SigV4 and anonymous requests are not', () => {
    const r = { method: 'GET', path: '/b', query: '', headers: [] as [string, string][] }
    assert.equal(readSigV2(r), undefined)
    assert.equal(
      readSigV2({ ...r, headers: [['Authorization', 'AWS4-HMAC-SHA256 Credential=x']] }),
      undefined,
    )
    assert.equal(readSigV2({ ...r, query: 'X-Amz-Signature=ab' }), undefined)
  })

  void it("an incomplete presigned URL or header is refused with S3's error", () => {
    const r = { method: 'GET', path: '/b', query: 'AWSAccessKeyId=AK&Signature=x', headers: [] }
    assert.throws(
      () => readSigV2(r),
      (e: unknown) =>
        e instanceof SigV2FormatError && e.code === 'AccessDenied' && e.status === 403,
    )
    assert.throws(
      () => readSigV2({ ...r, query: '', headers: [['Authorization', 'AWS nocolon']] }),
      (e: unknown) => e instanceof SigV2FormatError && e.code === 'InvalidArgument',
    )
  })
})
