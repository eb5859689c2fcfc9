/**
 * Shared set-up of the database proxy's end-to-end tests: a podtrust server (IAM, STS, EKS Auth) with an
 * adjustable clock, the proxy on an ephemeral port, a fresh PostgreSQL database and SCRAM role per run on the
 * local server (PODTRUST_TEST_POSTGRES_URL), an instance declared through the `databases:` config section,
 * and helpers that run the real token generators (boto3, AWS CLI v1, @aws-sdk/rds-signer) under IRSA,
 * Pod Identity or access-key credentials.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { RunningAgent } from '../../../src/agent/index.ts'
import { startInProcessAgent } from '../../../src/server/in-process-agent.ts'
import { applyConfig } from '../../../src/server/config.ts'
import { mintServiceAccountToken } from '../../../src/tokens/mint.ts'
import { createDbInstanceRepo } from '../../../src/dbproxy/repo.ts'
import { startDbProxy, type RunningDbProxy } from '../../../src/dbproxy/server.ts'
import {
  cleanEnv,
  findOnPath,
  irsaTrust,
  randomSuffix,
  run,
  startStsTestServer,
  type Keys,
  type StsTestServer,
  TEST_ACCOUNT,
  TEST_REGION,
} from '../helpers/index.ts'

export const POSTGRES_URL = process.env['PODTRUST_TEST_POSTGRES_URL']
export const hasPsql = findOnPath('psql') !== undefined
export const hasPgbench = findOnPath('pgbench') !== undefined
export const hasBoto3 =
  spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0
export const hasAws = findOnPath('aws') !== undefined
/** Debian's python3-psycopg2 installs for the system python, which may not be the first python3. */
export const psycopgPython = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import psycopg2'], { stdio: 'ignore' }).status === 0,
)

export interface DbFixture {
  sts: StsTestServer
  proxy: RunningDbProxy
  agent: RunningAgent
  /** Shift the server's clock (expiry tests). */
  setClockOffset(ms: number): void
  endpointHost: string
  port: number
  caFile: string
  database: string
  role: string
  otherRole: string
  resourceId: string
  /** An IAM user allowed rds-db:connect on the role (and on otherRole). */
  allowed: Keys
  addUserWithPolicy(name: string, statements: object[]): Promise<Keys>
  /** Environment of a client running as an IRSA pod (web identity). */
  irsaEnv(): Record<string, string>
  /** Environment of a client running as a Pod Identity pod (container credentials). */
  podIdentityEnv(): Promise<Record<string, string>>
  keysEnv(keys: Keys): Record<string, string>
  boto3Token(
    env: Record<string, string>,
    user: string,
    port?: number,
    host?: string,
  ): Promise<string>
  cliToken(env: Record<string, string>, user: string): Promise<string>
  admin: pg.Client
  close(): Promise<void>
}

export function connectArn(resourceId: string, user: string): string {
  return `arn:aws:rds-db:${TEST_REGION}:${TEST_ACCOUNT}:dbuser:${resourceId}/${user}`
}

