// The classic IRSA walkthrough (../shared/design/reference/walkthroughs.md) verbatim with the AWS CLI against
// an in-process podtrust, then the web identity default chain of boto3, the AWS CLI (its own HOME per run: CLI v1
// caches web-identity credentials on disk) and the AWS SDK for JS v3, each with the negative paths AWS defines.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose'
import { ensureBootstrapAdmin } from '../../src/aws/iam/bootstrap.ts'
import { ensureIssuer } from '../../src/tokens/issuer.ts'
import {
  cleanEnv,
  findOnPath,
  pythonHas,
  run,
  startStsTestServer,
  tempDir,
  type Keys,
  type StsTestServer,
} from './helpers/index.ts'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NAMESPACE = 'default'
const SA = 's3-reader'
const SUB = `system:serviceaccount:${NAMESPACE}:${SA}`
const ROLE = 'IRSA-S3-Role'

let s: StsTestServer
let admin: Keys
let account: string
let providerArn: string
let roleArn: string
const files: Record<string, string> = {}
const roles: Record<string, string> = {}
let awsCli: string | undefined
let boto3 = false

function awsEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv(home, {
    AWS_ACCESS_KEY_ID: admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_IAM: s.server.baseUrl,
    AWS_ENDPOINT_URL_STS: s.server.baseUrl,
    ...extra,
  })
}

/** The web identity environment a pod gets from the webhook (no static keys). */
function webIdentityEnv(home: string, role: string, tokenFile: string): Record<string, string> {
  return cleanEnv(home, {
    AWS_ROLE_ARN: role,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ENDPOINT_URL_STS: s.server.baseUrl,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
  })
}

