/**
 * The floor target of `npm run bench:sts`: an AssumeRoleWithWebIdentity handler that does only the work no
 * STS can skip — read the form body, verify the RS256 web-identity token (node:crypto, a 2048-bit key), check
 * its expiry, mint an access key id and secret, seal the session into a token with AES-256-GCM, answer the
 * XML — and nothing else: no store reads, no trust policy, no audit, no metrics. On the same machine and
 * client, `floor / ceiling` is the highest ratio a single Node process can reach before podtrust's own
 * work, which puts `podtrust / ceiling` (and the issue's 40 % goal) in proportion.
 * Prints `{"port":N,"body":"<form body>"}` like the other targets.
 */
import { createCipheriv, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const b64u = (s: string | Buffer) => Buffer.from(s).toString('base64url')
const header = b64u(JSON.stringify({ alg: 'RS256', kid: 'floor', typ: 'JWT' }))
const claims = b64u(
  JSON.stringify({
    iss: 'https://issuer.floor.example',
    sub: 'system:serviceaccount:default:perf',
    aud: ['sts.amazonaws.com'],
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600,
  }),
)
const token = `${header}.${claims}.${b64u(sign('sha256', Buffer.from(`${header}.${claims}`), privateKey))}`
const sealKey = randomBytes(32)

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    const [h = '', p = '', s = ''] = (form.get('WebIdentityToken') ?? '').split('.')
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {
      iss: string
      sub: string
      exp: number
    }
    const valid =
      verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')) &&
      payload.exp > Date.now() / 1000
    if (!valid) {
      res.writeHead(400, { 'content-length': 0 })
      res.end()
      return
    }
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`
    const secret = randomBytes(30).toString('base64')
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
    const session = JSON.stringify({
      accessKeyId,
      secret,
      role: form.get('RoleArn'),
      sub: payload.sub,
      exp: Date.now() + 3_600_000,
    })
    const sealed = Buffer.concat([iv, cipher.update(session), cipher.final(), cipher.getAuthTag()])
    const xml =
      '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>' +
      `<SubjectFromWebIdentityToken>${payload.sub}</SubjectFromWebIdentityToken><Provider>${payload.iss}</Provider>` +
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${secret}</SecretAccessKey>` +
      `<SessionToken>${sealed.toString('base64')}</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials>` +
      `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${randomBytes(16).toString('hex')}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`
    res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) })
    res.end(xml)
  })
})
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port
  const body = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: 'arn:aws:iam::123456789012:role/perf-role',
    RoleSessionName: 'perf',
    WebIdentityToken: token,
  }).toString()
  console.log(JSON.stringify({ port, body }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
