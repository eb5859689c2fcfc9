/**
 * `podtrust issuer publish --to s3://BUCKET/PREFIX` through the AWS SDK for JavaScript v3 against an
 * S3-compatible endpoint named by AWS_ENDPOINT_URL_S3 (moto, started here on a free port): both objects
 * land under the prefix with Content-Type application/json, and the printed bucket policy (public read of
 * exactly those two objects) is accepted by PutBucketPolicy.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
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

const hasMoto = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

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
