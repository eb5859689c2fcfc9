// The classic IRSA failures (docs/doctor.md), each reproduced with the real AWS CLI and boto3 against
// `podtrust up` on ephemeral ports, then `podtrust doctor` naming the broken link and the fix. Decisive
// documents: EKS user guide "IAM roles for service accounts" and its troubleshooting; AWS SDKs reference guide
// "Standardized credential providers" (environment keys first; the AWS CLI caches assumed-role credentials in
// ~/.aws/cli/cache); Service Authorization Reference for Amazon S3 (ListBucket's resource type is `bucket`).
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { cleanEnv, findOnPath, pythonHas, removeDir, run, tempDir } from './helpers/index.ts'

const BIN = fileURLToPath(new URL('../../bin/podtrust.js', import.meta.url))
const ISSUER = 'https://oidc.podtrust.test/id/DOCTOR'
const PROVIDER_URL = ISSUER.replace('https://', '')
const THUMBPRINT = '9e99a48a9960b14926bb7f3b02e22da2b0ab7280'

interface Up {
  child: ChildProcess
  baseUrl: string
  dataDir: string
  account: string
  admin: { id: string; secret: string }
}

function startUp(dataDir: string): Promise<Up> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'up',
        '--port',
        '0',
        '--https-port',
        '0',
        '--issuer-url',
        ISSUER,
        '--data-dir',
        dataDir,
      ],
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
      const ready = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      const id = /export AWS_ACCESS_KEY_ID=(\S+)/.exec(out)
      const secret = /export AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)
      const account = /AWS_ROLE_ARN=arn:aws:iam::(\d{12}):/.exec(out)
      if (ready !== null && id !== null && secret !== null && account !== null) {
        clearTimeout(timer)
        resolve({
          child,
          baseUrl: ready[1]!,
          dataDir,
          account: account[1]!,
          admin: { id: id[1]!, secret: secret[1]! },
        })
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

let awsCli: string | undefined
let boto3 = false
const dir = tempDir('podtrust-doctor-e2e-')
const servers: Up[] = []

async function podtrust(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [BIN, ...args], {
    env: cleanEnv(join(dir, 'cli-home'), env),
    timeoutMs: 60_000,
  })
}

async function doctor(up: Up, args: string[]) {
  const r = await podtrust(['doctor', '--data-dir', up.dataDir, '--json', ...args])
  const report = JSON.parse(r.stdout) as {
    ok: boolean
    links: { name: string; ok: boolean; reason: string; fix?: string }[]
  }
  const broken = report.links.find((l) => !l.ok)
  return { code: r.code, report, broken }
}

function adminEnv(up: Up, home: string): Record<string, string> {
  return cleanEnv(home, {
    AWS_ACCESS_KEY_ID: up.admin.id,
    AWS_SECRET_ACCESS_KEY: up.admin.secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_IAM: up.baseUrl,
    AWS_ENDPOINT_URL_STS: up.baseUrl,
  })
}

/** The environment the webhook gives a pod (no static keys). */
function podEnv(
  up: Up,
  home: string,
  role: string,
  tokenFile: string,
  extra: Record<string, string> = {},
) {
  return cleanEnv(home, {
    AWS_ROLE_ARN: role,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ENDPOINT_URL_STS: up.baseUrl,
    AWS_DEFAULT_REGION: 'us-east-1',
    ...extra,
  })
}

