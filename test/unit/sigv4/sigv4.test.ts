import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import {
  buildCanonicalRequest,
  buildStringToSign,
  canonicalPath,
  checkClock,
  computeSignature,
  formatAmzDate,
  parseSignature,
  uriEncode,
  verifySignature,
  type ParsedSignature,
  type SigV4Request,
} from '../../../src/aws/sigv4/sigv4.ts'
import type { AwsError } from '../../../src/aws/errors.ts'

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
const NOW = new Date('2026-11-23T00:12:20Z')

/** Signs `request` as an SDK would (header form), for round-trip tests. */
function sign(
  request: SigV4Request,
  at = NOW,
  signed = ['content-type', 'host', 'x-amz-date'],
): SigV4Request {
  const amzDate = formatAmzDate(at)
  const headers = [...request.headers, ['X-Amz-Date', amzDate] as const]
  const parsed: ParsedSignature = {
    kind: 'header',
    accessKeyId: 'AKIDEXAMPLE',
    scopeDate: amzDate.slice(0, 8),
    region: 'us-east-1',
    service: 'sts',
    signedHeaders: signed,
    signature: '',
    amzDate,
  }
  const withDate = { ...request, headers }
  const signature = computeSignature(
    SECRET,
    parsed,
    buildStringToSign(parsed, buildCanonicalRequest(withDate, parsed)),
  )
  return {
    ...withDate,
    headers: [
      ...headers,
      [
        'Authorization',
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${parsed.scopeDate}/us-east-1/sts/aws4_request, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
      ],
    ],
  }
}

const base: SigV4Request = {
  method: 'POST',
  path: '/',
  query: '',
  headers: [
    ['Host', '127.0.0.1:4566'],
    ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8'],
  ],
  body: Buffer.from('Action=GetCallerIdentity&Version=2011-06-15'),
}

function rejects(fn: () => void, code: string, message?: RegExp): void {
  assert.throws(fn, (e: AwsError) => {
    assert.equal(e.code, code)
    if (message !== undefined) assert.match(e.message, message)
    return true
  })
}

void test('round trip: a signed request verifies; the clock rules hold in both directions with AWS messages', () => {
  const signed = sign(base)
  const parsed = parseSignature(signed) as ParsedSignature
  verifySignature(signed, parsed, SECRET)
  checkClock(parsed, new Date(NOW.getTime() + 4 * 60_000))
  rejects(
    () => checkClock(parsed, new Date(NOW.getTime() + 6 * 60_000)),
    'SignatureDoesNotMatch',
    /^Signature expired: 20261123T001220Z is now earlier than 20261123T001320Z \(20261123T001820Z - 5 min\.\)$/,
  )
  rejects(
    () => checkClock(parsed, new Date(NOW.getTime() - 6 * 60_000)),
    'SignatureDoesNotMatch',
    /^Signature not yet current: 20261123T001220Z is still later than /,
  )
  rejects(
    () => verifySignature(signed, parsed, `${SECRET}x`),
    'SignatureDoesNotMatch',
    /^The request signature we calculated does not match/,
  )
})

void test('property: any change to a signed part (method, path, body, signed header, query) is rejected', () => {
  fc.assert(
    fc.property(
      fc.record({
        path: fc.stringMatching(/^\/[a-z0-9]{0,8}(\/[a-z0-9]{1,8}){0,2}$/),
        body: fc.string({ maxLength: 40 }),
        query: fc.stringMatching(/^([a-z]{1,4}=[a-z0-9]{0,4})?$/),
      }),
      fc.nat(4),
      (input, which) => {
        const req = sign({
          ...base,
          path: input.path,
          query: input.query,
          body: Buffer.from(input.body),
        })
        const parsed = parseSignature(req) as ParsedSignature
        verifySignature(req, parsed, SECRET)
        const changed: SigV4Request[] = [
          { ...req, method: 'PUT' },
          { ...req, path: `${input.path === '/' ? '' : input.path}/zz` },
          { ...req, body: Buffer.from(`${input.body}!`) },
          {
            ...req,
            headers: req.headers.map(([n, v]): readonly [string, string] =>
              n === 'Content-Type' ? [n, `${v}x`] : [n, v],
            ),
          },
          { ...req, query: input.query === '' ? 'q=1' : `${input.query}&q=1` },
        ]
        const target = changed[which] as SigV4Request
        assert.throws(() =>
          verifySignature(target, parseSignature(target) as ParsedSignature, SECRET),
        )
      },
    ),
    { numRuns: 150 },
  )
})

void test('an unsigned header may change; unsigned requests parse as undefined', () => {
  const signed = sign(base)
  const extra = { ...signed, headers: [...signed.headers, ['User-Agent', 'anything'] as const] }
  verifySignature(extra, parseSignature(extra) as ParsedSignature, SECRET)
  assert.equal(parseSignature(base), undefined)
})

