/**
 * The self-hosted issuer kit end to end: `cluster setup` (kind), `issuer publish` to a folder served by a
 * local static HTTPS server (certificate from podtrust's CA), `cluster verify` fetching it as AWS STS does
 * (and naming what is wrong: content type, http, missing kid, issuer mismatch, unreachable), a token signed
 * with the generated key accepted by podtrust's STS (`podtrust up`, the AWS CLI creating the IAM OIDC
 * provider and the role, AssumeRoleWithWebIdentity), and a rotation keeping old and new tokens valid
 * through the overlap.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes, createPrivateKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { issueServerCertificate, loadOrCreateCa } from '../../src/certs/ca.ts'
import { main } from '../../src/cli/main.ts'
import { openDb } from '../../src/server/store.ts'
import { publicJwkOf } from '../../src/setup/keys.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin/podtrust.js')
const hasAws = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0
const ACCOUNT = '000000000000'

async function cli(argv: string[], cwd: string) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await main(argv, { stdout, stderr, env: {}, cwd })
  return { code, out, err }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}

/** A kube-apiserver-shaped service-account token signed with the key file the kit wrote. */
async function kubeToken(
  keyFile: string,
  pubFile: string,
  issuer: string,
  sa = 'app',
): Promise<string> {
  const key = createPrivateKey(readFileSync(keyFile, 'utf8'))
  const kid = publicJwkOf(
    readFileSync(pubFile, 'utf8').split(/(?<=-----END PUBLIC KEY-----)/)[0]!,
  ).kid
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    sub: `system:serviceaccount:default:${sa}`,
    'kubernetes.io': {
      namespace: 'default',
      serviceaccount: { name: sa, uid: '5b1b9f6e-0000-4000-8000-000000000001' },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(issuer)
    .setAudience('sts.amazonaws.com')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 3600)
    .sign(key)
}

