/**
 * Test harness for IAM handlers: a real store (SQLite or PostgreSQL), a fixed clock, the bootstrap admin as
 * caller, and `call(action, params)` that renders the handler's result as the dispatcher would.
 */
import { randomBytes } from 'node:crypto'
import { AwsError } from '../../../src/aws/errors.ts'
import { ensureBootstrapAdmin } from '../../../src/aws/iam/bootstrap.ts'
import { iamMigrations } from '../../../src/aws/iam/migrations.ts'
import { sessionKeyMigrations } from '../../../src/keys/session-keys.ts'
import { iamActions, IAM_XMLNS } from '../../../src/aws/iam/service.ts'
import type { QueryRequest } from '../../../src/aws/query/registry.ts'
import { renderQueryResponse } from '../../../src/aws/xml.ts'
import type { AuditEvent } from '../../../src/audit/types.ts'
import type { Caller } from '../../../src/identity/types.ts'
import type { AppContext } from '../../../src/app/context.ts'
import { createIdentityPorts } from '../../../src/server/ports.ts'
import type { TokenVerifier } from '../../../src/tokens/types.ts'
import { openTestDb, type Engine } from '../store/engines.ts'

export const ACCT = '123456789012'

export interface CallResult {
  status: number
  xml: string
  code?: string
  message?: string
}

export interface Harness {
  ctx: AppContext
  admin: Caller
  /** `caller` null: an unsigned request. */
  call(action: string, params?: Record<string, string>, caller?: Caller | null): Promise<CallResult>
  cleanup(): Promise<void>
}

export async function openHarness(engine: Engine = 'sqlite'): Promise<Harness> {
  // The session keyring too: STS handlers over the same store mint and open session tokens.
  const t = await openTestDb(engine, { migrations: [...iamMigrations, ...sessionKeyMigrations] })
  let clock = Date.parse('2026-11-23T02:00:00Z')
  const events: AuditEvent[] = []
  const now = () => new Date((clock += 1000))
  const rnd = (n: number) => new Uint8Array(randomBytes(n))
  const ctx: AppContext = {
    db: t.db,
    ...createIdentityPorts(t.db, { now, randomBytes: rnd }),
    audit: {
      async record(e) {
        events.push(e)
      },
    },
    tokens: {} as TokenVerifier,
    settings: {
      dataDir: t.dataDir,
      host: '127.0.0.1',
      port: 0,
      httpsPort: undefined,
      baseUrl: 'http://127.0.0.1:0',
      httpsBaseUrl: undefined,
      region: 'us-east-1',
      accountId: ACCT,
    },
    log: { info() {}, warn() {}, error() {} },
  }
  const creds = await ensureBootstrapAdmin(t.db, { accountId: ACCT })
  const user = await (
    await import('../../../src/aws/iam/repo.ts')
  )
    .createIamRepo(t.db)
    .getUser(ACCT, creds.userName)
  const admin: Caller = {
    arn: creds.userArn,
    accountId: ACCT,
    userId: user!.userId,
    accessKeyId: creds.accessKeyId,
    type: 'IAMUser',
    userName: creds.userName,
  }
  let n = 0
  return {
    ctx,
    admin,
    async call(action, params = {}, caller = admin) {
      const handler = iamActions[action]
      if (handler === undefined) throw new Error(`no handler ${action}`)
      n += 1
      const request = queryRequest(action, params, caller ?? undefined)
      request.requestId = `req-${n}`
      try {
        const result = await handler(request, ctx)
        return {
          status: 200,
          xml: renderQueryResponse(action, IAM_XMLNS, result, request.requestId),
        }
      } catch (err) {
        if (!(err instanceof AwsError)) throw err
        return { status: err.status, xml: '', code: err.code, message: err.message }
      }
    },
    cleanup: t.cleanup,
  }
}

/** An awsQuery request as the dispatcher hands it to a handler (from 127.0.0.1, region us-east-1). */
export function queryRequest(
  action: string,
  params: Record<string, string>,
  caller: Caller | undefined,
  service: { name: string; version: string } = { name: 'iam', version: '2010-05-08' },
): QueryRequest {
  return {
    action,
    version: service.version,
    params,
    caller,
    requestId: 'req',
    service: service.name,
    facts: {
      sourceIp: '127.0.0.1',
      secureTransport: false,
      region: 'us-east-1',
      userAgent: 'test',
    },
    audit: {},
  }
}

/** The text of the first `<name>` element. */
export function xmlText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  return m?.[1]
}

export function xmlAll(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!)
}
