/**
 * @module dbproxy/iam
 * The connect decision of IAM database authentication, for both wire protocols: parse the token, find the
 * instance it was signed for, verify it with the platform's SigV4 authenticator against podtrust's
 * credential store (access keys and sealed session tokens — the same path STS uses), then authorize
 * `rds-db:connect` on `arn:aws:rds-db:REGION:ACCOUNT:dbuser:DBI_RESOURCE_ID/DB_USER` through the policy
 * engine with the full request context, and record the decision as an audit event before answering.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
 *
 * This is the proxy's only door into the identity domain; the wire protocol modules depend on it alone.
 */
import { randomUUID } from 'node:crypto'
import type { AuditEvent } from '../audit/types.ts'
import { AwsError } from '../aws/errors.ts'
import { userIdentityOf } from '../aws/query/dispatch.ts'
import { authenticate } from '../aws/sigv4/authenticate.ts'
import { authorizeCaller } from '../identity/authorize.ts'
import type { Caller } from '../identity/types.ts'
import type { AppContext } from '../app/context.ts'
import { type DbEngine, type DbInstance, dbUserArn } from './instances.ts'
import { createDbInstanceRepo } from './repo.ts'
import { checkTokenWindow, parseAuthToken, TokenRejected } from './token.ts'

export const RDS_DB_EVENT_SOURCE = 'rds-db.amazonaws.com'
export const CONNECT_ACTION = 'rds-db:connect'

/** What the wire protocol learned about the attempt. */
export interface ConnectAttempt {
  engine: DbEngine
  /** The user the client asked for in its start-up message / handshake. */
  dbUser: string
  database: string | undefined
  /** The password: the IAM token. */
  token: string
  sourceIp: string
  /** TLS SNI, when the client sent one. */
  serverName: string | undefined
  tls: boolean
  userAgent?: string
}

export type ConnectDecision =
  | { allowed: true; instance: DbInstance; caller: Caller; region: string; accountId: string }
  | { allowed: false; reason: string; instance?: DbInstance; caller?: Caller }

/** The reasons, recorded as `errorCode` in the audit event (clients always see one generic failure). */
function deny(
  reason: string,
  extra: { instance?: DbInstance; caller?: Caller } = {},
): ConnectDecision {
  return { allowed: false, reason, ...extra }
}

/** Several instances may share one endpoint (one proxy port): the one whose backend database matches wins. */
function pickInstance(
  candidates: DbInstance[],
  database: string | undefined,
): DbInstance | undefined {
  if (candidates.length <= 1) return candidates[0]
  const byDb = candidates.filter((c) => {
    const path = /^[a-z]+:\/\/[^/]*\/([^?]*)/i.exec(c.backend)?.[1]
    return path !== undefined && decodeURIComponent(path) === database
  })
  return byDb.length === 1 ? byDb[0] : undefined
}

function stripZone(ip: string): string {
  return ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
}

/** Decides whether the attempt may connect. Never throws for a bad token: every refusal is a decision. */
export async function decideConnect(
  ctx: AppContext,
  attempt: ConnectAttempt,
  instances: (endpoint: string) => Promise<DbInstance[]> = (e) =>
    createDbInstanceRepo(ctx.db).byEndpoint(e),
): Promise<ConnectDecision> {
  let token
  try {
    token = parseAuthToken(attempt.token)
  } catch (err) {
    if (err instanceof TokenRejected) return deny(`InvalidToken: ${err.message}`)
    throw err
  }
  const candidates = (await instances(token.endpoint)).filter((i) => i.engine === attempt.engine)
  const instance = pickInstance(candidates, attempt.database)
  if (instance === undefined)
    return deny(
      candidates.length === 0
        ? `UnknownEndpoint: no ${attempt.engine} instance has endpoint ${token.endpoint}`
        : `AmbiguousEndpoint: several instances have endpoint ${token.endpoint}`,
    )
  if (token.dbUser !== attempt.dbUser)
    return deny(`WrongUser: token is for database user ${token.dbUser}`, { instance })
  try {
    checkTokenWindow(token, ctx.now())
  } catch (err) {
    if (err instanceof TokenRejected) return deny(`ExpiredToken: ${err.message}`, { instance })
    throw err
  }
  const region = instance.region ?? ctx.settings.region
  const accountId = instance.accountId ?? ctx.settings.accountId
  if (token.region !== region)
    return deny(`WrongRegion: token signed for ${token.region}, instance is in ${region}`, {
      instance,
    })

  let caller: Caller
  try {
    const authenticated = await authenticate(
      ctx,
      {
        method: 'GET',
        url: `/?${token.query}`,
        headers: [['host', token.endpoint]],
        body: '',
      },
      { service: 'rds-db', regions: [region], configuredRegion: region },
    )
    caller = authenticated.caller
  } catch (err) {
    if (err instanceof AwsError) return deny(`${err.code}: ${err.message}`, { instance })
    throw err
  }
  if (instance.iamUsers !== undefined && !instance.iamUsers.includes(attempt.dbUser))
    return deny(`UserNotEnabled: ${attempt.dbUser} may not use IAM authentication`, {
      instance,
      caller,
    })

  const resource = dbUserArn(region, accountId, instance.resourceId, attempt.dbUser)
  const { result } = await authorizeCaller(ctx, caller, {
    action: CONNECT_ACTION,
    resource,
    resourceAccount: accountId,
    context: {
      sourceIp: stripZone(attempt.sourceIp),
      secureTransport: attempt.tls,
      region,
      userAgent: attempt.userAgent ?? '',
    },
  })
  if (result.decision !== 'Allowed')
    return deny(
      `AccessDenied: ${result.decision === 'ExplicitlyDenied' ? 'explicit deny' : 'no policy allows'} ${CONNECT_ACTION} on ${resource}`,
      { instance, caller },
    )
  return { allowed: true, instance, caller, region, accountId }
}

