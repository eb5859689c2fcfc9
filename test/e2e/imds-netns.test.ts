/**
 * The node-role metadata endpoint and the Pod Identity agent reached the way SDKs really reach them: inside
 * a network namespace this test creates, boto3, the AWS CLI and the AWS SDK for JavaScript v3 find
 * `http://169.254.169.254` (IMDSv2) and `http://169.254.170.23/v1/credentials` with no credential endpoint
 * override at all. `podtrust up` runs in a second namespace owning those addresses (port 80 there collides
 * with nothing on this machine); a veth pair joins the two. Needs root and `ip netns`; skips otherwise.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { newSecretAccessKey, newUniqueId } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { openDb } from '../../src/server/store.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin/podtrust.js')
const ACCOUNT = '000000000000'

function sh(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' })
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` }
}

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs CAP_NET_ADMIN'
  const probe = `ptprobe-${randomBytes(3).toString('hex')}`
  if (!sh(['ip', 'netns', 'add', probe]).ok) return '`ip netns` is unavailable'
  sh(['ip', 'netns', 'del', probe])
  if (spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status !== 0)
    return 'boto3 is not installed'
  if (spawnSync('aws', ['--version'], { stdio: 'ignore' }).status !== 0)
    return 'the aws CLI is not installed'
  return undefined
}

const skip = why()

function run(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(args[0]!, args.slice(1), { env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? 1, stdout, stderr })
    })
  })
}

void describe(
  'IMDS and the Pod Identity agent at their link-local addresses (network namespaces)',
  { skip: skip ?? false },
  () => {
    const id = randomBytes(3).toString('hex')
    const srv = `ptsrv-${id}`
    const cli = `ptcli-${id}`
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-netns-'))
    const home = join(dir, 'home')
    const data = join(dir, 'data')
    let up: ChildProcess | undefined
    let endpoint = ''
    const admin = { accessKeyId: '', secretAccessKey: '' }
    const base: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
      // botocore's IMDS defaults (1 s, one attempt) are tight on a loaded 2-core test machine.
      AWS_METADATA_SERVICE_TIMEOUT: '5',
      AWS_METADATA_SERVICE_NUM_ATTEMPTS: '3',
    }
    const inCli = (args: string[], env: NodeJS.ProcessEnv) =>
      run(['ip', 'netns', 'exec', cli, ...args], env)

    before(async () => {
      mkdirSync(home, { recursive: true })
      const steps = [
        ['ip', 'netns', 'add', srv],
        ['ip', 'netns', 'add', cli],
        ['ip', 'link', 'add', `pts${id}`, 'type', 'veth', 'peer', 'name', `ptc${id}`],
        ['ip', 'link', 'set', `pts${id}`, 'netns', srv],
        ['ip', 'link', 'set', `ptc${id}`, 'netns', cli],
        ['ip', '-n', srv, 'addr', 'add', '10.213.0.1/24', 'dev', `pts${id}`],
        ['ip', '-n', srv, 'addr', 'add', '169.254.169.254/32', 'dev', `pts${id}`],
        ['ip', '-n', srv, 'addr', 'add', '169.254.170.23/32', 'dev', `pts${id}`],
        ['ip', '-n', srv, 'link', 'set', `pts${id}`, 'up'],
        ['ip', '-n', srv, 'link', 'set', 'lo', 'up'],
        ['ip', '-n', cli, 'addr', 'add', '10.213.0.2/24', 'dev', `ptc${id}`],
        ['ip', '-n', cli, 'link', 'set', `ptc${id}`, 'up'],
        ['ip', '-n', cli, 'link', 'set', 'lo', 'up'],
        ['ip', '-n', cli, 'route', 'add', '169.254.169.254/32', 'via', '10.213.0.1'],
        ['ip', '-n', cli, 'route', 'add', '169.254.170.23/32', 'via', '10.213.0.1'],
      ]
      for (const s of steps) {
        const r = sh(s)
        assert.ok(r.ok, `${s.join(' ')}: ${r.out}`)
      }
      // The IAM side, offline: an administrator, the node role (trusting EC2), the pod role (trusting EKS Pod
      // Identity), a cluster.
      const db = await openDb({ dataDir: data })
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
        const trust = (service: string, actions: string[]) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: actions }],
          })
        for (const [name, doc] of [
          ['node-role', trust('ec2.amazonaws.com', ['sts:AssumeRole'])],
          ['pod-role', trust('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession'])],
        ] as const) {
          await iam.insertRole({
            accountId: ACCOUNT,
            roleName: name,
            roleId: newUniqueId('AROA', ACCOUNT, rnd),
            arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
            path: '/',
            assumeRolePolicyDocument: doc,
            maxSessionDuration: 3600,
            createDate: now,
            tags: [],
          })
        }
      } finally {
        await db.close()
      }
      const add = await run(
        [process.execPath, bin, 'cluster', 'add', 'dev', '--data-dir', data],
        base,
      )
      assert.equal(add.code, 0, add.stderr)
      up = spawn(
        'ip',
        [
          'netns',
          'exec',
          srv,
          process.execPath,
          bin,
          'up',
          '--data-dir',
          data,
          '--host',
          '10.213.0.1',
          '--port',
          '0',
          '--no-tls',
          '--imds-port',
          '80',
          '--imds-role',
          `arn:aws:iam::${ACCOUNT}:role/node-role`,
          '--imds-host',
          '169.254.169.254',
          '--agent-port',
          '80',
          '--agent-host',
          '169.254.170.23',
          '--log-level',
          'silent',
        ],
        { env: base, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let output = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`up did not start: ${output}`)), 30_000)
        up?.stdout?.on('data', (d: Buffer) => {
          output += d.toString()
          if (/imds\s+http:\/\/169\.254\.169\.254:80/.test(output)) {
            clearTimeout(timer)
            resolve()
          }
        })
        up?.stderr?.on('data', (d: Buffer) => (output += d.toString()))
        up?.on('exit', (code) => reject(new Error(`up exited with ${code}: ${output}`)))
      })
      endpoint = /podtrust ready on (http:\/\/\S+)/.exec(output)?.[1] ?? ''
      assert.match(endpoint, /^http:\/\/10\.213\.0\.1:\d+$/)
    })

    after(async () => {
      if (up !== undefined && up.exitCode === null) {
        const exited = new Promise((r) => up?.once('exit', r))
        up.kill('SIGTERM')
        await exited
      }
      sh(['ip', 'netns', 'del', cli])
      sh(['ip', 'netns', 'del', srv])
      rmSync(dir, { recursive: true, force: true })
    })

    const jsCaller = `const { createRequire } = require('node:module');
const req = createRequire(${JSON.stringify(join(root, 'package.json'))});
const { STSClient, GetCallerIdentityCommand } = req('@aws-sdk/client-sts');
new STSClient({ endpoint: process.argv[1] }).send(new GetCallerIdentityCommand({}))
  .then((r) => console.log(r.Arn), (e) => { console.error(e.name, e.message); process.exit(1) })`
    const pyCaller = `import sys, boto3
s = boto3.Session()
c = s.get_credentials()
print(c.method)
print(s.client('sts', endpoint_url=sys.argv[1]).get_caller_identity()['Arn'])`

    void it('IMDSv2: boto3, the AWS CLI and the JS SDK find the node role with no endpoint override', async () => {
      const env = { ...base }
      const py = await inCli(['python3', '-c', pyCaller, endpoint], env)
      assert.equal(py.code, 0, py.stderr)
      assert.match(
        py.stdout,
        /^iam-role\narn:aws:sts::000000000000:assumed-role\/node-role\/i-[0-9a-f]{17}\n$/,
      )
      const awsCli = await inCli(
        [
          'aws',
          'sts',
          'get-caller-identity',
          '--endpoint-url',
          endpoint,
          '--query',
          'Arn',
          '--output',
          'text',
        ],
        env,
      )
      assert.equal(awsCli.code, 0, awsCli.stderr)
      assert.match(awsCli.stdout, /assumed-role\/node-role\/i-/)
      const js = await inCli([process.execPath, '-e', jsCaller, endpoint], env)
      assert.equal(js.code, 0, js.stderr)
      assert.match(js.stdout, /assumed-role\/node-role\/i-/)
      // IMDSv1 (no token) is refused: the endpoint requires session tokens.
      const v1 = await inCli(
        [
          'python3',
          '-c',
          "import urllib.request,sys\ntry:\n urllib.request.urlopen('http://169.254.169.254/latest/meta-data/iam/security-credentials/', timeout=5)\nexcept urllib.error.HTTPError as e:\n print(e.code)",
        ],
        env,
      )
      assert.equal(v1.stdout.trim(), '401')
    })

    void it('Pod Identity: the three clients read http://169.254.170.23/v1/credentials with the token file', async () => {
      const adminEnv = {
        ...base,
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      }
      const assoc = await inCli(
        [
          'aws',
          'eks',
          'create-pod-identity-association',
          '--cluster-name',
          'dev',
          '--namespace',
          'default',
          '--service-account',
          'app',
          '--role-arn',
          `arn:aws:iam::${ACCOUNT}:role/pod-role`,
          '--endpoint-url',
          endpoint,
        ],
        adminEnv,
      )
      assert.equal(assoc.code, 0, assoc.stderr)
      const tokenFile = join(dir, 'pod-token')
      const tok = await run(
        [
          process.execPath,
          bin,
          'token',
          '--cluster',
          'dev',
          '--namespace',
          'default',
          '--service-account',
          'app',
          '--pod',
          'app-1',
          '--audience',
          'pods.eks.amazonaws.com',
          '--out',
          tokenFile,
          '--data-dir',
          data,
        ],
        base,
      )
      assert.equal(tok.code, 0, tok.stderr)
      const env = {
        ...base,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      }
      const py = await inCli(['python3', '-c', pyCaller, endpoint], env)
      assert.equal(py.code, 0, py.stderr)
      assert.match(
        py.stdout,
        /^container-role\narn:aws:sts::000000000000:assumed-role\/pod-role\/eks-dev-/,
      )
      const awsCli = await inCli(
        [
          'aws',
          'sts',
          'get-caller-identity',
          '--endpoint-url',
          endpoint,
          '--query',
          'Arn',
          '--output',
          'text',
        ],
        env,
      )
      assert.equal(awsCli.code, 0, awsCli.stderr)
      assert.match(awsCli.stdout, /assumed-role\/pod-role\/eks-dev-/)
      const js = await inCli([process.execPath, '-e', jsCaller, endpoint], env)
      assert.equal(js.code, 0, js.stderr)
      assert.match(js.stdout, /assumed-role\/pod-role\/eks-dev-/)
    })
  },
)
