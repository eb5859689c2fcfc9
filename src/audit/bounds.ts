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

/**
 * An upper bound on the UTF-8 JSON size of `value` when `cutDeep` would leave it unchanged, or -1 when it
 * would cut something. Reads only: most events are far inside the bounds, and proving that costs less than
 * copying them and serialising each field to measure it (profiled in `npm run bench:sts`).
 */
function sizeIfUncut(value: unknown, depth: number): number {
  // A UTF-16 unit serialises to at most 6 bytes (`\uXXXX`); numbers, booleans and null to at most 24.
  if (typeof value === 'string') return value.length > MAX_STRING_CHARS ? -1 : value.length * 6 + 2
  if (depth > 12) return -1
  if (typeof value !== 'object' || value === null) return 24
  let size = 2
  if (Array.isArray(value)) {
    if (value.length > 1000) return -1
    for (const item of value) {
      const s = sizeIfUncut(item, depth + 1)
      if (s < 0) return -1
      size += s + 1
    }
    return size
  }
  const keys = Object.keys(value)
  if (keys.length > 500) return -1
  for (const key of keys) {
    if (key.length > 256) return -1
    const s = sizeIfUncut((value as Record<string, unknown>)[key], depth + 1)
    if (s < 0) return -1
    size += key.length * 6 + 4 + s
  }
  return size
}

function fieldFits(value: Record<string, unknown> | null | undefined): boolean {
  if (value === null || value === undefined) return true
  const size = sizeIfUncut(value, 0)
  return size >= 0 && size <= MAX_FIELD_BYTES
}

/** True when `boundEvent` would change nothing. */
function withinBounds(event: AuditEvent): boolean {
  return (
    event.eventName.length <= 128 &&
    event.userAgent.length <= MAX_HEADER_CHARS &&
    event.sourceIPAddress.length <= 64 &&
    (event.errorMessage === undefined || event.errorMessage.length <= MAX_HEADER_CHARS) &&
    sizeIfUncut(event.userIdentity, 0) >= 0 &&
    // The copying path turns absent fields into null and drops a null additionalEventData.
    event.requestParameters !== undefined &&
    event.responseElements !== undefined &&
    event.additionalEventData !== null &&
    fieldFits(event.requestParameters) &&
    fieldFits(event.responseElements) &&
    fieldFits(event.additionalEventData)
  )
}

/** The event cut to the bounds; the event itself when it is already within them. */
export function boundEvent(event: AuditEvent): AuditEvent {
  if (withinBounds(event)) return event
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
