/**
 * EKS Pod Identity end to end with the real Python clients: `podtrust agent` runs as its own process (the
 * in-cluster form, SigV4-signing its EKS Auth calls with a node user's access key), `aws eks
 * create-pod-identity-association --endpoint-url` creates the association, and boto3 and the AWS CLI get
 * container credentials from the agent (AWS_CONTAINER_CREDENTIALS_FULL_URI + _TOKEN_FILE) and call
 * GetCallerIdentity with them.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ACCOUNT, type Fixture, REGION, podTrust, startFixture } from './pod-identity-fixture.ts'

const root = new URL('../..', import.meta.url).pathname
const hasPython = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0
const hasAws = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0

/** A clean environment: only what the test sets reaches the client (no ~/.aws, no stray AWS_*). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'podtrust-home-'))
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_DEFAULT_REGION: REGION,
    AWS_REGION: REGION,
    ...extra,
  }
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

const BOTO3_WHOAMI =
  'import boto3,json; print(json.dumps(boto3.client("sts").get_caller_identity()))'

void describe('EKS Pod Identity with boto3 and the AWS CLI against `podtrust agent`', () => {
  let f: Fixture
  let agentProcess: ChildProcess | undefined
  let agentUrl = ''

  before(async () => {
    f = await startFixture()
    await f.addRole('app', podTrust(['sts:AssumeRole', 'sts:TagSession']))
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin/podtrust.js'),
        'agent',
        '--port',
        '0',
        '--server',
        f.server.baseUrl,
        '--cluster',
        'c1',
      ],
      {
        env: cleanEnv({
          AWS_ACCESS_KEY_ID: f.node.accessKeyId,
          AWS_SECRET_ACCESS_KEY: f.node.secretAccessKey,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    agentProcess = child
    agentUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      let err = ''
      const timer = setTimeout(() => reject(new Error(`agent did not start: ${err}`)), 20000)
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /AWS_CONTAINER_CREDENTIALS_FULL_URI=(\S+)/.exec(out)
        if (m?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(m[1])
        }
      })
      child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${err}`)))
    })
  })
  after(async () => {
    if (agentProcess !== undefined && agentProcess.exitCode === null) {
      const exited = new Promise((r) => agentProcess?.once('exit', r))
      agentProcess.kill('SIGTERM')
      await exited
    }
    await f?.close()
  })

  void it('aws eks create-pod-identity-association --endpoint-url works unmodified', async (t) => {
    if (!hasAws) return t.skip('aws CLI not found') // reason: the message says what is missing
    const env = cleanEnv({
      AWS_ACCESS_KEY_ID: f.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: f.admin.secretAccessKey,
    })
    const r = await run(
      'aws',
      [
        'eks',
        'create-pod-identity-association',
        '--endpoint-url',
        f.server.baseUrl,
        '--output',
        'json',
        '--cluster-name',
        'c1',
        '--namespace',
        'shop',
        '--service-account',
        'cart',
        '--role-arn',
        f.roleArn('app'),
      ],
      env,
    )
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { association: { associationId: string; roleArn: string } }
    assert.match(out.association.associationId, /^a-[0-9a-z]{17}$/)
    assert.equal(out.association.roleArn, f.roleArn('app'))
    const list = await run(
      'aws',
      [
        'eks',
        'list-pod-identity-associations',
        '--endpoint-url',
        f.server.baseUrl,
        '--output',
        'json',
        '--cluster-name',
        'c1',
      ],
      env,
    )
    assert.equal(list.code, 0, list.stderr)
    assert.equal((JSON.parse(list.stdout) as { associations: unknown[] }).associations.length, 1)
    const dup = await run(
      'aws',
      [
        'eks',
        'create-pod-identity-association',
        '--endpoint-url',
        f.server.baseUrl,
        '--cluster-name',
        'c1',
        '--namespace',
        'shop',
        '--service-account',
        'cart',
        '--role-arn',
        f.roleArn('app'),
      ],
      env,
    )
    assert.notEqual(dup.code, 0)
    assert.match(dup.stderr, /ResourceInUseException/)
    const id = out.association.associationId
    const eks = (...args: string[]) =>
      run('aws', ['eks', ...args, '--endpoint-url', f.server.baseUrl, '--output', 'json'], env)
    const upd = await eks(
      'update-pod-identity-association',
      '--cluster-name',
      'c1',
      '--association-id',
      id,
      '--disable-session-tags',
    )
    assert.equal(upd.code, 0, upd.stderr)
    assert.equal(
      (JSON.parse(upd.stdout) as { association: { disableSessionTags: boolean } }).association
        .disableSessionTags,
      true,
    )
    const desc = await eks(
      'describe-pod-identity-association',
      '--cluster-name',
      'c1',
      '--association-id',
      id,
    )
    assert.equal(desc.code, 0, desc.stderr)
    const cluster = await eks('describe-cluster', '--name', 'c1')
    assert.equal(cluster.code, 0, cluster.stderr)
    assert.match(
      (JSON.parse(cluster.stdout) as { cluster: { identity: { oidc: { issuer: string } } } })
        .cluster.identity.oidc.issuer,
      /cluster:c1$/,
    )
    const del = await eks(
      'delete-pod-identity-association',
      '--cluster-name',
      'c1',
      '--association-id',
      id,
    )
    assert.equal(del.code, 0, del.stderr)
    const gone = await eks(
      'describe-pod-identity-association',
      '--cluster-name',
      'c1',
      '--association-id',
      id,
    )
    assert.notEqual(gone.code, 0)
    assert.match(gone.stderr, /ResourceNotFoundException/)
  })

  void it('boto3 and the AWS CLI get the assumed role from the agent', async (t) => {
    if (!hasPython && !hasAws) return t.skip('neither boto3 nor the aws CLI found') // reason: the message says what is missing
    // Idempotent with the previous test (which may have been skipped): same ns/sa, same role.
    await f.server.ctx.db.run(
      "DELETE FROM eks_pod_identity_associations WHERE namespace = 'shop' AND service_account = 'cart'",
    )
    const { createAssociation } = await import('../../src/aws/eks/service.ts')
    const { eksDepsFromContext } = await import('../../src/aws/eks/deps.ts')
    await createAssociation(eksDepsFromContext(f.server.ctx), 'c1', {
      namespace: 'shop',
      serviceAccount: 'cart',
      roleArn: f.roleArn('app'),
    })
    const tokenFile = f.writeToken(
      await f.podToken({ namespace: 'shop', serviceAccount: 'cart', pod: 'cart-5f6d7-x2x9q' }),
    )
    const env = cleanEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: agentUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      AWS_ENDPOINT_URL_STS: f.server.baseUrl,
    })
    const expected = new RegExp(
      `^arn:aws:sts::${ACCOUNT}:assumed-role/app/eks-c1-cart-5f6d7-[0-9a-f-]{36}$`,
    )
    if (hasPython) {
      const r = await run('python3', ['-c', BOTO3_WHOAMI], env)
      assert.equal(r.code, 0, r.stderr)
      const who = JSON.parse(r.stdout) as { Arn: string; Account: string }
      assert.equal(who.Account, ACCOUNT)
      assert.match(who.Arn, expected)
    } else t.diagnostic('boto3 not found: skipped its half')
    if (hasAws) {
      const r = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], env)
      assert.equal(r.code, 0, r.stderr)
      assert.match((JSON.parse(r.stdout) as { Arn: string }).Arn, expected)
    } else t.diagnostic('aws CLI not found: skipped its half')
  })

  void it('boto3 fails without an association (the agent passes EKS Auth 404 through)', async (t) => {
    if (!hasPython) return t.skip('boto3 not found') // reason: the message says what is missing
    const tokenFile = f.writeToken(
      await f.podToken({ namespace: 'shop', serviceAccount: 'nobody' }),
    )
    const env = cleanEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: agentUrl,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      AWS_ENDPOINT_URL_STS: f.server.baseUrl,
    })
    const r = await run('python3', ['-c', BOTO3_WHOAMI], env)
    assert.notEqual(r.code, 0)
    assert.match(
      r.stderr,
      /CredentialRetrievalError|NoCredentialsError|Unable to locate credentials|credential/i,
    )
  })
})
