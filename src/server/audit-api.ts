/**
 * @module server/audit-api
 * The audit log's HTTP query API (for the console and scripts):
 *
 *   GET /podtrust/audit/events?since=&until=&principal=&role=&action=&decision=&sourceIp=&eventSource=
 *                              &maxResults=1..1000&nextToken=
 *
 * Signed with SigV4 for the service name `podtrust` (any AWS SDK or `aws-sigv4`-capable client), authorized
 * by the policy engine as action `podtrust:QueryAuditEvents` on `arn:aws:podtrust:REGION:ACCOUNT:audit-log`.
 * The log is deployment-wide, so only principals of the deployment's default account may read it. Answers
 * `{"Events": [...], "NextToken": "..."}` (CloudTrail LookupEvents' shape); errors are restJson1
 * (`x-amzn-ErrorType`, `{"message"}`). Every call is itself audited (eventName `QueryAuditEvents`).
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { auditTime } from '../audit/log.ts'
import { AuditQueryError, MAX_PAGE_SIZE, parseTimeBound, queryAudit } from '../audit/query.ts'
import type { AuditFilter } from '../audit/query.ts'
import type { AuditEvent } from '../audit/types.ts'
import { AwsError } from '../aws/errors.ts'
import { userIdentityOf } from '../aws/query/dispatch.ts'
import { authenticate } from '../aws/sigv4/authenticate.ts'
import { authorizeCaller } from '../identity/authorize.ts'
import type { Caller } from '../identity/types.ts'
import type { AppContext } from '../app/context.ts'
import type { ProtocolModule } from '../app/module.ts'

export const AUDIT_API_PATH = '/podtrust/audit/events'
export const AUDIT_QUERY_ACTION = 'podtrust:QueryAuditEvents'
export const AUDIT_API_SERVICE = 'podtrust'
export const AUDIT_EVENT_SOURCE = 'audit.podtrust'

class ApiError extends Error {
  readonly type: string
  readonly status: number
  constructor(type: string, status: number, message: string) {
    super(message)
    this.type = type
    this.status = status
  }
}

function filterOf(c: Context, now: Date): AuditFilter {
  const q = (k: string): string | undefined => c.req.query(k) ?? undefined
  const f: AuditFilter = {}
  try {
    if (q('since') !== undefined) f.since = parseTimeBound(q('since')!, now, 'since')
    if (q('until') !== undefined) f.until = parseTimeBound(q('until')!, now, 'until')
  } catch (err) {
    if (err instanceof AuditQueryError) throw new ApiError('ValidationException', 400, err.message)
    throw err
  }
  for (const [param, key] of [
    ['principal', 'principal'],
    ['role', 'role'],
    ['action', 'action'],
    ['decision', 'decision'],
    ['sourceIp', 'sourceIp'],
    ['eventSource', 'eventSource'],
  ] as const) {
    const v = q(param)
    if (v === undefined) continue
    if (v.length > 2048) throw new ApiError('ValidationException', 400, `${param} is too long`)
    f[key] = v
  }
  return f
}

export const auditApiModule: ProtocolModule = {
  name: 'audit-api',
  mount(app: Hono, ctx: AppContext) {
    app.get(AUDIT_API_PATH, async (c) => {
      const requestId = randomUUID()
      const now = ctx.now()
      const headers: Record<string, string> = {}
      c.req.raw.headers.forEach((v, k) => (headers[k] = v))
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
      const sourceIp = (env?.incoming?.socket?.remoteAddress ?? '').replace(/^::ffff:/, '')
      let caller: Caller | undefined
      let failure: ApiError | undefined
      let body: Record<string, unknown> | undefined
      const params = Object.fromEntries(
        Object.entries(c.req.query()).filter(([k]) => k !== 'nextToken' && !k.startsWith('X-Amz-')),
      )
      try {
        try {
          caller = (
            await authenticate(
              ctx,
              { method: 'GET', url: c.req.url, headers, body: '' },
              { service: AUDIT_API_SERVICE, configuredRegion: ctx.settings.region },
            )
          ).caller
        } catch (err) {
          if (err instanceof AwsError) throw new ApiError(err.code, err.status, err.message)
          throw err
        }
        const resource = `arn:aws:podtrust:${ctx.settings.region}:${ctx.settings.accountId}:audit-log`
        const who: Caller = caller
        const { result } = await authorizeCaller(ctx, who, {
          action: AUDIT_QUERY_ACTION,
          resource,
          resourceAccount: ctx.settings.accountId,
          context: {
            sourceIp,
            secureTransport: new URL(c.req.url).protocol === 'https:',
            region: ctx.settings.region,
          },
        })
        if (who.accountId !== ctx.settings.accountId || result.decision !== 'Allowed') {
          throw new ApiError(
            'AccessDeniedException',
            403,
            `User: ${who.arn} is not authorized to perform: ${AUDIT_QUERY_ACTION} on resource: ${resource}`,
          )
        }
        const maxText = c.req.query('maxResults')
        const limit = maxText === undefined ? 100 : Number(maxText)
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
          throw new ApiError('ValidationException', 400, `maxResults must be 1 to ${MAX_PAGE_SIZE}`)
        const nextToken = c.req.query('nextToken')
        const page = await queryAudit(ctx.db, filterOf(c, now), {
          limit,
          ...(nextToken === undefined ? {} : { nextToken }),
        }).catch((err: unknown) => {
          if (err instanceof AuditQueryError)
            throw new ApiError('ValidationException', 400, err.message)
          throw err
        })
        body = {
          Events: page.events,
          ...(page.nextToken === undefined ? {} : { NextToken: page.nextToken }),
        }
      } catch (err) {
        if (!(err instanceof ApiError)) throw err
        failure = err
      }
      const event: AuditEvent = {
        eventVersion: '1.08',
        eventTime: auditTime(now),
        eventSource: AUDIT_EVENT_SOURCE,
        eventName: 'QueryAuditEvents',
        awsRegion: ctx.settings.region,
        sourceIPAddress: sourceIp,
        userAgent: c.req.header('user-agent') ?? '',
        userIdentity: caller === undefined ? { type: 'Unknown' } : userIdentityOf(caller),
        requestParameters: Object.keys(params).length === 0 ? null : params,
        responseElements: null,
        ...(failure === undefined
          ? {}
          : { errorCode: failure.type, errorMessage: failure.message }),
        requestID: requestId,
        eventID: randomUUID(),
        readOnly: true,
        eventType: 'AwsApiCall',
        ...(caller === undefined ? {} : { recipientAccountId: caller.accountId }),
      }
      await ctx.audit.record(event)
      c.header('x-amzn-requestid', requestId)
      if (failure !== undefined) {
        c.header('x-amzn-errortype', failure.type)
        return c.json({ message: failure.message }, failure.status as 400)
      }
      return c.json(body)
    })
  },
}