async function aws(args: string[], cwd?: string) {
  const r = await run(awsCli as string, args, {
    env: awsEnv(tempDir('podtrust-aws-home-')),
    ...(cwd === undefined ? {} : { cwd }),
  })
  assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Negative cases: token file + role → the exact AWS error code. */
const negatives: { name: string; role: () => string; token: () => string; code: string }[] = [
  {
    name: 'sub mismatch',
    role: () => roleArn,
    token: () => files['wrongSub'] as string,
    code: 'AccessDenied',
  },
  {
    name: 'aud mismatch',
    role: () => roleArn,
    token: () => files['wrongAud'] as string,
    code: 'InvalidIdentityToken',
  },
  {
    name: 'expired token',
    role: () => roleArn,
    token: () => files['expired'] as string,
    code: 'ExpiredTokenException',
  },
  {
    name: 'unknown issuer',
    role: () => roleArn,
    token: () => files['unknownIssuer'] as string,
    code: 'InvalidIdentityToken',
  },
  {
    name: 'signature by another key',
    role: () => roleArn,
    token: () => files['forged'] as string,
    code: 'InvalidIdentityToken',
  },
  {
    name: 'provider deleted',
    role: () => roles['gone'] as string,
    token: () => files['gone'] as string,
    code: 'InvalidIdentityToken',
  },
  {
    name: 'trust policy without the federated principal',
    role: () => roles['noFederated'] as string,
    token: () => files['good'] as string,
    code: 'AccessDenied',
  },
]

void before(async () => {
  awsCli = findOnPath('aws')
  boto3 = await pythonHas('boto3')
  // IAM refuses provider URLs with a port (as AWS does), so the issuer gets a port-less https URL; podtrust
  // resolves its own issuers' keys in-process, so the URL need not be reachable.
  s = await startStsTestServer({
    accountId: '000000000000',
    issuerUrl: 'https://oidc.podtrust.test/id/E2E',
  })
  account = '000000000000'
  const boot = await ensureBootstrapAdmin(s.server.ctx.db, { accountId: account })
  admin = { accessKeyId: boot.accessKeyId, secretAccessKey: boot.secretAccessKey }
  providerArn = `arn:aws:iam::${account}:oidc-provider/${s.providerUrl}`
  roleArn = `arn:aws:iam::${account}:role/${ROLE}`
  const mk = (name: string, text: string) => (files[name] = s.writeFile(`${name}.jwt`, text))
  const good = await s.token({ namespace: NAMESPACE, serviceAccount: SA })
  // Tokens as kubelet writes them; one with a trailing newline (SDKs send the file verbatim).
  mk('good', `${good}\n`)
  mk('wrongSub', await s.token({ namespace: NAMESPACE, serviceAccount: 'someone-else' }))
  mk(
    'wrongAud',
    await s.token({ namespace: NAMESPACE, serviceAccount: SA, audiences: ['not-sts'] }),
  )
  mk(
    'expired',
    await s.token({
      namespace: NAMESPACE,
      serviceAccount: SA,
      now: new Date(Date.now() - 3 * 3600_000),
    }),
  )
  await ensureIssuer(s.server.ctx.db, 'cluster:unknown')
  mk(
    'unknownIssuer',
    await s.token({ issuer: 'cluster:unknown', namespace: NAMESPACE, serviceAccount: SA }),
  )
  const { privateKey } = await generateKeyPair('RS256')
  mk(
    'forged',
    await new SignJWT(decodeJwt(good))
      .setProtectedHeader(decodeProtectedHeader(good) as { alg: string })
      .sign(privateKey),
  )
  const gone = await ensureIssuer(s.server.ctx.db, 'cluster:gone')
  mk('gone', await s.token({ issuer: 'cluster:gone', namespace: NAMESPACE, serviceAccount: SA }))
  const goneBare = gone.url.replace('https://', '')
  const goneArn = await s.addOidcProvider(gone.url)
  roles['gone'] = await s.addRole('gone-provider', {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: goneArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${goneBare}:sub`]: SUB } },
      },
    ],
  })
  await s.repo.deleteOidcProvider(goneArn)
  roles['noFederated'] = await s.addRole('no-federated', {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'sts:AssumeRole',
      },
    ],
  })
})

void after(async () => {
  await s?.close()
})

void describe('IRSA walkthrough and clients', () => {
  void test('walkthrough with the AWS CLI: OIDC provider, role from file://trust-policy.json, managed policy', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const work = tempDir('podtrust-walkthrough-')
    await aws([
      'iam',
      'create-open-id-connect-provider',
      '--url',
      s.issuerUrl,
      '--client-id-list',
      'sts.amazonaws.com',
      '--thumbprint-list',
      '9e99a48a9960b14926bb7f3b02e22da2b0ab7280',
    ])
    writeFileSync(
      join(work, 'trust-policy.json'),
      JSON.stringify(
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: providerArn },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  [`${s.providerUrl}:sub`]: SUB,
                  [`${s.providerUrl}:aud`]: 'sts.amazonaws.com',
                },
              },
            },
          ],
        },
        null,
        2,
      ),
    )
    const created = JSON.parse(
      await aws(
        [
          'iam',
          'create-role',
          '--role-name',
          ROLE,
          '--assume-role-policy-document',
          'file://trust-policy.json',
        ],
        work,
      ),
    )
    assert.equal(created.Role.Arn, roleArn)
    await aws([
      'iam',
      'attach-role-policy',
      '--role-name',
      ROLE,
      '--policy-arn',
      'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    ])
    const attached = JSON.parse(
      await aws(['iam', 'list-attached-role-policies', '--role-name', ROLE]),
    )
    assert.equal(
      attached.AttachedPolicies[0].PolicyArn,
      'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    )
  })

  void test('boto3 default chain → assumed-role ARN; negative paths → exact codes', async (t) => {
    if (!boto3) return t.skip('python3 with boto3 not found') // reason: the message says what is missing
    if (awsCli === undefined) return t.skip('walkthrough needs the aws CLI') // reason: the message says what is missing
    const script = `
import boto3, json, sys, os
try:
    print(json.dumps({"ok": boto3.client("sts").get_caller_identity()["Arn"]}))
except Exception as e:
    code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
    print(json.dumps({"code": code}))
`
    const ok = await run('python3', ['-c', script], {
      env: webIdentityEnv(tempDir(), roleArn, files['good'] as string),
    })
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(
      JSON.parse(ok.stdout).ok,
      new RegExp(`^arn:aws:sts::${account}:assumed-role/${ROLE}/botocore-session-\\d+$`),
    )
    for (const c of negatives) {
      const r = await run('python3', ['-c', script], {
        env: webIdentityEnv(tempDir(), c.role(), c.token()),
      })
      assert.equal(JSON.parse(r.stdout).code, c.code, `${c.name}: ${r.stdout}${r.stderr}`)
    }
  })

  void test('AWS CLI default chain (own HOME per run) → assumed-role ARN; negative paths → exact codes', async (t) => {
    if (awsCli === undefined) return t.skip('aws CLI not found') // reason: the message says what is missing
    const ok = await run(awsCli, ['sts', 'get-caller-identity', '--output', 'json'], {
      env: webIdentityEnv(tempDir(), roleArn, files['good'] as string),
    })
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(
      JSON.parse(ok.stdout).Arn,
      new RegExp(`^arn:aws:sts::${account}:assumed-role/${ROLE}/`),
    )
    for (const c of negatives) {
      const r = await run(awsCli, ['sts', 'get-caller-identity'], {
        env: webIdentityEnv(tempDir(), c.role(), c.token()),
      })
      assert.notEqual(r.code, 0, c.name)
      assert.match(
        r.stderr,
        new RegExp(
          `An error occurred \\(${c.code}\\) when calling the AssumeRoleWithWebIdentity operation`,
        ),
        `${c.name}: ${r.stderr}`,
      )
    }
  })

  void test('AWS SDK for JS v3 default chain → assumed-role ARN; negative paths → exact codes', async (t) => {
    if (awsCli === undefined) return t.skip('walkthrough needs the aws CLI') // reason: the message says what is missing
    const script = `
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
try {
  const out = await new STSClient({ maxAttempts: 1 }).send(new GetCallerIdentityCommand({}))
  console.log(JSON.stringify({ ok: out.Arn }))
} catch (e) {
  console.log(JSON.stringify({ code: e.Code ?? e.name, name: e.name }))
}
`
    const node = process.execPath
    const ok = await run(node, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: webIdentityEnv(tempDir(), roleArn, files['good'] as string),
    })
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(
      JSON.parse(ok.stdout.trim().split('\n').pop() as string).ok,
      new RegExp(`^arn:aws:sts::${account}:assumed-role/${ROLE}/aws-sdk-js-session-\\d+$`),
    )
    // JS v3 reports modelled errors by shape name; the wire code is in `Code`.
    for (const c of negatives) {
      const r = await run(node, ['--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        env: webIdentityEnv(tempDir(), c.role(), c.token()),
      })
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string)
      assert.equal(out.code, c.code, `${c.name}: ${r.stdout}${r.stderr}`)
    }
  })
})
