/**
 * aws-chunked uploads through the gateway to moto, as raw HTTP: signed chunks
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), signed chunks with a signed trailer and CRC32 checksum
 * (…-PAYLOAD-TRAILER), and the failures S3 answers — a tampered chunk (403 SignatureDoesNotMatch) and a wrong
 * trailing checksum (400 BadDigest) — after which the object must not exist at the backend.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { crc32 } from 'node:zlib'
import { deriveSigningKey } from '../../src/aws/sigv4/sigv4.ts'
import { signBackendRequest } from '../../src/gateway/backend.ts'
import { pythonHas } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'
import type { Creds } from './gateway-clients.ts'

const skip = !(await pythonHas('moto.server')) ? 'moto (python3 -m moto.server) is required' : false
const EMPTY = createHash('sha256').update('').digest('hex')
const hmacHex = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('hex')
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

function crc32b64(data: Buffer): string {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(crc32(data))
  return b.toString('base64')
}

interface Sent {
  status: number
  body: string
}

/** PUT with aws-chunked framing built here (an independent signer, from the AWS pages above). */
function chunkedPut(
  port: number,
  key: string,
  creds: Creds,
  chunks: Buffer[],
  options: { trailer?: boolean; tamper?: boolean; badChecksum?: boolean } = {},
): Promise<Sent> {
  const now = new Date()
  const mode = options.trailer
    ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
    : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
  const total = chunks.reduce((n, c) => n + c.length, 0)
  const head: [string, string][] = [
    ['content-encoding', 'aws-chunked'],
    ['x-amz-decoded-content-length', String(total)],
    ...(options.trailer ? ([['x-amz-trailer', 'x-amz-checksum-crc32']] as [string, string][]) : []),
  ]
  const signed = signBackendRequest({
    method: 'PUT',
    path: `/stream-bucket/${key}`,
    query: '',
    headers: head,
    host: `127.0.0.1:${port}`,
    payloadHash: mode,
    service: 's3',
    target: { url: new URL(`http://127.0.0.1:${port}`), ...creds, region: 'us-east-1' },
    now,
  })
  const headers = Object.fromEntries(signed)
  let prev = /Signature=([0-9a-f]{64})/.exec(headers['authorization'] as string)?.[1] as string
  const amzDate = headers['x-amz-date'] as string
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`
  const signingKey = deriveSigningKey(creds.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3')
  const parts: Buffer[] = []
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    prev = hmacHex(
      signingKey,
      ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, EMPTY, sha(chunk)].join('\n'),
    )
    const sent =
      options.tamper === true && chunk.length > 0 ? Buffer.from(chunk).fill(0x21, 0, 1) : chunk
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${prev}\r\n`), sent)
    if (chunk.length > 0) parts.push(Buffer.from('\r\n'))
  }
  if (options.trailer) {
    const all = Buffer.concat(chunks)
    const trailer = `x-amz-checksum-crc32:${options.badChecksum === true ? 'AAAAAA==' : crc32b64(all)}`
    const sig = hmacHex(
      signingKey,
      ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, prev, sha(`${trailer}\n`)].join('\n'),
    )
    parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`))
  } else parts.push(Buffer.from('\r\n'))
  const body = Buffer.concat(parts)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `/stream-bucket/${key}`,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** GET from moto directly, signed (moto accepts any key but refuses anonymous reads). */
async function backendGet(moto: string, key: string): Promise<{ status: number; body: Buffer }> {
  const url = new URL(`${moto}/stream-bucket/${key}`)
  const headers = signBackendRequest({
    method: 'GET',
    path: url.pathname,
    query: '',
    headers: [],
    host: url.host,
    payloadHash: EMPTY,
    service: 's3',
    target: { url, accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1' },
    now: new Date(),
  })
  const res = await fetch(url, {
    headers: Object.fromEntries(headers.filter(([n]) => n !== 'host')),
  })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

async function backendStatus(moto: string, key: string): Promise<number> {
  return (await backendGet(moto, key)).status
}

void describe('aws-chunked uploads through the gateway', { skip }, () => {
  let f: GatewayFixture
  let admin: Creds
  const chunks = [Buffer.alloc(70 * 1024, 'a'), Buffer.alloc(70 * 1024, 'b'), Buffer.from('tail')]

  before(async () => {
    f = await startGatewayFixture()
    admin = await f.s.addUser('stream-admin', {
      policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    })
    const url = new URL(`${f.moto.url}/stream-bucket`)
    const headers = signBackendRequest({
      method: 'PUT',
      path: url.pathname,
      query: '',
      headers: [],
      host: url.host,
      payloadHash: EMPTY,
      service: 's3',
      target: { url, accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1' },
      now: new Date(),
    })
    const res = await fetch(url, {
      method: 'PUT',
      headers: Object.fromEntries(headers.filter(([n]) => n !== 'host')),
    })
    assert.equal(res.status, 200)
  })
  after(async () => f?.close())

  void test('signed chunks reach the backend as the decoded object', async () => {
    const r = await chunkedPut(f.gateway.port, 'signed.bin', admin, chunks)
    assert.equal(r.status, 200, r.body)
    const got = await backendGet(f.moto.url, 'signed.bin')
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, Buffer.concat(chunks))
  })

  void test('signed chunks with a signed trailer and CRC32', async () => {
    const r = await chunkedPut(f.gateway.port, 'trailer.bin', admin, chunks, { trailer: true })
    assert.equal(r.status, 200, r.body)
    assert.equal(await backendStatus(f.moto.url, 'trailer.bin'), 200)
  })

  void test('a tampered chunk is SignatureDoesNotMatch and never becomes an object', async () => {
    const r = await chunkedPut(f.gateway.port, 'tampered.bin', admin, chunks, { tamper: true })
    assert.equal(r.status, 403)
    assert.match(r.body, /<Code>SignatureDoesNotMatch<\/Code>/)
    assert.equal(await backendStatus(f.moto.url, 'tampered.bin'), 404)
  })

  void test('a wrong trailing checksum is BadDigest and never becomes an object', async () => {
    const r = await chunkedPut(f.gateway.port, 'baddigest.bin', admin, chunks, {
      trailer: true,
      badChecksum: true,
    })
    assert.equal(r.status, 400)
    assert.match(
      r.body,
      /<Code>BadDigest<\/Code><Message>The CRC32 you specified did not match the calculated checksum.<\/Message>/,
    )
    assert.equal(await backendStatus(f.moto.url, 'baddigest.bin'), 404)
  })
})
