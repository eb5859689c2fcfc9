/**
 * The acceptance path with the CLI only: `podtrust cluster add`, `podtrust up --agent-port`, the IAM role and
 * the association created with the AWS CLI, `podtrust token --cluster`, then boto3 reading the in-process
 * agent of `up` and calling GetCallerIdentity.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { openDb } from '../../src/server/store.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin/podtrust.js')
const hasPython = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0
const hasAws = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0

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

void describe('Pod Identity through the CLI (cluster add, up --agent-port, token --cluster)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-pi-cli-'))
  const home = mkdtempSync(join(tmpdir(), 'podtrust-pi-home-'))
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
  }
  let up: ChildProcess | undefined
  let output = ''
  let admin = { accessKeyId: '', secretAccessKey: '' }

  before(async () => {
    const add = await run(
      process.execPath,
      [bin, 'cluster', 'add', 'dev', '--data-dir', dir],
      baseEnv,
    )
    assert.equal(add.code, 0, add.stderr)
    // An administrator for the IAM / EKS calls, written offline (`up` may also print its bootstrap admin).
    const db = await openDb({ dataDir: dir })
    try {
      const iam = createIamRepo(db)
      const now = new Date()
      const rnd = (n: number) => randomBytes(n)
      await iam.ensureAccount('000000000000', now)
      await iam.insertUser({
        accountId: '000000000000',
        userName: 'pi-admin',
        userId: newUniqueId('AIDA', '000000000000', rnd),
        arn: 'arn:aws:iam::000000000000:user/pi-admin',
        path: '/',
        createDate: now,
        tags: [],
      })
      await iam.attachPolicy(
        '000000000000',
        'user',
        'pi-admin',
        'arn:aws:iam::aws:policy/AdministratorAccess',
        now,
      )
      admin = {
        accessKeyId: newUniqueId('AKIA', '000000000000', rnd, 16),
        secretAccessKey: newSecretAccessKey(rnd),
      }
      await iam.insertAccessKey({
        ...admin,
        status: 'Active',
        accountId: '000000000000',
        userName: 'pi-admin',
        createDate: now,
      })
    } finally {
      await db.close()
    }
    const child = spawn(
      process.execPath,
      [
        bin,
        'up',
        '--data-dir',
        dir,
        '--port',
        '0',
        '--https-port',
        '0',
        '--agent-port',
        '0',
        '--log-level',
        'silent',
      ],
      { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    up = child
    await new Promise<void>((resolve, reject) => {
      let err = ''
      const timer = setTimeout(() => reject(new Error(`up did not start: ${err}`)), 30000)
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString()
        if (/agent\s+http:\/\/\S+/.test(output) && output.includes('\n\n')) {
          clearTimeout(timer)
          // Give the announcement a moment to finish (the admin block follows the first lines).
          setTimeout(resolve, 300)
        }
      })
      child.on('exit', (code) => reject(new Error(`up exited with ${code}: ${err}`)))
    })
  })
  after(async () => {
    if (up !== undefined && up.exitCode === null) {
      const exited = new Promise((r) => up?.once('exit', r))
      up.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
    rmSync(home, { recursive: true, force: true })
  })

  void it('vends the associated role to boto3 through the agent of `up`', async (t) => {
    if (!hasPython || !hasAws) return t.skip('boto3 or the aws CLI not found') // reason: the message says what is missing
    const baseUrl = /podtrust ready on (http:\/\/\S+)/.exec(output)?.[1]
    const agentUrl = /agent\s+(http:\/\/\S+)/.exec(output)?.[1]
    assert.ok(baseUrl && agentUrl, output)
    const adminEnv = {
      ...baseEnv,
      AWS_ACCESS_KEY_ID: admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    }
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        },
      ],
    })
    const role = await run(
      'aws',
      [
        'iam',
        'create-role',
        '--endpoint-url',
        baseUrl,
        '--role-name',
        'app',
        '--assume-role-policy-document',
        trust,
        '--output',
        'json',
      ],
      adminEnv,
    )
    assert.equal(role.code, 0, role.stderr)
    const roleArn = (JSON.parse(role.stdout) as { Role: { Arn: string } }).Role.Arn
    const assoc = await run(
      'aws',
      [
        'eks',
        'create-pod-identity-association',
        '--endpoint-url',
        baseUrl,
        '--cluster-name',
        'dev',
        '--namespace',
        'shop',
        '--service-account',
        'cart',
        '--role-arn',
        roleArn,
      ],
      adminEnv,
    )
    assert.equal(assoc.code, 0, assoc.stderr)
    const tokenFile = join(dir, 'pod-token')
    const tok = await run(
      process.execPath,
      [
        bin,
        'token',
        '--data-dir',
        dir,
        '--cluster',
        'dev',
        '--namespace',
        'shop',
        '--service-account',
        'cart',
        '--pod',
        'cart-abc',
        '--audience',
        'pods.eks.amazonaws.com',
        '--out',
        tokenFile,
      ],
      baseEnv,
    )
    assert.equal(tok.code, 0, tok.stderr)
    const who = await run(
      'python3',
      ['-c', 'import boto3,json; print(json.dumps(boto3.client("sts").get_caller_identity()))'],
      {
        ...baseEnv,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agentUrl,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
        AWS_ENDPOINT_URL_STS: baseUrl,
      },
    )
    assert.equal(who.code, 0, who.stderr)
    const arn = (JSON.parse(who.stdout) as { Arn: string }).Arn
    assert.match(arn, /^arn:aws:sts::\d{12}:assumed-role\/app\/eks-dev-cart-abc-[0-9a-f-]{36}$/)
  })
})
