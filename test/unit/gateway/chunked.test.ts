/**
 * aws-chunked verification against AWS's published example ("Example: PUT Object" in
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html: 66560 bytes of 'a' in 64 KiB chunks;
 * the seed and the three chunk signatures are AWS's), plus tampering, trailing checksums (CRC32 values from
 * zlib; CRC32C check value from RFC 3720 B.4) and the unsigned-trailer form the JS SDK sends.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createHash, createHmac } from 'node:crypto'
import { Readable, Writable, pipeline } from 'node:stream'
import { crc32 } from 'node:zlib'
import {
  AwsChunkedDecoder,
  AwsChunkedEncoder,
  createChecksum,
  s3CanonicalPath,
  Sha256CheckStream,
  verifyWithPayloadHash,
  type VerifiedSeed,
} from '../../../src/aws/sigv4/chunked.ts'
import { parseSignature } from '../../../src/aws/sigv4/sigv4.ts'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
const CHUNK_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
]

const exampleHeaders: [string, string][] = [
  ['Host', 's3.amazonaws.com'],
  ['x-amz-date', '20130524T000000Z'],
  ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
  [
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${SEED}`,
  ],
  ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
  ['Content-Encoding', 'aws-chunked'],
  ['x-amz-decoded-content-length', '66560'],
  ['Content-Length', '66824'],
]

function exampleSeed(): VerifiedSeed {
  const request = {
    method: 'PUT',
    path: '/examplebucket/chunkObject.txt',
    query: '',
    headers: exampleHeaders,
    body: new Uint8Array(),
  }
  const parsed = parseSignature(request)
  assert.ok(parsed)
  return verifyWithPayloadHash(request, parsed, SECRET, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', {
    normalizePath: false,
  })
}

function exampleBody(sigs = CHUNK_SIGS, data = Buffer.alloc(66560, 'a')): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    data.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    data.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n\r\n`),
  ])
}

/** Runs `input` through the transform in pieces of `step` bytes; resolves with the output or rejects. */
function decode(stream: NodeJS.ReadWriteStream, input: Buffer, step = 1000): Promise<Buffer> {
  const pieces: Buffer[] = []
  for (let i = 0; i < input.length; i += step) pieces.push(input.subarray(i, i + step))
  const out: Buffer[] = []
  return new Promise((resolve, reject) => {
    pipeline(
      Readable.from(pieces),
      stream,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk)
          cb()
        },
      }),
      (err) => (err ? reject(err) : resolve(Buffer.concat(out))),
    )
  })
}

void describe('aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', () => {
  void test('the seed signature of AWS example verifies', () => {
    assert.equal(exampleSeed().seedSignature, SEED)
  })

  void test('AWS example chunks decode to the 66560 bytes, whatever the read sizes', async () => {
    for (const step of [7, 1000, 70000]) {
      const out = await decode(
        new AwsChunkedDecoder({
          signed: true,
          trailer: false,
          seed: exampleSeed(),
          decodedLength: 66560,
        }),
        exampleBody(),
        step,
      )
      assert.equal(out.length, 66560)
      assert.ok(out.every((b) => b === 0x61))
    }
  })

  void test('a changed byte, a swapped chunk signature and a short body are refused', async () => {
    const data = Buffer.alloc(66560, 'a')
    data[70] = 0x62
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({ signed: true, trailer: false, seed: exampleSeed() }),
        exampleBody(CHUNK_SIGS, data),
      ),
      { code: 'SignatureDoesNotMatch' },
    )
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({ signed: true, trailer: false, seed: exampleSeed() }),
        exampleBody([CHUNK_SIGS[1] as string, CHUNK_SIGS[0] as string, CHUNK_SIGS[2] as string]),
      ),
      { code: 'SignatureDoesNotMatch' },
    )
    const body = exampleBody()
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({ signed: true, trailer: false, seed: exampleSeed() }),
        body.subarray(0, body.length - 90),
      ),
      { code: 'IncompleteBody' },
    )
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({
          signed: true,
          trailer: false,
          seed: exampleSeed(),
          decodedLength: 1,
        }),
        exampleBody(),
      ),
      { code: 'IncompleteBody' },
    )
  })

  void test('nothing of a bad last chunk reaches the consumer before verification fails', async () => {
    const data = Buffer.alloc(66560, 'a')
    data[66559] = 0x62
    const seen: Buffer[] = []
    const decoder = new AwsChunkedDecoder({ signed: true, trailer: false, seed: exampleSeed() })
    decoder.on('data', (c: Buffer) => seen.push(c))
    await assert.rejects(decode(decoder, exampleBody(CHUNK_SIGS, data), 70000))
    assert.ok(Buffer.concat(seen).length < 66560)
  })
})

/** Independent signer for the signed-trailer form (string to sign from the AWS trailer page). */
function signedTrailerBody(seed: VerifiedSeed, chunks: Buffer[], trailer: string): Buffer {
  const empty = createHash('sha256').update('').digest('hex')
  let prev = seed.seedSignature
  const parts: Buffer[] = []
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const sts = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      seed.amzDate,
      seed.scope,
      prev,
      empty,
      createHash('sha256').update(chunk).digest('hex'),
    ].join('\n')
    prev = createHmac('sha256', seed.signingKey).update(sts).digest('hex')
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${prev}\r\n`), chunk)
    if (chunk.length > 0) parts.push(Buffer.from('\r\n'))
  }
  const trailerSts = [
    'AWS4-HMAC-SHA256-TRAILER',
    seed.amzDate,
    seed.scope,
    prev,
    createHash('sha256').update(`${trailer}\n`).digest('hex'),
  ].join('\n')
  const trailerSig = createHmac('sha256', seed.signingKey).update(trailerSts).digest('hex')
  parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`))
  return Buffer.concat(parts)
}