/** The CloudTrail-shaped record of one connect decision. */
export function connectEvent(
  ctx: AppContext,
  attempt: Omit<ConnectAttempt, 'token'>,
  decision: ConnectDecision,
): AuditEvent {
  const now = ctx.now()
  const instance = decision.instance
  const caller = decision.caller
  const reasonCode = decision.allowed ? undefined : decision.reason.split(':')[0]
  return {
    eventVersion: '1.08',
    eventTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: RDS_DB_EVENT_SOURCE,
    eventName: 'connect',
    awsRegion: instance?.region ?? ctx.settings.region,
    sourceIPAddress: stripZone(attempt.sourceIp),
    userAgent: attempt.userAgent ?? `podtrust-dbproxy/${attempt.engine}`,
    userIdentity: caller === undefined ? { type: 'Unknown' } : userIdentityOf(caller),
    requestParameters: {
      engine: attempt.engine,
      dbUser: attempt.dbUser,
      ...(attempt.database === undefined ? {} : { database: attempt.database }),
      ...(instance === undefined
        ? {}
        : {
            dBInstanceIdentifier: instance.name,
            dbiResourceId: instance.resourceId,
            endpoint: instance.endpoint,
          }),
    },
    responseElements: decision.allowed ? { allowed: true } : null,
    ...(decision.allowed ? {} : { errorCode: reasonCode, errorMessage: decision.reason }),
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    recipientAccountId: instance?.accountId ?? ctx.settings.accountId,
    additionalEventData: {
      tls: attempt.tls,
      ...(attempt.serverName ? { serverName: attempt.serverName } : {}),
    },
  }
}

/** A decision and the durability of its audit record (resolves true once durable, false if it failed). */
export interface AuditedDecision {
  decision: ConnectDecision
  recorded: Promise<boolean>
}

/**
 * Decides and starts recording the audit event. The caller answers the client only after `recorded`
 * resolves true (no decision leaves without its audit record); it may meanwhile open the backend session of
 * an allowed connection, so the commit's latency overlaps the backend's start-up. A failure to record fails
 * closed: the wire protocol answers with its retryable error.
 */
export async function decideAndAudit(
  ctx: AppContext,
  attempt: ConnectAttempt,
  instances?: (endpoint: string) => Promise<DbInstance[]>,
): Promise<AuditedDecision> {
  let decision: ConnectDecision
  try {
    decision = await decideConnect(ctx, attempt, instances)
  } catch (err) {
    ctx.log.error('dbproxy.decide_failed', {
      error: err instanceof Error ? err.message : String(err),
    })
    decision = deny('InternalFailure: the decision could not be made')
  }
  const rest: Omit<ConnectAttempt, 'token'> & { token?: string } = { ...attempt }
  delete rest.token
  const recorded = ctx.audit.record(connectEvent(ctx, rest, decision)).then(
    () => true,
    (err: unknown) => {
      ctx.log.error('dbproxy.audit_failed', {
        error: err instanceof Error ? err.message : String(err),
      })
      return false
    },
  )
  return { decision, recorded }
}

/** Records a refusal that happened before any token was seen (a plaintext start-up). */
export async function auditRefusal(
  ctx: AppContext,
  attempt: Omit<ConnectAttempt, 'token'>,
  reason: string,
): Promise<void> {
  try {
    await ctx.audit.record(connectEvent(ctx, attempt, deny(reason)))
  } catch (err) {
    ctx.log.error('dbproxy.audit_failed', {
      error: err instanceof Error ? err.message : String(err),
    })
  }
}
