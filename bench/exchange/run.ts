/**
 * Token-exchange throughput per cloud path, in one run against one in-process server (SQLite store,
 * durable audit log), so the figures are comparable:
 * - AWS STS `AssumeRoleWithWebIdentity` (the baseline, when the STS and IAM config sections exist)
 * - Entra `POST /{tenant}/oauth2/v2.0/token` (client credentials + federated assertion)
 * - Google STS `POST /v1/token`
 * - Google STS + `generateAccessToken` (impersonation: two requests per exchange)
 *
 * Usage: npm run bench:exchange -- [--seconds 8] [--concurrency 16]
 * Each path: 1 s warm-up, then `--seconds` of closed-loop load from `--concurrency` workers.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { applyConfig } from '../../src/server/config.ts'
import { startServer } from '../../src/server/start.ts'
import { getIssuer } from '../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '16' },
  },
})
const seconds = Number(values.seconds)
const concurrency = Number(values.concurrency)
if (
  !(seconds > 0 && seconds <= 20) ||
  !(Number.isInteger(concurrency) && concurrency > 0 && concurrency <= 256)
) {
  console.error('--seconds must be in (0, 20] and --concurrency an integer in [1, 256]')
  process.exit(2)
}

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const CLIENT = '11111111-2222-3333-4444-555555555555'
const NUMBER = '123456789012'
const POOL = `projects/${NUMBER}/locations/global/workloadIdentityPools/kube`
const GCP_AUDIENCE = `//iam.googleapis.com/${POOL}/providers/local`
const SA = `app-sa@demo-project.iam.gserviceaccount.com`
const ACCOUNT = '000000000000'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/bench-role`

type Exchange = () => Promise<void>

interface PathResult {
  name: string
  exchanges: number
  perSecond: number
  p50: number
  p99: number
  note?: string
}

async function measure(name: string, exchange: Exchange): Promise<PathResult> {
  await exchange() // fail fast with the real error before measuring
  const run = async (ms: number, latencies?: number[]): Promise<number> => {
    const end = performance.now() + ms
    let count = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const start = performance.now()
          await exchange()
          latencies?.push(performance.now() - start)
          count += 1
        }
      }),
    )
    return count
  }
  await run(1000)
  const latencies: number[] = []
  const started = performance.now()
  const count = await run(seconds * 1000, latencies)
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const pick = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return { name, exchanges: count, perSecond: count / elapsed, p50: pick(0.5), p99: pick(0.99) }
}

function expectOk(res: Response, body: string, what: string): void {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status}: ${body.slice(0, 300)}`)
}

const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-exchange-'))
const server = await startServer({ dataDir: dir, port: 0, httpsPort: 0, logLevel: 'silent' })
try {
  const db = server.ctx.db
  const issuerUrl = (await getIssuer(db, 'default'))!.url
  const env = { accountId: ACCOUNT, region: 'us-east-1', now: new Date() }
  await applyConfig(
    db,
    `
azure:
  tenants:
    - tenantId: ${TENANT}
      identities:
        - name: bench
          clientId: ${CLIENT}
          federatedCredentials:
            - name: kube-bench
              issuer: ${issuerUrl}
              subject: system:serviceaccount:default:bench
gcp:
  projects:
    - projectId: demo-project
      projectNumber: '${NUMBER}'
      pools:
        - poolId: kube
          providers:
            - providerId: local
              oidc: { issuerUri: '${issuerUrl}' }
              attributeMapping:
                google.subject: assertion.sub
                attribute.namespace: assertion['kubernetes.io']['namespace']
              attributeCondition: attribute.namespace == 'default'
      serviceAccounts:
        - accountId: app-sa
          bindings:
            - role: roles/iam.workloadIdentityUser
              members: ['principalSet://iam.googleapis.com/${POOL}/attribute.namespace/default']
`,
    env,
  )
  const mint = (audience: string) =>
    mintServiceAccountToken(db, {
      namespace: 'default',
      serviceAccount: 'bench',
      audiences: [audience],
      expirationSeconds: 3600,
      now: new Date(),
    })
  const base = server.baseUrl
  const form = { 'content-type': 'application/x-www-form-urlencoded' }

  const azureAssertion = await mint('api://AzureADTokenExchange')
  const azureBody = new URLSearchParams({
    client_id: CLIENT,
    scope: 'https://storage.azure.com/.default',
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: azureAssertion,
  }).toString()
  const entra: Exchange = async () => {
    const res = await fetch(`${base}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: form,
      body: azureBody,
    })
    const text = await res.text()
    expectOk(res, text, 'entra')
  }

  const gcpToken = await mint(GCP_AUDIENCE)
  const stsBody = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: GCP_AUDIENCE,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token: gcpToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  }).toString()
  const googleSts = async (): Promise<string> => {
    const res = await fetch(`${base}/v1/token`, { method: 'POST', headers: form, body: stsBody })
    const text = await res.text()
    expectOk(res, text, 'google sts')
    return (JSON.parse(text) as { access_token: string }).access_token
  }
  const impersonate: Exchange = async () => {
    const federated = await googleSts()
    const res = await fetch(`${base}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${federated}` },
      body: JSON.stringify({
        scope: ['https://www.googleapis.com/auth/cloud-platform'],
        lifetime: '3600s',
      }),
    })
    expectOk(res, await res.text(), 'generateAccessToken')
  }

  // AWS baseline: the OIDC provider (IAM's API refuses URLs with a port, so it goes through the IAM
  // repository, as the STS e2e tests do) and a role trusting it; then the unsigned STS call SDKs make.
  let aws: Exchange | undefined
  let awsNote: string | undefined
  try {
    const { createIamRepo } = await import('../../src/aws/iam/repo.ts')
    const { newUniqueId } = await import('../../src/aws/iam/ids.ts')
    const repo = createIamRepo(db)
    const now = new Date()
    const host = issuerUrl.replace(/^https:\/\//, '')
    await repo.ensureAccount(ACCOUNT, now)
    await repo.insertOidcProvider({
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}`,
      url: host,
      clientIds: ['sts.amazonaws.com'],
      thumbprints: [],
      createDate: now,
      tags: [],
    })
    await repo.insertRole({
      accountId: ACCOUNT,
      roleName: 'bench-role',
      roleId: newUniqueId('AROA', ACCOUNT, (n: number) => new Uint8Array(randomBytes(n))),
      arn: ROLE_ARN,
      path: '/',
      assumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}` },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${host}:sub`]: 'system:serviceaccount:default:bench',
                [`${host}:aud`]: 'sts.amazonaws.com',
              },
            },
          },
        ],
      }),
      maxSessionDuration: 3600,
      createDate: now,
      tags: [],
    })
    const awsToken = await mint('sts.amazonaws.com')
    const awsBody = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: ROLE_ARN,
      RoleSessionName: 'bench',
      WebIdentityToken: awsToken,
    }).toString()
    const candidate: Exchange = async () => {
      const res = await fetch(`${base}/`, { method: 'POST', headers: form, body: awsBody })
      expectOk(res, await res.text(), 'aws sts')
    }
    await candidate()
    aws = candidate
  } catch (err) {
    awsNote = `AWS STS path unavailable in this build: ${(err as Error).message.split('\n')[0]}`
  }

  const results: PathResult[] = []
  if (aws !== undefined) results.push(await measure('AWS STS AssumeRoleWithWebIdentity', aws))
  results.push(await measure('Entra token (client assertion)', entra))
  results.push(await measure('Google STS /v1/token', async () => void (await googleSts())))
  results.push(await measure('Google STS + generateAccessToken', impersonate))

  const baseline = results.find((r) => r.name.startsWith('AWS'))
  console.log(
    `\nToken exchanges, ${concurrency} concurrent clients, ${seconds}s per path, SQLite store, durable audit\n`,
  )
  console.log(
    `${'path'.padEnd(36)} ${'exch/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  vs AWS STS`,
  )
  for (const r of results) {
    const ratio =
      baseline === undefined ? 'n/a' : `${(r.perSecond / baseline.perSecond).toFixed(2)}x`
    console.log(
      `${r.name.padEnd(36)} ${r.perSecond.toFixed(0).padStart(9)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}  ${ratio}`,
    )
  }
  if (awsNote !== undefined) console.log(`\n${awsNote}`)
} finally {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}