void test('malformed signatures: IncompleteSignature / AWS messages', () => {
  const withAuth = (
    auth: string,
    extra: [string, string][] = [['X-Amz-Date', '20261123T001220Z']],
  ) => ({
    ...base,
    headers: [...base.headers, ...extra, ['Authorization', auth] as [string, string]],
  })
  rejects(
    () => parseSignature(withAuth('AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request')),
    'IncompleteSignature',
    /Unsupported AWS 'algorithm'/,
  )
  rejects(
    () =>
      parseSignature(
        withAuth('AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts/aws4_request'),
      ),
    'IncompleteSignature',
    /requires 'SignedHeaders' parameter\. Authorization header requires 'Signature' parameter\./,
  )
  rejects(
    () =>
      parseSignature(
        withAuth(
          'AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab',
          [],
        ),
      ),
    'IncompleteSignature',
    /'X-Amz-Date' or a 'Date' header/,
  )
  rejects(
    () =>
      parseSignature(
        withAuth(
          'AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts/wrong, SignedHeaders=host, Signature=ab',
        ),
      ),
    'IncompleteSignature',
    /valid terminator: 'aws4_request', not 'wrong'/,
  )
  rejects(
    () =>
      parseSignature(
        withAuth(
          'AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts, SignedHeaders=host, Signature=ab',
        ),
      ),
    'IncompleteSignature',
  )
  rejects(
    () =>
      parseSignature(
        withAuth(
          'AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts/aws4_request, SignedHeaders=x-amz-date, Signature=ab',
        ),
      ),
    'SignatureDoesNotMatch',
    /'Host' or ':authority' must be a 'SignedHeader'/,
  )
  const parsed = parseSignature(
    withAuth(
      'AWS4-HMAC-SHA256 Credential=AK/20261122/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab',
    ),
  ) as ParsedSignature
  rejects(
    () => checkClock(parsed, NOW),
    'SignatureDoesNotMatch',
    /Date in Credential scope does not match/,
  )
  const badDate = parseSignature(
    withAuth(
      'AWS4-HMAC-SHA256 Credential=AK/20261123/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab',
      [['X-Amz-Date', 'yesterday']],
    ),
  ) as ParsedSignature
  rejects(() => checkClock(badDate, NOW), 'IncompleteSignature', /ISO-8601 'basic format'/)
})

void test('presigned query: expiry window, week limit, missing parameters', () => {
  const q = (extra: string) => ({
    ...base,
    method: 'GET',
    body: Buffer.alloc(0),
    query: `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261123%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261123T001220Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab${extra}`,
  })
  const parsed = parseSignature(q('&X-Amz-Expires=60')) as ParsedSignature
  assert.equal(parsed.kind, 'query')
  assert.equal(parsed.expires, 60)
  checkClock(parsed, new Date(NOW.getTime() + 59_000))
  rejects(
    () => checkClock(parsed, new Date(NOW.getTime() + 61_000)),
    'SignatureDoesNotMatch',
    /^Signature expired: 20261123T001320Z is now earlier than 20261123T001321Z$/,
  )
  rejects(
    () => parseSignature(q('&X-Amz-Expires=604801')),
    'AuthorizationQueryParametersError',
    /less than a week/,
  )
  rejects(() => parseSignature(q('&X-Amz-Expires=abc')), 'AuthorizationQueryParametersError')
  rejects(
    () => parseSignature({ ...base, query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }),
    'IncompleteSignature',
    /must include 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'/,
  )
  rejects(
    () => parseSignature({ ...base, query: 'X-Amz-Algorithm=HMAC&X-Amz-Signature=x' }),
    'IncompleteSignature',
  )
})

void test('x-amz-content-sha256 must match the body', () => {
  const hdr = {
    ...base,
    headers: [...base.headers, ['x-amz-content-sha256', 'ab'.repeat(32)] as [string, string]],
  }
  rejects(
    () => sign(hdr, NOW, ['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date']),
    'XAmzContentSHA256Mismatch',
  )
  // With the right hash declared, it verifies.
  const good = {
    ...base,
    headers: [
      ...base.headers,
      ['x-amz-content-sha256', createHash('sha256').update(base.body).digest('hex')] as [
        string,
        string,
      ],
    ],
  }
  const signed = sign(good, NOW, ['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date'])
  verifySignature(signed, parseSignature(signed) as ParsedSignature, SECRET)
})

void test('canonical path and encoding', () => {
  assert.equal(canonicalPath('/example1/example2/../..', true), '/')
  assert.equal(canonicalPath('//example//', true), '/example/')
  assert.equal(canonicalPath('/./', false), '/./')
  assert.equal(canonicalPath('/sts/v1', true), '/sts/v1')
  assert.equal(canonicalPath('/a%20b', true), '/a%2520b')
  assert.equal(uriEncode("a b!*'()~"), 'a%20b%21%2A%27%28%29~')
})
