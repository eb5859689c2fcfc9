/**
 * The acceptance path for IAM credentials: `podtrust up` creates the bootstrap administrator on first start,
 * `podtrust admin-credentials --env` prints its key while the server runs, and the AWS CLI signs IAM calls
 * with it; a restart keeps the same key.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { cleanEnv, findOnPath, removeDir, run, tempDir } from './helpers/index.ts'

const BIN = fileURLToPath(new URL('../../bin/podtrust.js', import.meta.url))

function startUp(dataDir: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, 'up', '--port', '0', '--https-port', '0', '--data-dir', dataDir],
      {
        env: { ...cleanEnv(join(dataDir, 'home')), PODTRUST_LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    const timer = setTimeout(
      () => reject(new Error(`podtrust up did not get ready: ${out}`)),
      30_000,
    )
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, baseUrl: m[1]! })
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`podtrust up exited with ${String(code)}: ${out}`))
    })
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

void describe('podtrust up + admin-credentials', () => {
  const dir = tempDir('podtrust-iam-admin-')
  after(() => removeDir(dir))

  void it('prints a working administrator key that survives a restart', async (t) => {
    if (findOnPath('aws') === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const dataDir = join(dir, 'data')
    let server = await startUp(dataDir)
    try {
      const creds = await run(
        process.execPath,
        [BIN, 'admin-credentials', '--data-dir', dataDir, '--env'],
        {
          env: cleanEnv(join(dir, 'home')),
        },
      )
      assert.equal(creds.code, 0, creds.stderr)
      const m =
        /^export AWS_ACCESS_KEY_ID=(AKIA[A-Z2-7]{16})\nexport AWS_SECRET_ACCESS_KEY=(\S{40})\n$/.exec(
          creds.stdout,
        )
      assert.ok(m, creds.stdout)
      const env = cleanEnv(join(dir, 'cli'), {
        AWS_ACCESS_KEY_ID: m[1]!,
        AWS_SECRET_ACCESS_KEY: m[2]!,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_IAM: server.baseUrl,
      })
      const r = await run('aws', ['iam', 'get-user', '--output', 'json'], { env })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(JSON.parse(r.stdout).User.Arn, 'arn:aws:iam::000000000000:user/podtrust-admin')
      const attached = await run(
        'aws',
        ['iam', 'list-attached-user-policies', '--user-name', 'podtrust-admin', '--output', 'json'],
        { env },
      )
      assert.deepEqual(JSON.parse(attached.stdout).AttachedPolicies, [
        {
          PolicyName: 'AdministratorAccess',
          PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        },
      ])
      await stop(server.child)
      server = await startUp(dataDir)
      const again = await run(
        process.execPath,
        [BIN, 'admin-credentials', '--data-dir', dataDir, '--env'],
        {
          env: cleanEnv(join(dir, 'home')),
        },
      )
      assert.equal(again.stdout, creds.stdout)
      const after = await run('aws', ['iam', 'list-access-keys', '--output', 'json'], {
        env: { ...env, AWS_ENDPOINT_URL_IAM: server.baseUrl },
      })
      assert.equal(after.code, 0, after.stderr)
      assert.equal(JSON.parse(after.stdout).AccessKeyMetadata.length, 1)
    } finally {
      await stop(server.child)
    }
  })
})
