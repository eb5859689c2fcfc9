/**
 * `podtrust issuer publish --to s3://BUCKET/PREFIX` through the AWS SDK for JavaScript v3 against an
 * S3-compatible endpoint named by AWS_ENDPOINT_URL_S3 (moto, started here on a free port): both objects
 * land under the prefix with Content-Type application/json, and the printed bucket policy (public read of
 * exactly those two objects) is accepted by PutBucketPolicy.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { main } from '../../src/cli/main.ts'
import { freePort } from './helpers/index.ts'
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.ts'

const hasMoto = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0

void describe(
  'issuer publish to S3 (AWS SDK v3, AWS_ENDPOINT_URL_S3)',
  { skip: hasMoto ? false : 'moto is not installed (python3 -m moto.server)' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-publish-s3-'))
    let moto: ChildProcess | undefined
    let endpoint = ''
    const creds = {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    }

    before(async () => {
      for (let attempt = 0; attempt < 3 && endpoint === ''; attempt++) {
        const port = await freePort()
        moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
          stdio: 'ignore',
        })
        for (let i = 0; i < 100; i++) {
          const ok = await fetch(`http://127.0.0.1:${port}/moto-api/`).then(
            (r) => r.ok,
            () => false,
          )
          if (ok) {
            endpoint = `http://127.0.0.1:${port}`
            break
          }
          if (moto.exitCode !== null) break
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      assert.notEqual(endpoint, '', 'moto did not start')
    })
    after(async () => {
      if (moto !== undefined && moto.exitCode === null) {
        const exited = new Promise((r) => moto?.once('exit', r))
        moto.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    })

    void it('puts both objects with application/json and prints an acceptable public-read policy', async () => {
      const s3 = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: creds,
      })
      await s3.send(new CreateBucketCommand({ Bucket: 'podtrust-oidc' }))
      const data = join(dir, 'data')
      const out = join(dir, 'out')
      const cli = async (argv: string[]) => {
        const stdout = new PassThrough()
        const stderr = new PassThrough()
        let o = ''
        let e = ''
        stdout.on('data', (d: Buffer) => (o += d.toString()))
        stderr.on('data', (d: Buffer) => (e += d.toString()))
        const env = {
          AWS_ENDPOINT_URL_S3: endpoint,
          AWS_ACCESS_KEY_ID: creds.accessKeyId,
          AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
          AWS_REGION: 'us-east-1',
        }
        const code = await main(argv, { stdout, stderr, env, cwd: dir })
        return { code, out: o, err: e }
      }
      const issuer = 'https://podtrust-oidc.s3.us-east-1.amazonaws.com/lab'
      assert.equal(
        (
          await cli([
            'cluster',
            'setup',
            'lab',
            '--distro',
            'k3s',
            '--issuer-url',
            issuer,
            '--out',
            out,
            '--data-dir',
            data,
          ])
        ).code,
        0,
      )
      const pub = await cli([
        'issuer',
        'publish',
        '--cluster',
        'lab',
        '--to',
        's3://podtrust-oidc/lab',
        '--data-dir',
        data,
      ])
      assert.equal(pub.code, 0, pub.err)
      for (const key of ['.well-known/openid-configuration', 'openid/v1/jwks']) {
        const obj = await s3.send(
          new GetObjectCommand({ Bucket: 'podtrust-oidc', Key: `lab/${key}` }),
        )
        assert.equal(obj.ContentType, 'application/json')
        assert.equal(
          await obj.Body?.transformToString(),
          readFileSync(join(out, 'discovery', key), 'utf8'),
        )
      }
      const policyText = pub.out.slice(pub.out.indexOf('{'), pub.out.lastIndexOf('}') + 1)
      const policy = JSON.parse(policyText) as {
        Statement: { Resource: string[]; Action: string; Principal: string }[]
      }
      assert.deepEqual(policy.Statement[0]?.Resource, [
        'arn:aws:s3:::podtrust-oidc/lab/.well-known/openid-configuration',
        'arn:aws:s3:::podtrust-oidc/lab/openid/v1/jwks',
      ])
      assert.equal(policy.Statement[0]?.Action, 's3:GetObject')
      await s3.send(new PutBucketPolicyCommand({ Bucket: 'podtrust-oidc', Policy: policyText }))
      // Unknown bucket: a clear error naming the target.
      const bad = await cli([
        'issuer',
        'publish',
        '--cluster',
        'lab',
        '--to',
        's3://no-such-bucket-here/lab',
        '--data-dir',
        data,
      ])
      assert.equal(bad.code, 1)
      assert.match(
        bad.err,
        /S3 PutObject to s3:\/\/no-such-bucket-here\/lab\/ failed: NoSuchBucket/,
      )
      s3.destroy()
    })
  },
)

void describe(
  "issuer publish through podtrust's S3 gateway",
  { skip: hasMoto ? false : 'moto is not installed (python3 -m moto.server)' },
  () => {
    let f: GatewayFixture
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-publish-gw-'))
    before(async () => {
      f = await startGatewayFixture()
    })
    after(async () => {
      await f.close()
      rmSync(dir, { recursive: true, force: true })
    })

    void it('publishes with the operator’s IAM user through the gateway (AWS_ENDPOINT_URL_S3), readable back with its content type', async () => {
      const keys = await f.s.addUser('oidc-publisher', {
        inline: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 's3:*',
              Resource: ['arn:aws:s3:::oidc-gw', 'arn:aws:s3:::oidc-gw/*'],
            },
          ],
        }),
      })
      const s3 = new S3Client({
        region: 'us-east-1',
        endpoint: f.gateway.url,
        forcePathStyle: true,
        credentials: keys,
      })
      await s3.send(new CreateBucketCommand({ Bucket: 'oidc-gw' }))
      const env = {
        AWS_ENDPOINT_URL_S3: f.gateway.url,
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        AWS_REGION: 'us-east-1',
      }
      const cli = async (argv: string[]) => {
        const stdout = new PassThrough()
        const stderr = new PassThrough()
        let o = ''
        let e = ''
        stdout.on('data', (d: Buffer) => (o += d.toString()))
        stderr.on('data', (d: Buffer) => (e += d.toString()))
        const code = await main(argv, { stdout, stderr, env, cwd: dir })
        return { code, out: o, err: e }
      }
      const data = join(dir, 'data')
      const out = join(dir, 'out')
      assert.equal(
        (
          await cli([
            'cluster',
            'setup',
            'gw',
            '--distro',
            'kubeadm',
            '--issuer-url',
            'https://oidc-gw.s3.us-east-1.amazonaws.com/gw',
            '--out',
            out,
            '--data-dir',
            data,
          ])
        ).code,
        0,
      )
      const pub = await cli([
        'issuer',
        'publish',
        '--cluster',
        'gw',
        '--to',
        's3://oidc-gw/gw',
        '--data-dir',
        data,
      ])
      assert.equal(pub.code, 0, pub.err)
      const jwks = await s3.send(
        new GetObjectCommand({ Bucket: 'oidc-gw', Key: 'gw/openid/v1/jwks' }),
      )
      assert.equal(jwks.ContentType, 'application/json')
      assert.equal(
        await jwks.Body?.transformToString(),
        readFileSync(join(out, 'discovery/openid/v1/jwks'), 'utf8'),
      )
      // Another bucket is outside the user's policy: the gateway denies, the CLI says so.
      const denied = await cli([
        'issuer',
        'publish',
        '--cluster',
        'gw',
        '--to',
        's3://other-bucket/gw',
        '--data-dir',
        data,
      ])
      assert.equal(denied.code, 1)
      assert.match(denied.err, /failed: AccessDenied/)
      s3.destroy()
    })
  },
)
