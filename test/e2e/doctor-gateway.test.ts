// The classic wrong-resource-ARN failure through the real S3 data plane (docs/doctor.md, walkthrough 3):
// `podtrust up --gateway-port` in front of moto (`python3 -m moto.server`), a role whose policy grants
// s3:ListBucket on `arn:aws:s3:::invoices/*`, the AWS CLI as the workload (web identity, no static keys):
// `aws s3 cp` of an object works, `aws s3 ls s3://invoices` is AccessDenied; `podtrust doctor --action
// s3:ListBucket --resource arn:aws:s3:::invoices` names the broken link and the fix; after running the fix as
// printed the same `aws s3 ls` lists the bucket. Decisive document: the Service Authorization Reference for
// Amazon S3 (ListBucket — the API ListObjectsV2 — acts on resource type `bucket`, arn:aws:s3:::NAME).
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import {
  cleanEnv,
  findOnPath,
  irsaTrust,
  pythonHas,
  removeDir,
  run,
  tempDir,
} from './helpers/index.ts'
import { startMoto, type Moto } from './gateway-fixture.ts'

const BIN = fileURLToPath(new URL('../../bin/podtrust.js', import.meta.url))
const ISSUER = 'https://oidc.podtrust.test/id/DOCTORGW'
const PROVIDER_URL = ISSUER.replace('https://', '')
const awsCli = findOnPath('aws')
const skip =
  awsCli === undefined || !(await pythonHas('moto.server'))
    ? 'the AWS CLI and moto are required'
    : false

interface Up {
  child: ChildProcess
  baseUrl: string
  gatewayUrl: string
  account: string
  admin: { id: string; secret: string }
}

function startUp(dataDir: string, moto: Moto): Promise<Up> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'up',
        '--port',
        '0',
        '--no-tls',
        '--issuer-url',
        ISSUER,
        '--data-dir',
        dataDir,
        '--log-level',
        'error',
        '--gateway-port',
        '0',
        '--backend-s3',
        moto.url,
        '--backend-sqs',
        moto.url,
      ],
      { env: cleanEnv(join(dataDir, 'home')), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    const timer = setTimeout(
      () => reject(new Error(`podtrust up did not get ready: ${out}`)),
      60_000,
    )
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const ready = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      const gateway = /gateway +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      const id = /export AWS_ACCESS_KEY_ID=(\S+)/.exec(out)
      const secret = /export AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)
      const account = /arn:aws:iam::(\d{12}):/.exec(out)
      if (ready && gateway && id && secret && account) {
        clearTimeout(timer)
        resolve({
          child,
          baseUrl: ready[1]!,
          gatewayUrl: gateway[1]!,
          account: account[1]!,
          admin: { id: id[1]!, secret: secret[1]! },
        })
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`podtrust up exited with ${String(code)}: ${out}`))
    })
  })
}