export async function startDbFixture(): Promise<DbFixture> {
  if (POSTGRES_URL === undefined) throw new Error('PODTRUST_TEST_POSTGRES_URL is not set')
  let offset = 0
  const sts = await startStsTestServer({ now: () => new Date(Date.now() + offset) })
  const suffix = randomSuffix()
  const database = `podtrust_dbproxy_${suffix}`
  const role = `dbp_app_${suffix}`
  const otherRole = `dbp_other_${suffix}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`SET password_encryption = 'scram-sha-256'`)
  const rolePassword = `pw-${randomSuffix()}-${randomSuffix()}`
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`)
  await admin.query(`CREATE ROLE ${otherRole} LOGIN PASSWORD '${rolePassword}x'`)
  await admin.query(`CREATE DATABASE ${database} OWNER ${role}`)
  const backend = new URL(POSTGRES_URL)
  const passwordFile = sts.writeFile('backend-password', `${rolePassword}\n`)

  const proxy = await startDbProxy(sts.server.ctx, { port: 0, drainMs: 2000 })
  const endpoint = `127.0.0.1:${proxy.port}`
  // Declared through the config section (the YAML form of `podtrust db add`).
  await applyConfig(
    sts.server.ctx.db,
    [
      'databases:',
      `  - identifier: app-${suffix}`,
      `    endpoint: ${endpoint}`,
      `    backend: postgres://${role}@${backend.hostname}:${backend.port || 5432}/${database}`,
      `    iamUsers: [${role}, ${otherRole}]`,
      '    backendPasswords:',
      `      ${role}: { file: ${passwordFile} }`,
    ].join('\n'),
    { accountId: TEST_ACCOUNT, region: TEST_REGION, now: new Date() },
  )
  const instance = (await createDbInstanceRepo(sts.server.ctx.db).list())[0]!
  const resourceId = instance.resourceId
  const connectPolicy = (users: string[]) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'rds-db:connect',
        Resource: users.map((u) => connectArn(resourceId, u)),
      },
    ],
  })
  const allowed = await sts.addUser('db-allowed', {
    inline: JSON.stringify(connectPolicy([role, otherRole])),
  })

  const providerArn = await sts.addOidcProvider(sts.issuerUrl)
  await sts.addRole(
    'irsa-db',
    irsaTrust(providerArn, sts.providerUrl, 'system:serviceaccount:default:my-sa'),
    {
      inline: connectPolicy([role]),
    },
  )
  await sts.addRole(
    'pi-db',
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        },
      ],
    },
    { inline: connectPolicy([role]) },
  )
  await applyConfig(
    sts.server.ctx.db,
    [
      'clusters:',
      '  - name: c1',
      'podIdentityAssociations:',
      '  - cluster: c1',
      '    namespace: shop',
      '    serviceAccount: cart',
      `    roleArn: arn:aws:iam::${TEST_ACCOUNT}:role/pi-db`,
    ].join('\n'),
    { accountId: TEST_ACCOUNT, region: TEST_REGION, now: new Date() },
  )
  const agent = await startInProcessAgent(sts.server.ctx, { port: 0, clusterName: 'c1' })
  const homes = join(sts.dir, 'homes')

  const fixture: DbFixture = {
    sts,
    proxy,
    agent,
    setClockOffset(ms) {
      offset = ms
    },
    endpointHost: '127.0.0.1',
    port: proxy.port,
    caFile: proxy.caFile as string,
    database,
    role,
    otherRole,
    resourceId,
    allowed,
    admin,
    async addUserWithPolicy(name, statements) {
      return sts.addUser(name, {
        inline: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      })
    },
    irsaEnv() {
      return {} as Record<string, string>
    },
    async podIdentityEnv() {
      const token = await mintServiceAccountToken(sts.server.ctx.db, {
        issuer: 'cluster:c1',
        namespace: 'shop',
        serviceAccount: 'cart',
        audiences: ['pods.eks.amazonaws.com'],
        expirationSeconds: 86400,
        pod: { name: 'cart-pod-1', uid: 'uid-cart-pod-1' },
        now: new Date(),
      })
      const file = join(sts.dir, `pi-token-${randomSuffix()}`)
      writeFileSync(file, token)
      return {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.credentialsUrl,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file,
        AWS_REGION: TEST_REGION,
        AWS_DEFAULT_REGION: TEST_REGION,
      }
    },
    keysEnv(keys) {
      return {
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        AWS_REGION: TEST_REGION,
        AWS_DEFAULT_REGION: TEST_REGION,
      }
    },
    async boto3Token(env, user, port = proxy.port, host = '127.0.0.1') {
      const r = await run(
        'python3',
        [
          '-c',
          `import boto3,sys; print(boto3.client("rds").generate_db_auth_token(DBHostname=sys.argv[1], Port=int(sys.argv[2]), DBUsername=sys.argv[3], Region="${TEST_REGION}"))`,
          host,
          String(port),
          user,
        ],
        { env: cleanEnv(join(homes, randomSuffix()), env) },
      )
      if (r.code !== 0) throw new Error(`boto3 generate_db_auth_token failed: ${r.stderr}`)
      return r.stdout.trim()
    },
    async cliToken(env, user) {
      const r = await run(
        'aws',
        [
          'rds',
          'generate-db-auth-token',
          '--hostname',
          '127.0.0.1',
          '--port',
          String(proxy.port),
          '--username',
          user,
          '--region',
          TEST_REGION,
        ],
        { env: cleanEnv(join(homes, randomSuffix()), env) },
      )
      if (r.code !== 0) throw new Error(`aws rds generate-db-auth-token failed: ${r.stderr}`)
      return r.stdout.trim()
    },
    async close() {
      await agent.close()
      await proxy.close()
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {})
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
      await admin.query(`DROP ROLE IF EXISTS ${otherRole}`).catch(() => {})
      await admin.end()
      await sts.close()
    },
  }
  fixture.irsaEnv = () => {
    const tokenFile = join(sts.dir, 'irsa-token')
    return {
      AWS_ROLE_ARN: `arn:aws:iam::${TEST_ACCOUNT}:role/irsa-db`,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_SESSION_NAME: 'db-session',
      AWS_ENDPOINT_URL_STS: sts.server.baseUrl,
      AWS_REGION: TEST_REGION,
      AWS_DEFAULT_REGION: TEST_REGION,
    }
  }
  writeFileSync(join(sts.dir, 'irsa-token'), await sts.token())
  return fixture
}

/** psql as a real client: verify-full against podtrust's CA, the token in PGPASSWORD. */
export function psql(
  f: DbFixture,
  token: string,
  args: string[],
  options: { user?: string; sslmode?: string; input?: string; database?: string } = {},
) {
  const conn = `host=127.0.0.1 port=${f.port} dbname=${options.database ?? f.database} user=${options.user ?? f.role} sslmode=${options.sslmode ?? 'verify-full'} sslrootcert=${f.caFile}`
  return run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-At', conn, ...args], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PGPASSWORD: token,
      PGCONNECT_TIMEOUT: '10',
      HOME: f.sts.dir,
    },
    ...(options.input === undefined ? {} : { input: options.input }),
  })
}