async function aws(up: Up, args: string[]) {
  const r = await run(awsCli!, args, { env: adminEnv(up, tempDir('podtrust-doctor-aws-')) })
  assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

async function token(up: Up, namespace: string, sa: string): Promise<string> {
  const file = join(dir, `${namespace}-${sa}-${servers.indexOf(up)}.jwt`)
  const r = await podtrust([
    'token',
    '--data-dir',
    up.dataDir,
    '--namespace',
    namespace,
    '--service-account',
    sa,
    '--out',
    file,
  ])
  assert.equal(r.code, 0, r.stderr)
  return file
}

/** Role `app` trusting pay/api, with S3 object permissions only (the ListBucket trap). */
async function provision(up: Up, withProvider: boolean): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${up.account}:oidc-provider/${PROVIDER_URL}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${PROVIDER_URL}:sub`]: 'system:serviceaccount:pay:api',
            [`${PROVIDER_URL}:aud`]: 'sts.amazonaws.com',
          },
        },
      },
    ],
  }
  await aws(up, [
    'iam',
    'create-role',
    '--role-name',
    'app',
    '--assume-role-policy-document',
    JSON.stringify(trust),
  ])
  await aws(up, [
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
  if (withProvider)
    await aws(up, [
      'iam',
      'create-open-id-connect-provider',
      '--url',
      ISSUER,
      '--client-id-list',
      'sts.amazonaws.com',
      '--thumbprint-list',
      THUMBPRINT,
    ])
  return `arn:aws:iam::${up.account}:role/app`
}

const python = (code: string, env: Record<string, string>) => run('python3', ['-c', code], { env })

void before(async () => {
  awsCli = findOnPath('aws')
  boto3 = await pythonHas('boto3')
})

void after(async () => {
  for (const s of servers) await stop(s.child)
  removeDir(dir)
})

void describe('podtrust doctor against podtrust up, failures reproduced with the AWS CLI and boto3', () => {
  let up: Up
  let role: string

  void before(async () => {
    if (findOnPath('aws') === undefined) return
    up = await startUp(join(dir, 'one'))
    servers.push(up)
    role = await provision(up, false)
  })

  void test('OIDC provider missing: STS says InvalidIdentityToken; doctor breaks at oidc-provider, and its fix works', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const tok = await token(up, 'pay', 'api')
    const home = tempDir('podtrust-doctor-home-')
    const before = await run(awsCli, ['sts', 'get-caller-identity'], {
      env: podEnv(up, home, role, tok),
    })
    assert.notEqual(before.code, 0)
    assert.match(before.stderr, /InvalidIdentityToken/)
    const d = await doctor(up, [
      '--namespace',
      'pay',
      '--service-account',
      'api',
      '--role-arn',
      role,
      '--token-file',
      tok,
    ])
    assert.equal(d.code, 1)
    assert.equal(d.broken?.name, 'oidc-provider')
    assert.match(
      d.broken!.fix!,
      /^aws iam create-open-id-connect-provider --url https:\/\/oidc\.podtrust\.test\/id\/DOCTOR/,
    )
    await aws(up, [
      'iam',
      'create-open-id-connect-provider',
      '--url',
      ISSUER,
      '--client-id-list',
      'sts.amazonaws.com',
      '--thumbprint-list',
      THUMBPRINT,
    ])
    const afterFix = await run(awsCli, ['sts', 'get-caller-identity'], {
      env: podEnv(up, tempDir('podtrust-doctor-home-'), role, tok),
    })
    assert.equal(afterFix.code, 0, afterFix.stderr)
    assert.match(afterFix.stdout, /assumed-role\/app\//)
    assert.equal(
      (
        await doctor(up, [
          '--namespace',
          'pay',
          '--service-account',
          'api',
          '--role-arn',
          role,
          '--token-file',
          tok,
        ])
      ).code,
      0,
    )
  })

  void test('sub condition mismatch: boto3 gets AccessDenied; doctor breaks at trust-policy with the value it saw', async (t) => {
    if (awsCli === undefined || !boto3) return t.skip('aws CLI or boto3 not found') // reason: the message says what is missing
    const tok = await token(up, 'pay', 'worker')
    const r = await python(
      "import boto3\ntry:\n  boto3.client('sts').get_caller_identity()\nexcept Exception as e:\n  print(type(e).__name__, e)",
      podEnv(up, tempDir('podtrust-doctor-home-'), role, tok),
    )
    assert.match(r.stdout, /AccessDenied/)
    const d = await doctor(up, [
      '--namespace',
      'pay',
      '--service-account',
      'worker',
      '--role-arn',
      role,
      '--token-file',
      tok,
    ])
    assert.equal(d.broken?.name, 'trust-policy')
    assert.match(d.broken!.reason, /request value: "system:serviceaccount:pay:worker"/)
    assert.match(d.broken!.fix!, /aws iam update-assume-role-policy --role-name app/)
  })

  void test('s3:ListBucket granted on bucket/*: doctor breaks at permissions; its put-role-policy fix makes it hold', async (t) => {
    if (awsCli === undefined || !boto3) return t.skip('aws CLI or boto3 not found') // reason: the message says what is missing
    const tok = await token(up, 'pay', 'api')
    // The workload's credentials work (boto3 default chain, web identity)…
    const who = await python(
      "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])",
      podEnv(up, tempDir('podtrust-doctor-home-'), role, tok),
    )
    assert.match(who.stdout, /assumed-role\/app\//, who.stderr)
    // …but ListBucket is granted on the object ARNs.
    const args = [
      '--namespace',
      'pay',
      '--service-account',
      'api',
      '--role-arn',
      role,
      '--token-file',
      tok,
      '--action',
      's3:ListBucket',
      '--resource',
      'arn:aws:s3:::invoices',
    ]
    const d = await doctor(up, args)
    assert.equal(d.broken?.name, 'permissions')
    assert.match(d.broken!.reason, /acts on the bucket ARN arn:aws:s3:::invoices/)
    const fix = await run('sh', ['-c', d.broken!.fix!], {
      env: adminEnv(up, tempDir('podtrust-doctor-aws-')),
    })
    assert.equal(fix.code, 0, fix.stderr)
    assert.equal((await doctor(up, args)).code, 0)
  })

  void test('pod created before the ServiceAccount was annotated: boto3 finds no credentials; doctor breaks at webhook-injection', async (t) => {
    if (awsCli === undefined || !boto3) return t.skip('aws CLI or boto3 not found') // reason: the message says what is missing
    // The pod's environment as created (no AWS_ROLE_ARN / token file: the webhook did not mutate it).
    const env = cleanEnv(tempDir('podtrust-doctor-home-'), {
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_STS: up.baseUrl,
    })
    const r = await python(
      "import boto3\ntry:\n  boto3.client('sts').get_caller_identity()\nexcept Exception as e:\n  print(type(e).__name__)",
      env,
    )
    assert.match(r.stdout, /NoCredentialsError/)
    const pod = join(dir, 'pod.yaml')
    writeFileSync(
      pod,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-5f7c\n  namespace: pay\n  uid: 7d1e0c5e-0000-4000-8000-000000000001\n  creationTimestamp: "2026-12-01T10:00:00Z"\nspec:\n  serviceAccountName: api\n  containers:\n    - name: app\n      image: app:1\n',
    )
    const sa = join(dir, 'sa.yaml')
    writeFileSync(
      sa,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: pay\n  annotations:\n    eks.amazonaws.com/role-arn: ${role}\n`,
    )
    const d = await doctor(up, [
      '--namespace',
      'pay',
      '--service-account',
      'api',
      '--service-account-manifest',
      sa,
      '--pod-manifest',
      pod,
    ])
    assert.equal(d.broken?.name, 'webhook-injection')
    assert.match(d.broken!.fix!, /kubectl -n pay delete pod api-5f7c/)
  })

  void test('static keys in the environment shadow IRSA: the CLI says InvalidClientTokenId; doctor breaks at sdk-credentials', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const tok = await token(up, 'pay', 'api')
    const env = podEnv(up, tempDir('podtrust-doctor-home-'), role, tok, {
      AWS_ACCESS_KEY_ID: 'AKIAOLDSETUP00000000',
      AWS_SECRET_ACCESS_KEY: 'x'.repeat(40),
    })
    const r = await run(awsCli, ['sts', 'get-caller-identity'], { env })
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /InvalidClientTokenId/)
    const envFile = join(dir, 'pod.env')
    writeFileSync(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    )
    const d = await doctor(up, [
      '--namespace',
      'pay',
      '--service-account',
      'api',
      '--role-arn',
      role,
      '--token-file',
      tok,
      '--env-file',
      envFile,
      '--home',
      env['HOME']!,
    ])
    assert.equal(d.broken?.name, 'sdk-credentials')
    assert.match(d.broken!.fix!, /unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY/)
  })

  void test('AWS CLI web-identity cache from an earlier setup: InvalidClientTokenId against a new podtrust; doctor breaks at sdk-credentials', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const home = tempDir('podtrust-doctor-cache-home-')
    const tok = await token(up, 'pay', 'api')
    const first = await run(awsCli, ['sts', 'get-caller-identity'], {
      env: podEnv(up, home, role, tok),
    })
    assert.equal(first.code, 0, first.stderr)
    const cacheDir = join(home, '.aws', 'cli', 'cache')
    if (!existsSync(cacheDir) || readdirSync(cacheDir).length === 0)
      return t.skip('this AWS CLI does not cache web-identity credentials') // reason: the message says what is missing
    // A new setup: another podtrust (fresh store), same role name and issuer.
    const second = await startUp(join(dir, 'two'))
    servers.push(second)
    const role2 = await provision(second, true)
    const tok2 = await token(second, 'pay', 'api')
    const r = await run(awsCli, ['sts', 'get-caller-identity'], {
      env: podEnv(second, home, role2, tok2),
    })
    assert.notEqual(r.code, 0, 'the cached credentials of the first setup are used')
    assert.match(r.stderr, /InvalidClientTokenId/)
    const d = await doctor(second, [
      '--namespace',
      'pay',
      '--service-account',
      'api',
      '--role-arn',
      role2,
      '--token-file',
      tok2,
      '--client-env',
      '--home',
      home,
    ])
    assert.equal(d.broken?.name, 'sdk-credentials')
    assert.equal(d.broken!.fix, 'rm -rf ~/.aws/cli/cache')
    removeDir(cacheDir)
    const fixed = await run(awsCli, ['sts', 'get-caller-identity'], {
      env: podEnv(second, home, role2, tok2),
    })
    assert.equal(fixed.code, 0, fixed.stderr)
  })

  void test('encoded authorization failure message from AccessDenied: doctor decodes it from the store', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const r = await run(
      awsCli,
      ['sts', 'assume-role', '--role-arn', role, '--role-session-name', 's1'],
      { env: adminEnv(up, tempDir('podtrust-doctor-aws-')) },
    )
    assert.notEqual(r.code, 0)
    const encoded = /Encoded authorization failure message: (\S+)/.exec(r.stderr)?.[1]
    assert.ok(encoded !== undefined, r.stderr)
    const text = await podtrust([
      'doctor',
      '--data-dir',
      up.dataDir,
      '--decode-authorization-message',
      encoded,
    ])
    assert.equal(text.code, 1)
    assert.match(
      text.stdout,
      /denied: arn:aws:iam::\d{12}:user\/\S+ → sts:AssumeRole on arn:aws:iam::\d{12}:role\/app/,
    )
    const json = await podtrust([
      'doctor',
      '--data-dir',
      up.dataDir,
      '--json',
      '--decode-authorization-message',
      encoded,
    ])
    assert.equal((JSON.parse(json.stdout) as { allowed: boolean }).allowed, false)
    const garbage = await podtrust([
      'doctor',
      '--data-dir',
      up.dataDir,
      '--decode-authorization-message',
      'not-a-message',
    ])
    assert.equal(garbage.code, 1)
    assert.match(garbage.stderr, /cannot be decoded/)
  })

  void test('scan reads the same live store: pay/api reaches app by evaluation, pay/worker does not', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const manifests = join(dir, 'sas.yaml')
    writeFileSync(
      manifests,
      ['api', 'worker']
        .map(
          (n) =>
            `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${n}\n  namespace: pay\n`,
        )
        .join('---\n'),
    )
    const r = await podtrust([
      'scan',
      '--data-dir',
      up.dataDir,
      '--k8s',
      manifests,
      '--format',
      'json',
    ])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as {
      edges: { serviceAccount: string; role: string; via: string }[]
      findings: { id: string; objects: string[] }[]
    }
    assert.deepEqual(report.edges, [{ serviceAccount: 'pay/api', role, via: 'irsa' }])
  })

  void test('podtrust test against the same live store: TAP, exit 1 on a failing scenario with the explanation', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const file = join(dir, 'scenarios.yaml')
    writeFileSync(
      file,
      `scenarios:
  - { workload: pay/api, can: s3:GetObject, on: "arn:aws:s3:::invoices/*" }
  - { workload: pay/api, cannot: "iam:*" }
  - { role: ${role}, only-namespaces: [pay] }
  - { workload: pay/api, can: s3:DeleteObject, on: "arn:aws:s3:::invoices/*" }
`,
    )
    const r = await podtrust(['test', file, '--data-dir', up.dataDir])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stdout, /^ok 1 - /m)
    assert.match(r.stdout, /^ok 2 - /m)
    assert.match(r.stdout, /^ok 3 - /m)
    assert.match(r.stdout, /^not ok 4 - workload pay\/api can s3:DeleteObject/m)
    assert.match(r.stdout, /message: "denied for every role of the workload: app: /)
  })
})
