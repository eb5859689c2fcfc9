/**
 * IAM API conformance: the moto validation corpus (`iam-policy/moto-validation`, written against real AWS)
 * sent as `iam:CreatePolicy` over the wire to podtrust's IAM (in-process server, SigV4 with the bootstrap
 * admin's key, the AWS SDK for JS v3). Invalid documents must fail with HTTP 400 `MalformedPolicyDocument`
 * and the exact message; valid ones must be created.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreatePolicyCommand, DeletePolicyCommand, IAMClient } from '@aws-sdk/client-iam'
import { getBootstrapAdmin } from '../../src/aws/iam/bootstrap.ts'
import { startServer } from '../../src/server/start.ts'
import { conformanceRoot, summarize, type SetResult, type SuiteResult } from './suite.ts'

interface Corpus {
  invalid: { document: unknown; message: string }[]
  valid: unknown[]
}

export async function run(dir?: string): Promise<SuiteResult> {
  const file = join(
    dir ?? join(conformanceRoot(), 'iam-policy', 'moto-validation'),
    'create_policy_validation_cases.json',
  )
  const corpus = JSON.parse(readFileSync(file, 'utf8')) as Corpus
  const dataDir = mkdtempSync(join(tmpdir(), 'podtrust-iam-api-'))
  const server = await startServer({ dataDir, port: 0, logLevel: 'silent' } as Parameters<
    typeof startServer
  >[0])
  const creds = await getBootstrapAdmin(server.ctx.db, server.ctx.settings.accountId)
  const iam = new IAMClient({
    endpoint: server.baseUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: creds!.accessKeyId, secretAccessKey: creds!.secretAccessKey },
    maxAttempts: 1,
  })
  try {
    const invalid: SetResult = {
      name: 'moto-validation/invalid (CreatePolicy over the wire)',
      passed: 0,
      total: 0,
      failures: [],
    }
    for (const [i, c] of corpus.invalid.entries()) {
      invalid.total += 1
      try {
        await iam.send(
          new CreatePolicyCommand({
            PolicyName: `invalid-${i}`,
            PolicyDocument: JSON.stringify(c.document),
          }),
        )
        invalid.failures.push(`invalid[${i}]: accepted, expected "${c.message}"`)
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } }
        if (
          e.name === 'MalformedPolicyDocumentException' &&
          e.message === c.message &&
          e.$metadata?.httpStatusCode === 400
        ) {
          invalid.passed += 1
        } else {
          invalid.failures.push(
            `invalid[${i}]: got ${e.name} ${e.$metadata?.httpStatusCode} "${e.message}", expected "${c.message}"`,
          )
        }
      }
    }
    const valid: SetResult = {
      name: 'moto-validation/valid (CreatePolicy over the wire)',
      passed: 0,
      total: 0,
      failures: [],
    }
    for (const [i, document] of corpus.valid.entries()) {
      valid.total += 1
      try {
        const r = await iam.send(
          new CreatePolicyCommand({
            PolicyName: `valid-${i}`,
            PolicyDocument: JSON.stringify(document),
          }),
        )
        valid.passed += 1
        await iam.send(new DeletePolicyCommand({ PolicyArn: r.Policy?.Arn }))
      } catch (err) {
        valid.failures.push(`valid[${i}]: ${(err as Error).name} "${(err as Error).message}"`)
      }
    }
    return summarize([invalid, valid])
  } finally {
    iam.destroy()
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
