/**
 * Shared set-up of the Pod Identity end-to-end tests: a podtrust server on an ephemeral port with a temp data
 * dir, IAM roles/users written through the IAM repository, two clusters with their own issuers, and pod
 * tokens minted by those issuers.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { putCluster } from '../../src/aws/eks/config.ts'
import { newUniqueId, newSecretAccessKey } from '../../src/aws/iam/ids.ts'
import { createIamRepo } from '../../src/aws/iam/repo.ts'
import { type RunningServer, startServer } from '../../src/server/start.ts'
import { mintServiceAccountToken } from '../../src/tokens/mint.ts'

export const ACCOUNT = '111122223333'
export const REGION = 'us-east-1'

export const podTrust = (actions: string[], condition?: object) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: actions,
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ],
  })

export interface Fixture {
  server: RunningServer
  dir: string
  admin: { accessKeyId: string; secretAccessKey: string }
  node: { accessKeyId: string; secretAccessKey: string }
  roleArn(name: string): string
  /** An IAM user with an access key, optionally a managed policy ARN and an inline policy. */
  addUser(
    name: string,
    policyArn?: string,
    inline?: string,
  ): Promise<{ accessKeyId: string; secretAccessKey: string }>
  addRole(name: string, trust: string, inlinePolicy?: string, account?: string): Promise<void>
  podToken(input: {
    cluster?: string
    namespace: string
    serviceAccount: string
    pod?: string
    audience?: string
  }): Promise<string>
  writeToken(token: string): string
  close(): Promise<void>
}

export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-pi-e2e-'))
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accountId: ACCOUNT,
    region: REGION,
    logLevel: 'silent',
  })
  const { ctx } = server
  const iam = createIamRepo(ctx.db)
  const now = new Date()
  await iam.ensureAccount(ACCOUNT, now)
  const rnd = (n: number) => randomBytes(n)

  async function addUser(name: string, policyArn?: string, inline?: string) {
    const userId = newUniqueId('AIDA', ACCOUNT, rnd)
    await iam.insertUser({
      accountId: ACCOUNT,
      userName: name,
      userId,
      arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
      path: '/',
      createDate: now,
      tags: [],
    })
    if (policyArn !== undefined) await iam.attachPolicy(ACCOUNT, 'user', name, policyArn, now)
    if (inline !== undefined)
      await iam.putInlinePolicy(ACCOUNT, 'user', name, 'inline', inline, now)
    const key = {
      accessKeyId: newUniqueId('AKIA', ACCOUNT, rnd, 16),
      secretAccessKey: newSecretAccessKey(rnd),
    }
    await iam.insertAccessKey({
      ...key,
      status: 'Active',
      accountId: ACCOUNT,
      userName: name,
      createDate: now,
    })
    return key
  }

  const admin = await addUser('admin', 'arn:aws:iam::aws:policy/AdministratorAccess')
  const node = await addUser(
    'node',
    undefined,
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'eks-auth:AssumeRoleForPodIdentity', Resource: '*' }],
    }),
  )
  for (const name of ['c1', 'c2']) await putCluster(ctx.db, { name }, now)

  const fixture: Fixture = {
    server,
    dir,
    admin,
    node,
    roleArn: (name) => `arn:aws:iam::${ACCOUNT}:role/${name}`,
    addUser,
    async addRole(name, trust, inlinePolicy, account = ACCOUNT) {
      await iam.ensureAccount(account, now)
      await iam.insertRole({
        accountId: account,
        roleName: name,
        roleId: newUniqueId('AROA', account, rnd),
        arn: `arn:aws:iam::${account}:role/${name}`,
        path: '/',
        assumeRolePolicyDocument: trust,
        maxSessionDuration: 3600,
        createDate: now,
        tags: [],
      })
      if (inlinePolicy !== undefined)
        await iam.putInlinePolicy(account, 'role', name, 'inline', inlinePolicy, now)
    },
    podToken(input) {
      const pod = input.pod ?? `${input.serviceAccount}-pod-1`
      return mintServiceAccountToken(ctx.db, {
        issuer: `cluster:${input.cluster ?? 'c1'}`,
        namespace: input.namespace,
        serviceAccount: input.serviceAccount,
        audiences: [input.audience ?? 'pods.eks.amazonaws.com'],
        expirationSeconds: 86400,
        pod: { name: pod, uid: `uid-${pod}` },
        now: new Date(),
      })
    },
    writeToken(token) {
      const file = join(dir, `token-${randomBytes(4).toString('hex')}`)
      // No trailing newline: SDKs send the file verbatim in Authorization (aws-clients.md §2.4).
      writeFileSync(file, token)
      return file
    },
    async close() {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return fixture
}
