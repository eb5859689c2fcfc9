/**
 * `podtrust agent --imds-port --imds-role`: the standalone agent assumes the node role at the podtrust
 * server with STS AssumeRole (signed with its own credentials) and serves it over IMDSv2; boto3 pointed at
 * it with AWS_EC2_METADATA_SERVICE_ENDPOINT (loopback use) calls STS as the node role.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type StsTestServer, startStsTestServer } from './helpers/index.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin/podtrust.js')
const hasBoto3 = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0

void describe(
  'podtrust agent --imds-port',
  { skip: hasBoto3 ? false : 'boto3 is not installed' },
  () => {
    let sts: StsTestServer
    let agent: ChildProcess | undefined
    let imdsUrl = ''
    const home = mkdtempSync(join(tmpdir(), 'podtrust-agent-imds-'))

    before(async () => {
      sts = await startStsTestServer()
      const node = await sts.addUser('node-agent')
      const roleArn = await sts.addRole('node-role', {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111122223333:user/node-agent' },
            Action: 'sts:AssumeRole',
          },
        ],
      })
      agent = spawn(
        process.execPath,
        [
          bin,
          'agent',
          '--server',
          sts.server.baseUrl,
          '--cluster',
          'dev',
          '--port',
          '0',
          '--imds-port',
          '0',
          '--imds-role',
          roleArn,
        ],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: home,
            AWS_ACCESS_KEY_ID: node.accessKeyId,
            AWS_SECRET_ACCESS_KEY: node.secretAccessKey,
            AWS_REGION: 'us-east-1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent did not start: ${out}`)), 20_000)
        agent?.stdout?.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /AWS_EC2_METADATA_SERVICE_ENDPOINT=(\S+)/.exec(out)
          if (m?.[1] !== undefined) {
            imdsUrl = m[1]
            clearTimeout(timer)
            resolve()
          }
        })
        agent?.stderr?.on('data', (d: Buffer) => (out += d.toString()))
        agent?.on('exit', (code) => reject(new Error(`agent exited ${code}: ${out}`)))
      })
    })
    after(async () => {
      if (agent !== undefined && agent.exitCode === null) {
        const exited = new Promise((r) => agent?.once('exit', r))
        agent.kill('SIGTERM')
        await exited
      }
      await sts.close()
      rmSync(home, { recursive: true, force: true })
    })

    void it('boto3 reads the node role from the agent’s metadata endpoint', async () => {
      // Asynchronously: the STS server runs in this process and must keep answering the agent.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          const child = spawn(
            'python3',
            [
              '-c',
              "import sys,boto3\ns=boto3.Session()\nprint(s.get_credentials().method)\nprint(s.client('sts', endpoint_url=sys.argv[1]).get_caller_identity()['Arn'])",
              sts.server.baseUrl,
            ],
            {
              env: {
                PATH: process.env['PATH'] ?? '',
                HOME: home,
                AWS_CONFIG_FILE: join(home, 'nope'),
                AWS_SHARED_CREDENTIALS_FILE: join(home, 'nope2'),
                AWS_DEFAULT_REGION: 'us-east-1',
                AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
                // botocore's IMDS defaults (1 s, one attempt) are tight on a loaded 2-core test machine.
                AWS_METADATA_SERVICE_TIMEOUT: '5',
                AWS_METADATA_SERVICE_NUM_ATTEMPTS: '3',
              },
            },
          )
          let stdout = ''
          let stderr = ''
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
          child.on('close', (status) => resolve({ status, stdout, stderr }))
        },
      )
      assert.equal(r.status, 0, r.stderr)
      assert.match(
        r.stdout,
        /^iam-role\narn:aws:sts::111122223333:assumed-role\/node-role\/i-[0-9a-f]{17}\n$/,
      )
    })
  },
)
