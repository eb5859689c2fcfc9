/**
 * @module audit/query
 * Filtered, paged reads of the audit log, shared by `podtrust audit query` and the HTTP query API: time
 * range, principal, role, action, decision, source address, event source. Pages go oldest first by log
 * position; `nextToken` is an opaque cursor (the last position read), stable while events are appended.
 * Output formats: JSON Lines and CSV (RFC 4180) with a fixed column set.
 */
import type { Queryable } from '../store/db.ts'
import { PodtrustError } from '../errors.ts'
import type { AuditEvent } from './types.ts'

export class AuditQueryError extends PodtrustError<'AUDIT_QUERY_INVALID'> {}

export interface AuditFilter {
  since?: Date
  until?: Date
  /** The caller's ARN (userIdentity.arn), exactly. */
  principal?: string
  /** The role involved: the session's issuer or the requested role ARN, exactly. */
  role?: string
  /** eventName, exactly. */
  action?: string
  /** `allow` (no errorCode), `deny` (any errorCode), or one errorCode (AccessDenied, …). */
  decision?: string
  sourceIp?: string
  eventSource?: string
}

export interface AuditPage {
  events: AuditEvent[]
  nextToken?: string
}

export const MAX_PAGE_SIZE = 1000

function decodeToken(token: string): number {
  const m = /^c([0-9]+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'))
  if (m === null)
    throw new AuditQueryError('AUDIT_QUERY_INVALID', 'nextToken is not a token this API returned')
  return Number(m[1])
}

export function encodeToken(seq: number): string {
  return Buffer.from(`c${seq}`).toString('base64url')
}

export async function queryAudit(
  db: Queryable,
  filter: AuditFilter,
  page: { limit?: number; nextToken?: string } = {},
): Promise<AuditPage> {
  const limit = Math.max(1, Math.min(page.limit ?? 100, MAX_PAGE_SIZE))
  const where: string[] = []
  const params: (string | number)[] = []
  const add = (sql: string, value: string | number): void => {
    where.push(sql)
    params.push(value)
  }
  if (page.nextToken !== undefined) add('seq > ?', decodeToken(page.nextToken))
  if (filter.since !== undefined) add('event_time >= ?', filter.since.getTime())
  if (filter.until !== undefined) add('event_time <= ?', filter.until.getTime())
  if (filter.principal !== undefined) add('principal_arn = ?', filter.principal)
  if (filter.role !== undefined) add('role_arn = ?', filter.role)
  if (filter.action !== undefined) add('event_name = ?', filter.action)
  if (filter.sourceIp !== undefined) add('source_ip = ?', filter.sourceIp)
  if (filter.eventSource !== undefined) add('event_source = ?', filter.eventSource)
  if (filter.decision !== undefined) {
    const d = filter.decision
    if (d.toLowerCase() === 'allow') where.push('error_code IS NULL')
    else if (d.toLowerCase() === 'deny') where.push('error_code IS NOT NULL')
    else add('error_code = ?', d)
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
  const rows = await db.all<{ seq: number; event: string }>(
    `SELECT seq, event FROM audit_events ${clause} ORDER BY seq ASC LIMIT ${limit + 1}`,
    params,
  )
  const more = rows.length > limit
  const taken = more ? rows.slice(0, limit) : rows
  const last = taken[taken.length - 1]
  return {
    events: taken.map((r) => JSON.parse(r.event) as AuditEvent),
    ...(more && last !== undefined ? { nextToken: encodeToken(Number(last.seq)) } : {}),
  }
}

/** `2026-01-02T03:04:05Z`, a date, or a duration ago (`90s`, `15m`, `12h`, `7d`). */
export function parseTimeBound(text: string, now: Date, flag: string): Date {
  const rel = /^(\d+)([smhd])$/.exec(text)
  if (rel !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      rel[2] as 's' | 'm' | 'h' | 'd'
    ]
    return new Date(now.getTime() - Number(rel[1]) * unit)
  }
  const t = Date.parse(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t))
    throw new AuditQueryError(
      'AUDIT_QUERY_INVALID',
      `${flag} must be an RFC 3339 time or a duration like 15m, got '${text}'`,
    )
  return new Date(t)
}

export const CSV_COLUMNS = [
  'eventTime',
  'eventSource',
  'eventName',
  'decision',
  'errorCode',
  'principal',
  'role',
  'sourceIPAddress',
  'userAgent',
  'requestID',
  'eventID',
] as const

function csvCell(value: string): string {
  // RFC 4180 quoting; a leading = + - @ is prefixed so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

export function csvRow(e: AuditEvent, roleArn: string | null): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    eventTime: e.eventTime,
    eventSource: e.eventSource,
    eventName: e.eventName,
    decision: e.errorCode === undefined ? 'Allow' : 'Deny',
    errorCode: e.errorCode ?? '',
    principal: e.userIdentity.arn ?? '',
    role: roleArn ?? '',
    sourceIPAddress: e.sourceIPAddress,
    userAgent: e.userAgent,
    requestID: e.requestID,
    eventID: e.eventID,
  }
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',')
}
