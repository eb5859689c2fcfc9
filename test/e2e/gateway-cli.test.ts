/**
 * The gateway's stable command lines, as real processes: `podtrust up … --gateway-port G --backend-s3 URL
 * --backend-sqs URL` serves S3 (path-style) and SQS on G, and `podtrust gateway --port G2 --data-dir D`
 * runs it alone over the same store; boto3 with the administrator's key printed by `up` drives both.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort, pythonHas, tempDir } from './helpers/index.ts'
import { startMoto, type Moto } from './gateway-fixture.ts'
import { boto, clientEnv } from './gateway-clients.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const skip =
  !(await pythonHas('boto3')) || !(await pythonHas('moto.server'))
    ? 'boto3 and moto are required'
    : false

/** Starts `node bin/podtrust.js ARGS` and resolves with its stdout once `ready` matches. */
function startCli(args: string[], ready: RegExp): Promise<{ child: ChildProcess; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/podtrust.js', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(
      () => reject(new Error(`podtrust ${args[0]} did not start:\n${out}\n${err}`)),
      60_000,
    )
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (ready.test(out)) {
        clearTimeout(timer)
        resolve({ child, out })
      }
    })
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`podtrust ${args[0]} exited with ${code}:\n${out}\n${err}`))
    })
  })
}

function stop(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

void describe('podtrust up --gateway-port and podtrust gateway', { skip }, () => {
  let moto: Moto
  let up: ChildProcess | undefined
  let alone: ChildProcess | undefined
  let admin: { accessKeyId: string; secretAccessKey: string }
  let gatewayPort: number
  const dataDir = tempDir('podtrust-gw-cli-')

  before(async () => {
    moto = await startMoto()
    gatewayPort = await freePort()
    const started = await startCli(
      [
        'up',
        '--port',
        '0',
        '--no-tls',
        '--data-dir',
        dataDir,
        '--log-level',
        'silent',
        '--gateway-port',
        String(gatewayPort),
        '--backend-s3',
        moto.url,
        '--backend-sqs',
        moto.url,
      ],
      /AWS_SECRET_ACCESS_KEY=\S+\n/,
    )
    up = started.child
    assert.match(started.out, new RegExp(`gateway    http://127\\.0\\.0\\.1:${gatewayPort}`))
    admin = {
      accessKeyId: /AWS_ACCESS_KEY_ID=(\S+)/.exec(started.out)?.[1] as string,
      secretAccessKey: /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(started.out)?.[1] as string,
    }
  })
  after(async () => {
    await stop(alone)
    await stop(up)
    await moto?.close()
  })

  void test('S3 and SQS on the gateway port, told apart by the request', async () => {
    const url = `http://127.0.0.1:${gatewayPort}`
    const r = await boto(clientEnv(admin, url), [
      ['s3', 'create_bucket', { Bucket: 'cli-bucket' }],
      ['s3', 'put_object', { Bucket: 'cli-bucket', Key: 'a.txt', Body: 'a' }],
      ['s3', 'list_objects_v2', { Bucket: 'cli-bucket' }],
      ['sqs', 'create_queue', { QueueName: 'cli-q' }],
      ['sqs', 'list_queues', {}],
    ])
    for (const x of r) assert.ok(x.ok, JSON.stringify(x))
    assert.deepEqual(
      (r[2]?.data as { Contents: { Key: string }[] }).Contents.map((c) => c.Key),
      ['a.txt'],
    )
    assert.deepEqual((r[4]?.data as { QueueUrls: string[] }).QueueUrls, [
      `${url}/000000000000/cli-q`,
    ])
  })

  void test('podtrust gateway alone over the same store', async () => {
    const port = await freePort()
    const started = await startCli(
      [
        'gateway',
        '--port',
        String(port),
        '--data-dir',
        dataDir,
        '--log-level',
        'silent',
        '--backend-s3',
        moto.url,
        '--backend-sqs',
        moto.url,
      ],
      /podtrust gateway ready on/,
    )
    alone = started.child
    const r = await boto(clientEnv(admin, `http://127.0.0.1:${port}`), [
      ['s3', 'get_object', { Bucket: 'cli-bucket', Key: 'a.txt' }],
      ['s3', 'get_object', { Bucket: 'cli-bucket', Key: 'a.txt' }],
    ])
    assert.equal((r[0]?.data as { Body: string }).Body, 'a')
    const denied = await boto(
      clientEnv(
        { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' },
        `http://127.0.0.1:${port}`,
      ),
      [['s3', 'get_object', { Bucket: 'cli-bucket', Key: 'a.txt' }]],
    )
    assert.equal(denied[0]?.code, 'InvalidAccessKeyId')
  })
})