void describe('self-hosted issuer: setup, publish, verify, STS, rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-selfhosted-'))
  const home = join(dir, 'home')
  const webRoot = join(dir, 'web')
  const setupData = join(dir, 'setup-data')
  const stsData = join(dir, 'sts-data')
  const out = join(dir, 'out')
  let web: Server
  let base = ''
  let issuer = ''
  let caFile = ''
  /** Paths served with a wrong content type (the negative checks). */
  const textPlain = new Set<string>()
  let up: ChildProcess | undefined
  let upOutput = ''
  const admin = { accessKeyId: '', secretAccessKey: '' }

  before(async () => {
    const ca = await loadOrCreateCa(join(dir, 'ca'))
    caFile = ca.certFile
    const cert = await issueServerCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    web = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname))
      const file = join(webRoot, path)
      if (!file.startsWith(webRoot) || !existsSync(file)) {
        res.writeHead(404).end()
        return
      }
      void readFile(file).then(
        (body) =>
          res
            .writeHead(200, {
              'content-type': textPlain.has(path) ? 'text/plain' : 'application/json',
            })
            .end(body),
        () => res.writeHead(500).end(),
      )
    })
    web.on('clientError', (_e, socket) => socket.destroy())
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
    base = `https://127.0.0.1:${(web.address() as AddressInfo).port}`
    issuer = `${base}/lab`
  })
  after(async () => {
    if (up !== undefined && up.exitCode === null) {
      const exited = new Promise((r) => up?.once('exit', r))
      up.kill('SIGTERM')
      await exited
    }
    await new Promise((r) => web.close(r))
    rmSync(dir, { recursive: true, force: true })
  })

  void it('sets up, publishes and verifies a real token; names each kind of problem', async () => {
    const setup = await cli(
      [
        'cluster',
        'setup',
        'lab',
        '--distro',
        'kind',
        '--issuer-url',
        issuer,
        '--out',
        out,
        '--data-dir',
        setupData,
        '--clouds',
        'aws',
        '--ca-file',
        caFile,
      ],
      dir,
    )
    assert.equal(setup.code, 0, setup.err)
    assert.match(setup.out, /thumbprint: [0-9a-f]{40}/)
    const pub = await cli(
      [
        'issuer',
        'publish',
        '--cluster',
        'lab',
        '--to',
        join(webRoot, 'lab'),
        '--data-dir',
        setupData,
      ],
      dir,
    )
    assert.equal(pub.code, 0, pub.err)
    const token = await kubeToken(join(out, 'keys/sa.key'), join(out, 'keys/sa.pub'), issuer)
    const tokenFile = join(dir, 'token.jwt')
    writeFileSync(tokenFile, token)
    const verify = (file: string, extra: string[] = []) =>
      cli(
        [
          'cluster',
          'verify',
          'lab',
          '--token',
          file,
          '--ca-file',
          caFile,
          '--allow-loopback',
          '--data-dir',
          setupData,
          ...extra,
        ],
        dir,
      )
    const ok = await verify(tokenFile)
    assert.equal(ok.code, 0, ok.out + ok.err)
    assert.match(ok.out, /validates the token/)

    // An issuer on this machine may be fetched on loopback without --allow-loopback (development).
    const local = await cli(
      [
        'cluster',
        'verify',
        'lab',
        '--token',
        tokenFile,
        '--ca-file',
        caFile,
        '--data-dir',
        setupData,
      ],
      dir,
    )
    assert.equal(local.code, 0, local.out)
    // Without the CA, TLS fails: unreachable.
    const noCa = await cli(
      [
        'cluster',
        'verify',
        'lab',
        '--token',
        tokenFile,
        '--allow-loopback',
        '--data-dir',
        setupData,
      ],
      dir,
    )
    assert.match(noCa.out, /FAIL unreachable/)

    // A token of another key: missing kid. Another issuer: issuer mismatch.
    const other = mkdtempSync(join(dir, 'other-'))
    assert.equal(
      (
        await cli(
          [
            'cluster',
            'setup',
            'other',
            '--distro',
            'k3s',
            '--issuer-url',
            `${base}/other`,
            '--out',
            other,
            '--data-dir',
            join(dir, 'other-data'),
          ],
          dir,
        )
      ).code,
      0,
    )
    const foreignKid = join(dir, 'foreign.jwt')
    writeFileSync(
      foreignKid,
      await kubeToken(join(other, 'keys/sa.key'), join(other, 'keys/sa.pub'), issuer),
    )
    assert.match(
      (await verify(foreignKid)).out,
      /FAIL missing-kid: the token's kid '[^']+' is not in the published JWKS/,
    )
    const foreignIss = join(dir, 'foreign-iss.jwt')
    writeFileSync(
      foreignIss,
      await kubeToken(join(out, 'keys/sa.key'), join(out, 'keys/sa.pub'), `${base}/other`),
    )
    assert.match((await verify(foreignIss)).out, /FAIL token-issuer-mismatch/)

    // Wrong content type.
    textPlain.add('/lab/openid/v1/jwks')
    const typed = await verify(tokenFile)
    textPlain.clear()
    assert.equal(typed.code, 1)
    assert.match(typed.out, /FAIL wrong-content-type: JWKS .* is served as 'text\/plain'/)

    // Discovery naming another issuer.
    const discoFile = join(webRoot, 'lab/.well-known/openid-configuration')
    const disco = readFileSync(discoFile, 'utf8')
    writeFileSync(discoFile, disco.replace(`"issuer": "${issuer}"`, `"issuer": "${issuer}/"`))
    const mismatch = await verify(tokenFile)
    writeFileSync(discoFile, disco)
    assert.match(mismatch.out, /FAIL issuer-mismatch/)

    // A jwks_uri on a private address is refused (SSRF guard), as AWS refuses it.
    writeFileSync(
      discoFile,
      disco.replace(
        `"jwks_uri": "${issuer}/openid/v1/jwks"`,
        '"jwks_uri": "https://10.0.0.1/jwks"',
      ),
    )
    const ssrf = await verify(tokenFile)
    writeFileSync(discoFile, disco)
    assert.match(ssrf.out, /FAIL forbidden-address: JWKS https:\/\/10\.0\.0\.1\/jwks/)

    // Not published at all.
    rmSync(join(webRoot, 'lab'), { recursive: true })
    const gone = await verify(tokenFile)
    assert.match(gone.out, /FAIL unreachable: discovery document .* answered HTTP 404/)
    assert.equal(
      (
        await cli(
          [
            'issuer',
            'publish',
            '--cluster',
            'lab',
            '--to',
            join(webRoot, 'lab'),
            '--data-dir',
            setupData,
          ],
          dir,
        )
      ).code,
      0,
    )
  })

  void it('http instead of https is named', async () => {
    const httpData = join(dir, 'http-data')
    // The kit itself refuses an http issuer; a cluster whose record says http (an older set-up) is named.
    const r = await cli(
      [
        'cluster',
        'setup',
        'plain',
        '--distro',
        'kind',
        '--issuer-url',
        'http://oidc.example.com',
        '--out',
        join(dir, 'o'),
        '--data-dir',
        httpData,
      ],
      dir,
    )
    assert.equal(r.code, 1)
    assert.match(r.err, /must use https/)
    const { verifyPublishedIssuer } = await import('../../src/setup/verify.ts')
    const report = await verifyPublishedIssuer({
      issuerUrl: 'http://oidc.example.com',
      token: await kubeToken(
        join(out, 'keys/sa.key'),
        join(out, 'keys/sa.pub'),
        'http://oidc.example.com',
      ),
      policy: { allowHttpLoopback: false, allowPrivateNetworks: false },
      verifier: { verify: () => Promise.reject(new Error('not reached')) },
      now: new Date(),
    })
    assert.equal(report.ok, false)
    assert.deepEqual(
      report.problems.map((p) => p.code),
      ['http-not-https'],
    )
  })

  void it('podtrust STS trusts the published issuer; rotation keeps old and new tokens valid', async (t) => {
    if (!hasAws) return t.skip('the aws CLI is not installed') // reason: the check drives real AWS CLI calls
    const db = await openDb({ dataDir: stsData })
    try {
      const iam = createIamRepo(db)
      const now = new Date()
      const rnd = (n: number) => randomBytes(n)
      await iam.ensureAccount(ACCOUNT, now)
      await iam.insertUser({
        accountId: ACCOUNT,
        userName: 'ops',
        userId: newUniqueId('AIDA', ACCOUNT, rnd),
        arn: `arn:aws:iam::${ACCOUNT}:user/ops`,
        path: '/',
        createDate: now,
        tags: [],
      })
      await iam.attachPolicy(
        ACCOUNT,
        'user',
        'ops',
        'arn:aws:iam::aws:policy/AdministratorAccess',
        now,
      )
      admin.accessKeyId = newUniqueId('AKIA', ACCOUNT, rnd, 16)
      admin.secretAccessKey = newSecretAccessKey(rnd)
      await iam.insertAccessKey({
        ...admin,
        status: 'Active',
        accountId: ACCOUNT,
        userName: 'ops',
        createDate: now,
      })
    } finally {
      await db.close()
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_DEFAULT_REGION: 'us-east-1',
      // podtrust's STS fetches the issuer over TLS signed by podtrust's CA.
      NODE_EXTRA_CA_CERTS: caFile,
    }
    up = spawn(
      process.execPath,
      [
        bin,
        'up',
        '--data-dir',
        stsData,
        '--port',
        '0',
        '--no-tls',
        '--allow-http-issuers',
        '--log-level',
        'silent',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`up did not start: ${upOutput}`)), 30_000)
      up?.stdout?.on('data', (d: Buffer) => {
        upOutput += d.toString()
        if (/podtrust ready on http:\/\/\S+/.test(upOutput)) {
          clearTimeout(timer)
          resolve()
        }
      })
      up?.on('exit', (code) => reject(new Error(`up exited with ${code}`)))
    })
    const endpoint = /podtrust ready on (http:\/\/\S+)/.exec(upOutput)?.[1] ?? ''
    const adminEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    }
    const aws = (args: string[], e: NodeJS.ProcessEnv = adminEnv) =>
      run('aws', [...args, '--endpoint-url', endpoint, '--output', 'json'], e)

    // The commands `cluster setup --clouds aws` printed, against podtrust's IAM.
    const provider = await aws([
      'iam',
      'create-open-id-connect-provider',
      '--url',
      issuer,
      '--client-id-list',
      'sts.amazonaws.com',
    ])
    assert.equal(provider.code, 0, provider.stderr)
    const providerArn = (JSON.parse(provider.stdout) as { OpenIDConnectProviderArn: string })
      .OpenIDConnectProviderArn
    const host = issuer.replace(/^https:\/\//, '')
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${host}:sub`]: 'system:serviceaccount:default:app',
              [`${host}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    })
    const role = await aws([
      'iam',
      'create-role',
      '--role-name',
      'lab-app',
      '--assume-role-policy-document',
      trust,
    ])
    assert.equal(role.code, 0, role.stderr)
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/lab-app`
    const assume = async (token: string) => {
      const file = join(dir, `t-${randomBytes(4).toString('hex')}.jwt`)
      writeFileSync(file, token)
      return aws(
        [
          'sts',
          'assume-role-with-web-identity',
          '--role-arn',
          roleArn,
          '--role-session-name',
          'app',
          '--web-identity-token',
          `file://${file}`,
        ],
        { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      )
    }
    const oldToken = await kubeToken(join(out, 'keys/sa.key'), join(out, 'keys/sa.pub'), issuer)
    const first = await assume(oldToken)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /"Arn": "arn:aws:sts::000000000000:assumed-role\/lab-app\/app"/)

    // Rotation, each step checked.
    const rotate = (args: string[]) =>
      cli(['cluster', 'rotate', 'lab', ...args, '--data-dir', setupData], dir)
    const early = await rotate(['--step', 'switch'])
    assert.equal(early.code, 1)
    assert.match(early.err, /cannot run 'switch' in phase 'steady'/)
    assert.equal((await rotate(['--step', 'add-next'])).code, 0)
    assert.match((await rotate(['--step', 'retire'])).err, /the next step is 'publish'/)
    const published = await rotate(['--step', 'publish'])
    assert.equal(published.code, 0, published.err)
    const jwks = JSON.parse(readFileSync(join(webRoot, 'lab/openid/v1/jwks'), 'utf8')) as {
      keys: unknown[]
    }
    assert.equal(jwks.keys.length, 2)
    const switched = await rotate(['--step', 'switch'])
    assert.equal(switched.code, 0, switched.err)
    assert.equal(existsSync(join(out, 'keys/sa-next.key')), false)
    const newToken = await kubeToken(join(out, 'keys/sa.key'), join(out, 'keys/sa.pub'), issuer)
    assert.notEqual(
      JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid,
      JSON.parse(Buffer.from(oldToken.split('.')[0]!, 'base64url').toString()).kid,
    )
    // The overlap: both tokens are accepted.
    const withNew = await assume(newToken)
    assert.equal(withNew.code, 0, withNew.stderr)
    const withOld = await assume(oldToken)
    assert.equal(withOld.code, 0, withOld.stderr)
    // Retiring waits for the longest token lifetime.
    const tooEarly = await rotate(['--step', 'retire'])
    assert.match(tooEarly.err, /may be valid until/)
    const status = await rotate(['--status'])
    assert.match(status.out, /retire is safe from \d{4}-/)
    const later = new Date(Date.now() + 86_401_000).toISOString()
    assert.equal((await rotate(['--step', 'retire', '--now', later])).code, 0)
    assert.equal(
      (
        await cli(
          [
            'issuer',
            'publish',
            '--cluster',
            'lab',
            '--to',
            join(webRoot, 'lab'),
            '--data-dir',
            setupData,
          ],
          dir,
        )
      ).code,
      0,
    )
    const oldFile = join(dir, 'old.jwt')
    writeFileSync(oldFile, oldToken)
    const retired = await cli(
      [
        'cluster',
        'verify',
        'lab',
        '--token',
        oldFile,
        '--ca-file',
        caFile,
        '--allow-loopback',
        '--data-dir',
        setupData,
      ],
      dir,
    )
    assert.match(retired.out, /FAIL missing-kid/)
    const newFile = join(dir, 'new.jwt')
    writeFileSync(newFile, newToken)
    assert.equal(
      (
        await cli(
          [
            'cluster',
            'verify',
            'lab',
            '--token',
            newFile,
            '--ca-file',
            caFile,
            '--allow-loopback',
            '--data-dir',
            setupData,
          ],
          dir,
        )
      ).code,
      0,
    )
  })
})