void describe(
  'doctor on s3:ListBucket granted on bucket/*, through the real gateway',
  { skip },
  () => {
    const dir = tempDir('podtrust-doctor-gw-')
    const dataDir = join(dir, 'data')
    let moto: Moto | undefined
    let up: Up
    let role = ''
    let tokenFile = ''

    const cli = (args: string[], env: Record<string, string>) =>
      run(awsCli!, args, { env, timeoutMs: 60_000 })
    const adminEnv = () =>
      cleanEnv(tempDir('podtrust-doctor-gw-admin-'), {
        AWS_ACCESS_KEY_ID: up.admin.id,
        AWS_SECRET_ACCESS_KEY: up.admin.secret,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_IAM: up.baseUrl,
        AWS_ENDPOINT_URL_STS: up.baseUrl,
        AWS_ENDPOINT_URL_S3: up.gatewayUrl,
      })
    /** The workload: the webhook's web-identity variables only, the SDK's default chain, no endpoint but podtrust's. */
    const workloadEnv = () =>
      cleanEnv(tempDir('podtrust-doctor-gw-pod-'), {
        AWS_ROLE_ARN: role,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_STS: up.baseUrl,
        AWS_ENDPOINT_URL_S3: up.gatewayUrl,
      })
    const admin = async (args: string[]) => {
      const r = await cli(args, adminEnv())
      assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`)
      return r.stdout
    }
    const podtrust = (args: string[]) =>
      run(process.execPath, [BIN, ...args], {
        env: cleanEnv(join(dir, 'cli-home')),
        timeoutMs: 60_000,
      })
    const doctor = async (
      extra: string[] = ['--action', 's3:ListBucket', '--resource', 'arn:aws:s3:::invoices'],
    ) => {
      const r = await podtrust([
        'doctor',
        ...['--data-dir', dataDir, '--namespace', 'pay', '--service-account', 'api'],
        ...['--role-arn', role, '--token-file', tokenFile, ...extra, '--json'],
      ])
      const report = JSON.parse(r.stdout) as {
        ok: boolean
        links: { name: string; ok: boolean; reason: string; fix?: string }[]
      }
      return { code: r.code, report, broken: report.links.find((l) => !l.ok) }
    }

    before(async () => {
      moto = await startMoto()
      up = await startUp(dataDir, moto)
      const trust = irsaTrust(
        `arn:aws:iam::${up.account}:oidc-provider/${PROVIDER_URL}`,
        PROVIDER_URL,
        'system:serviceaccount:pay:api',
        'sts.amazonaws.com',
      )
      await admin([
        'iam',
        'create-open-id-connect-provider',
        '--url',
        ISSUER,
        '--client-id-list',
        'sts.amazonaws.com',
        '--thumbprint-list',
        '9e99a48a9960b14926bb7f3b02e22da2b0ab7280',
      ])
      await admin([
        'iam',
        'create-role',
        '--role-name',
        'app',
        '--assume-role-policy-document',
        JSON.stringify(trust),
      ])
      // The classic mistake: every S3 action on the objects only.
      await admin([
        'iam',
        'put-role-policy',
        '--role-name',
        'app',
        '--policy-name',
        's3',
        '--policy-document',
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:ListBucket'],
              Resource: 'arn:aws:s3:::invoices/*',
            },
          ],
        }),
      ])
      role = `arn:aws:iam::${up.account}:role/app`
      // The bucket and one object, created by the administrator through the gateway.
      await admin(['s3', 'mb', 's3://invoices'])
      const file = join(dir, '2026-01.pdf')
      writeFileSync(file, 'invoice')
      await admin(['s3', 'cp', file, 's3://invoices/2026-01.pdf'])
      tokenFile = join(dir, 'token')
      const t = await podtrust([
        'token',
        '--data-dir',
        dataDir,
        '--namespace',
        'pay',
        '--service-account',
        'api',
        '--out',
        tokenFile,
      ])
      assert.equal(t.code, 0, t.stderr)
    })

    after(async () => {
      if (up !== undefined && up.child.exitCode === null) {
        const exited = new Promise((resolve) => up.child.once('exit', resolve))
        up.child.kill('SIGTERM')
        await exited
      }
      await moto?.close()
      removeDir(dir)
    })

    void test('aws s3 ls is denied, doctor breaks at permissions, its fix makes aws s3 ls list the bucket', async () => {
      // The role works for objects: the chain up to the role holds.
      const got = await cli(['s3', 'cp', 's3://invoices/2026-01.pdf', '-'], workloadEnv())
      assert.equal(got.code, 0, got.stderr)
      assert.equal(got.stdout, 'invoice')
      // Listing the bucket is ListObjectsV2 → s3:ListBucket on arn:aws:s3:::invoices: denied by the gateway.
      const denied = await cli(['s3', 'ls', 's3://invoices'], workloadEnv())
      assert.notEqual(denied.code, 0)
      assert.match(denied.stderr, /\(AccessDenied\) when calling the ListObjectsV2 operation/)
      assert.match(denied.stderr, /s3:ListBucket/)

      const d = await doctor()
      assert.equal(d.code, 1)
      assert.equal(d.broken?.name, 'permissions')
      assert.equal(d.report.links.at(-1)?.name, 'permissions', 'every earlier link holds')
      assert.match(d.broken!.reason, /acts on the bucket ARN arn:aws:s3:::invoices/)
      assert.match(d.broken!.reason, /arn:aws:s3:::invoices\/\* \(objects\) only/)
      assert.match(d.broken!.fix!, /^aws iam put-role-policy --role-name app /)

      // The fix, as printed, run by the administrator.
      const fixed = await run('sh', ['-c', d.broken!.fix!], { env: adminEnv(), timeoutMs: 60_000 })
      assert.equal(fixed.code, 0, fixed.stderr)
      const listed = await cli(['s3', 'ls', 's3://invoices'], workloadEnv())
      assert.equal(listed.code, 0, listed.stderr)
      assert.match(listed.stdout, /2026-01\.pdf/)
      const after = await doctor()
      assert.equal(after.code, 0, JSON.stringify(after.report.links))
      assert.equal(after.report.ok, true)
    })

    void test('node-imds from aws ec2 describe-instances output and a NetworkPolicy manifest, read as scan reads them', async () => {
      // EC2 User Guide, instance metadata options: hop limit 2 lets a pod's token PUT answer arrive.
      const nodes = join(dir, 'nodes.json')
      writeFileSync(
        nodes,
        JSON.stringify({
          Reservations: [
            {
              Instances: [
                {
                  InstanceId: 'i-0abc123def4567890',
                  IamInstanceProfile: {
                    Arn: `arn:aws:iam::${up.account}:instance-profile/eks-node`,
                  },
                  MetadataOptions: {
                    HttpTokens: 'required',
                    HttpPutResponseHopLimit: 2,
                    HttpEndpoint: 'enabled',
                  },
                },
              ],
            },
          ],
        }),
      )
      const open = await doctor(['--nodes', nodes])
      assert.equal(open.code, 0, 'a warning keeps the chain')
      const warned = open.report.links.find((l) => l.name === 'node-imds') as
        { ok: boolean; warning?: boolean; reason: string; fix?: string } | undefined
      assert.equal(warned?.warning, true)
      assert.match(warned!.reason, /instance-profile\/eks-node/)
      assert.match(
        warned!.fix!,
        /modify-instance-metadata-options --http-put-response-hop-limit 1 --http-tokens required --instance-id i-0abc123def4567890/,
      )
      const policy = join(dir, 'deny-imds.yaml')
      writeFileSync(
        policy,
        `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-imds, namespace: pay }
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{ ipBlock: { cidr: 0.0.0.0/0, except: [169.254.169.254/32] } }]
`,
      )
      const closed = await doctor(['--nodes', nodes, '--k8s', policy])
      const link = closed.report.links.find((l) => l.name === 'node-imds')!
      assert.equal(link.ok, true)
      assert.match(link.reason, /NetworkPolicy pay\/deny-imds/)
      // podtrust's own endpoint (up --imds-role): no hop limit, so the pod reaches it.
      const own = await doctor(['--podtrust-imds', `arn:aws:iam::${up.account}:role/node`])
      assert.match(
        own.report.links.find((l) => l.name === 'node-imds')!.reason,
        /podtrust metadata endpoint vending .*role\/node/,
      )
      const bad = await podtrust([
        'doctor',
        '--data-dir',
        dataDir,
        '--namespace',
        'pay',
        '--service-account',
        'api',
        '--podtrust-imds',
        'node',
      ])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /--podtrust-imds 'node' is not a role ARN/)
    })
  },
)
