/**
 * @module cli/up-env
 * What `podtrust up` prints for clients: the exact environment variables of the IRSA chain, and the
 * bootstrap administrator's keys for IAM calls (in a separate block: exported together with the
 * web-identity variables, static keys would win in every SDK's credential chain).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AppContext } from '../app/context.ts'
import type { RunningServer } from '../server/start.ts'
import { mintServiceAccountToken } from '../tokens/mint.ts'

/** The demo's service account and role (see src/config/demo.yaml). */
export const DEMO = {
  namespace: 'default',
  serviceAccount: 'demo',
  roleName: 'podtrust-demo',
} as const

export async function writeDemoToken(ctx: AppContext, dataDir: string): Promise<string> {
  const dir = join(dataDir, 'demo')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'token')
  const token = await mintServiceAccountToken(ctx.db, {
    namespace: DEMO.namespace,
    serviceAccount: DEMO.serviceAccount,
    audiences: ['sts.amazonaws.com'],
    expirationSeconds: 86_400,
    now: ctx.now(),
  })
  writeFileSync(`${file}.tmp`, token, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
  return file
}

export async function clientEnvironment(
  server: RunningServer,
  options: { dataDir: string; tokenFile: string | undefined },
): Promise<string[]> {
  const { settings } = server.ctx
  const roleArn = `arn:aws:iam::${settings.accountId}:role/${options.tokenFile === undefined ? 'YOUR_ROLE' : DEMO.roleName}`
  const tokenFile = options.tokenFile ?? join(options.dataDir, 'token')
  const lines = [
    '# Workload (IRSA) environment:',
    `export AWS_ENDPOINT_URL_STS=${server.baseUrl}`,
    `export AWS_ENDPOINT_URL_IAM=${server.baseUrl}`,
    `export AWS_REGION=${settings.region}`,
    `export AWS_DEFAULT_REGION=${settings.region}`,
    `export AWS_ROLE_ARN=${roleArn}`,
    `export AWS_WEB_IDENTITY_TOKEN_FILE=${tokenFile}`,
  ]
  if (options.tokenFile === undefined) {
    lines.push(
      `# write the token: podtrust token --data-dir ${options.dataDir} --namespace NS --service-account SA --out ${tokenFile}`,
    )
  } else {
    lines.push(`# then: aws sts get-caller-identity`)
  }
  // The administrator's key comes from the modules the server assembled (IAM's bootstrap user).
  const creds = await server.adminCredentials()
  if (creds !== undefined) {
    const store =
      server.ctx.db.engine === 'sqlite' ? `--data-dir ${options.dataDir}` : '--store URL'
    lines.push(
      '',
      '# IAM administrator (bootstrap user), for IAM calls; use in a separate shell, since static keys',
      '# take precedence over AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE in every SDK:',
    )
    if (creds.secretAccessKey !== undefined) {
      // Shown once, when the key is created: container logs keep stdout.
      lines.push(
        `export AWS_ACCESS_KEY_ID=${creds.accessKeyId}`,
        `export AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`,
        '# (the secret is printed only now, at creation; later: podtrust admin-credentials --env)',
      )
    } else {
      lines.push(
        `# access key ${creds.accessKeyId}; its secret is not printed again. Get both with:`,
        `eval "$(podtrust admin-credentials --env ${store})"`,
      )
    }
  }
  return lines
}