function crc32Base64(data: Buffer): string {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(crc32(data))
  return b.toString('base64')
}

void describe('aws-chunked with trailing checksums', () => {
  const data = [Buffer.from('chunk-one '), Buffer.from('chunk-two')]
  const all = Buffer.concat(data)

  void test('STREAMING-UNSIGNED-PAYLOAD-TRAILER as the JS SDK sends it', async () => {
    const body = Buffer.from(
      `a\r\nchunk-one \r\n9\r\nchunk-two\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(all)}\r\n\r\n`,
    )
    const decoder = new AwsChunkedDecoder({
      signed: false,
      trailer: true,
      decodedLength: 19,
      announcedTrailer: 'x-amz-checksum-crc32',
    })
    assert.equal((await decode(decoder, body, 5)).toString(), 'chunk-one chunk-two')
    assert.equal(decoder.trailers.get('x-amz-checksum-crc32'), crc32Base64(all))
    const bad = Buffer.from(
      `a\r\nchunk-one \r\n9\r\nchunk-twO\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(all)}\r\n\r\n`,
    )
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({
          signed: false,
          trailer: true,
          announcedTrailer: 'x-amz-checksum-crc32',
        }),
        bad,
      ),
      {
        code: 'BadDigest',
        message: 'The CRC32 you specified did not match the calculated checksum.',
      },
    )
  })

  void test('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: chunk and trailer signatures, checksum', async () => {
    const seed = exampleSeed()
    const trailer = `x-amz-checksum-crc32:${crc32Base64(all)}`
    const ok = await decode(
      new AwsChunkedDecoder({
        signed: true,
        trailer: true,
        seed,
        announcedTrailer: 'x-amz-checksum-crc32',
      }),
      signedTrailerBody(seed, data, trailer),
      3,
    )
    assert.equal(ok.toString(), 'chunk-one chunk-two')
    const forged = signedTrailerBody(seed, data, trailer)
      .toString('latin1')
      .replace(/x-amz-trailer-signature:[0-9a-f]{64}/, `x-amz-trailer-signature:${'0'.repeat(64)}`)
    await assert.rejects(
      decode(
        new AwsChunkedDecoder({
          signed: true,
          trailer: true,
          seed,
          announcedTrailer: 'x-amz-checksum-crc32',
        }),
        Buffer.from(forged, 'latin1'),
      ),
      { code: 'SignatureDoesNotMatch' },
    )
  })

  void test('the encoder frames decoded bytes for the backend with the verified trailer', async () => {
    const trailers = new Map([['x-amz-checksum-crc32', 'abc=']])
    const out = await decode(new AwsChunkedEncoder(() => trailers), Buffer.from('hello world'), 5)
    assert.equal(
      out.toString(),
      '5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\nx-amz-checksum-crc32:abc=\r\n\r\n',
    )
  })

  void test('checksums: CRC32C check value (RFC 3720 B.4: 32 bytes of zeros → 8a9136aa), SHA-256', () => {
    const c = createChecksum('crc32c')
    assert.ok(c)
    c.update(Buffer.alloc(32, 0))
    assert.equal(Buffer.from(c.digest(), 'base64').toString('hex'), '8a9136aa')
    const s = createChecksum('SHA256')
    s?.update(Buffer.from('abc'))
    assert.equal(s?.digest(), createHash('sha256').update('abc').digest('base64'))
    assert.equal(createChecksum('crc64nvme'), undefined)
  })

  void test('a declared SHA-256 holds the last bytes back until the whole body matches', async () => {
    const hash = createHash('sha256').update('hello world').digest('hex')
    assert.equal(
      (await decode(new Sha256CheckStream(hash), Buffer.from('hello world'), 4)).toString(),
      'hello world',
    )
    await assert.rejects(decode(new Sha256CheckStream(hash), Buffer.from('hello World'), 4), {
      code: 'XAmzContentSHA256Mismatch',
    })
  })
})

void describe('s3CanonicalPath', () => {
  // Each segment decoded once and URI-encoded once (RFC 3986 unreserved characters kept), never normalized.
  const reference = (path: string) =>
    (path === '' ? '/' : path)
      .split('/')
      .map((s) => {
        let decoded = s
        try {
          decoded = decodeURIComponent(s)
        } catch {
          /* kept as sent */
        }
        return encodeURIComponent(decoded).replace(
          /[!'()*]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        )
      })
      .join('/')
  void test('plain paths stay as they are; everything else is decoded and encoded once', () => {
    for (const path of [
      '',
      '/',
      '/bucket/obj-1k',
      '/bucket/a/b/../c/./d~e_f-g.h',
      '//double//slash/',
      '/bucket/a%20b',
      '/bucket/a b',
      '/bucket/a+b',
      "/bucket/it's(1)*!",
      '/bucket/%E2%82%AC',
      '/bucket/€',
      '/bucket/bad%zz',
      '/bucket/%2F',
    ])
      assert.equal(s3CanonicalPath(path), reference(path), path)
    assert.equal(s3CanonicalPath('/bucket/a%20b'), '/bucket/a%20b')
    assert.equal(s3CanonicalPath('/bucket/a b'), '/bucket/a%20b')
    assert.equal(s3CanonicalPath('/bucket/a/../b'), '/bucket/a/../b')
  })
})
