/**
 * @module audit/bounds
 * Bounds what one audit event stores, so an anonymous request with a megabyte parameter writes kilobytes:
 * strings longer than `MAX_STRING_CHARS` are cut, and a field (`requestParameters`, `responseElements`,
 * `additionalEventData`) still larger than `MAX_FIELD_BYTES` as JSON is replaced by `{ omitted: true, size }`.
 * As CloudTrail does for fields over its size limit, the event then carries `omitted: true`
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 */
import type { AuditEvent } from './types.ts'

export const MAX_STRING_CHARS = 2048
export const MAX_FIELD_BYTES = 16 * 1024
/** userAgent, errorMessage, sourceIPAddress and the like. */
export const MAX_HEADER_CHARS = 1024

function cutString(s: string, max: number, cut: { hit: boolean }): string {
  if (s.length <= max) return s
  cut.hit = true
  return `${s.slice(0, max)}…[truncated ${s.length - max} chars]`
}

function cutDeep(value: unknown, cut: { hit: boolean }, depth = 0): unknown {
  if (typeof value === 'string') return cutString(value, MAX_STRING_CHARS, cut)
  if (depth > 12) {
    cut.hit = true
    return '…[truncated]'
  }
  if (Array.isArray(value)) {
    const items = value.length > 1000 ? value.slice(0, 1000) : value
    if (items !== value) cut.hit = true
    return items.map((v) => cutDeep(v, cut, depth + 1))
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    let n = 0
    for (const [k, v] of Object.entries(value)) {
      if (++n > 500) {
        cut.hit = true
        break
      }
      out[cutString(k, 256, cut)] = cutDeep(v, cut, depth + 1)
    }
    return out
  }
  return value
}

function boundField(
  value: Record<string, unknown> | null | undefined,
  cut: { hit: boolean },
): Record<string, unknown> | null | undefined {
  if (value === null || value === undefined) return value
  const shortened = cutDeep(value, cut) as Record<string, unknown>
  const size = Buffer.byteLength(JSON.stringify(shortened))
  if (size <= MAX_FIELD_BYTES) return shortened
  cut.hit = true
  return { omitted: true, size }
}

export function boundEvent(event: AuditEvent): AuditEvent {
  const cut = { hit: false }
  const out: AuditEvent = {
    ...event,
    eventName: cutString(event.eventName, 128, cut),
    userAgent: cutString(event.userAgent, MAX_HEADER_CHARS, cut),
    sourceIPAddress: cutString(event.sourceIPAddress, 64, cut),
    requestParameters: boundField(event.requestParameters, cut) ?? null,
    responseElements: boundField(event.responseElements, cut) ?? null,
    userIdentity: cutDeep(event.userIdentity, cut) as AuditEvent['userIdentity'],
  }
  if (event.errorMessage !== undefined)
    out.errorMessage = cutString(event.errorMessage, MAX_HEADER_CHARS, cut)
  if (event.additionalEventData !== undefined) {
    const extra = boundField(event.additionalEventData, cut)
    if (extra !== null && extra !== undefined) out.additionalEventData = extra
  }
  if (cut.hit) out.omitted = true
  return out
}
