/**
 * Shared end-to-end helpers: temp dirs, an in-process podtrust server (the platform's startServer on an
 * ephemeral port), IAM seeding through the repository, raw awsQuery calls, and real clients (`aws`, python3)
 * run as subprocesses with an isolated HOME and an environment free of the developer's AWS settings.
 */
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { newUniqueId, newSecretAccessKey } from '../../../src/aws/iam/ids.ts'
import { createIamRepo, type IamRepo } from '../../../src/aws/iam/repo.ts'
import { startServer, type RunningServer } from '../../../src/server/start.ts'
import { mintServiceAccountToken } from '../../../src/tokens/mint.ts'
import { ensureIssuer } from '../../../src/tokens/issuer.ts'

export const TEST_ACCOUNT = '111122223333'
export const TEST_REGION = 'us-east-1'

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export function tempDir(prefix = 'podtrust-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** The absolute path of `name` on PATH, or undefined (tests then skip with a reason). */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      /* next */
    }
  }
  return undefined
}

/** Whether python3 can import `module` (e.g. boto3). */
export async function pythonHas(module: string): Promise<boolean> {
  if (findOnPath('python3') === undefined) return false
  const r = await run('python3', ['-c', `import ${module}`], { env: cleanEnv(tempDir()) })
  return r.code === 0
}

/**
 * An environment for a client subprocess: PATH and a fresh HOME only (no AWS_* or proxy settings of the
 * developer's shell leak in), plus `extra`.
 */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  mkdirSync(home, { recursive: true })
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: join(home, '.aws', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  }
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export function run(
  command: string,
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}

export interface Keys {
  accessKeyId: string
  secretAccessKey: string
}

export interface StsTestServer {
  server: RunningServer
  dir: string
  repo: IamRepo
  /** The default issuer's URL (https://…) and its provider URL without the scheme. */
  issuerUrl: string
  providerUrl: string
  addUser(name: string, options?: { policyArn?: string; inline?: string }): Promise<Keys>
  addRole(
    name: string,
    trust: string | object,
    options?: {
      inline?: string | object
      maxSessionDuration?: number
      tags?: { key: string; value: string }[]
    },
  ): Promise<string>
  addOidcProvider(url: string, clientIds?: string[]): Promise<string>
  token(input?: {
    issuer?: string
    namespace?: string
    serviceAccount?: string
    audiences?: string[]
    expirationSeconds?: number
    now?: Date
  }): Promise<string>
  writeFile(name: string, text: string): string
  close(): Promise<void>
}

/** The IRSA trust policy of the walkthrough. */
export function irsaTrust(
  providerArn: string,
  providerUrl: string,
  sub: string,
  aud?: string,
): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${providerUrl}:sub`]: sub,
            ...(aud === undefined ? {} : { [`${providerUrl}:aud`]: aud }),
          },
        },
      },
    ],
  }
}

export async function startStsTestServer(
  options: { now?: () => Date; accountId?: string; issuerUrl?: string } = {},
): Promise<StsTestServer> {
  const dir = tempDir('podtrust-sts-e2e-')
  const account = options.accountId ?? TEST_ACCOUNT
  const server = await startServer({
    dataDir: dir,
    port: 0,
    accountId: account,
    region: TEST_REGION,
    logLevel: 'silent',
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.issuerUrl === undefined ? {} : { issuerUrl: options.issuerUrl }),
  } as Parameters<typeof startServer>[0])
  const { ctx } = server
  const repo = createIamRepo(ctx.db)
  const now = ctx.now()
  await repo.ensureAccount(account, now)
  const rnd = (n: number) => randomBytes(n)
  const issuer = await ensureIssuer(ctx.db, 'default')
  const issuerUrl = issuer.url
  const providerUrl = issuerUrl.replace(/^https:\/\//, '')

  return {
    server,
    dir,
    repo,
    issuerUrl,
    providerUrl,
    async addUser(name, opts = {}) {
      await repo.insertUser({
        accountId: account,
        userName: name,
        userId: newUniqueId('AIDA', account, rnd),
        arn: `arn:aws:iam::${account}:user/${name}`,
        path: '/',
        createDate: now,
        tags: [],
      })
      if (opts.policyArn !== undefined)
        await repo.attachPolicy(account, 'user', name, opts.policyArn, now)
      if (opts.inline !== undefined)
        await repo.putInlinePolicy(account, 'user', name, 'inline', opts.inline, now)
      const key = {
        accessKeyId: newUniqueId('AKIA', account, rnd, 16),
        secretAccessKey: newSecretAccessKey(rnd),
      }
      await repo.insertAccessKey({
        ...key,
        status: 'Active',
        accountId: account,
        userName: name,
        createDate: now,
      })
      return key
    },
    async addRole(name, trust, opts = {}) {
      const arn = `arn:aws:iam::${account}:role/${name}`
      await repo.insertRole({
        accountId: account,
        roleName: name,
        roleId: newUniqueId('AROA', account, rnd),
        arn,
        path: '/',
        assumeRolePolicyDocument: typeof trust === 'string' ? trust : JSON.stringify(trust),
        maxSessionDuration: opts.maxSessionDuration ?? 3600,
        createDate: now,
        tags: opts.tags ?? [],
      })
      if (opts.inline !== undefined)
        await repo.putInlinePolicy(
          account,
          'role',
          name,
          'inline',
          typeof opts.inline === 'string' ? opts.inline : JSON.stringify(opts.inline),
          now,
        )
      return arn
    },
    async addOidcProvider(url, clientIds = ['sts.amazonaws.com']) {
      const bare = url.replace(/^https:\/\//, '')
      const arn = `arn:aws:iam::${account}:oidc-provider/${bare}`
      await repo.insertOidcProvider({
        accountId: account,
        arn,
        url: bare,
        clientIds,
        thumbprints: [],
        createDate: now,
        tags: [],
      })
      return arn
    },
    token(input = {}) {
      return mintServiceAccountToken(ctx.db, {
        ...(input.issuer === undefined ? {} : { issuer: input.issuer }),
        namespace: input.namespace ?? 'default',
        serviceAccount: input.serviceAccount ?? 'my-sa',
        audiences: input.audiences ?? ['sts.amazonaws.com'],
        expirationSeconds: input.expirationSeconds ?? 3600,
        now: input.now ?? ctx.now(),
      })
    },
    writeFile(name, text) {
      const file = join(dir, name)
      writeFileSync(file, text)
      return file
    },
    async close() {
      await server.close()
      removeDir(dir)
    },
  }
}

/** A raw awsQuery POST (unsigned unless headers carry a signature). */
export async function queryPost(
  baseUrl: string,
  params: Record<string, string>,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${baseUrl}${options.path ?? '/'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      ...options.headers,
    },
    body: new URLSearchParams(params).toString(),
  })
  return { status: res.status, body: await res.text(), headers: res.headers }
}

/** The text of the first `<tag>` element (enough for the flat STS documents). */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex')
}
