/**
 * @module audit/redact
 * Removes secrets from anything about to be logged or audited: values under secret-looking keys, and any
 * string that looks like a JWT. Defence in depth: callers redact first; this catches what they missed.
 */
const SECRET_KEY =
  /token|secret|password|passwd|authorization|signature|privatekey|private_key|assertion|cookie/i
/** Keys that match SECRET_KEY but carry no secret (CloudTrail logs these). */
const SAFE_KEYS = new Set([
  'accesskeyid',
  'tokencode',
  'tokenissuetime',
  'duration',
  'expirationseconds',
  // Pagination cursors and idempotency tokens name no credential; CloudTrail records them.
  'nexttoken',
  'clientrequesttoken',
  // S3 data events' additionalEventData.SignatureVersion ("SigV2" / "SigV4"), as CloudTrail records it.
  'signatureversion',
])
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g
/** podtrust's sealed session tokens: `PT` + version digit + 12-hex key id + base64 (docs/security.md). */
const SESSION_TOKEN = /\bPT\d[0-9a-f]{12}[A-Za-z0-9+/=_-]{32,}/g
const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g
/** A whole value shaped like an AWS secret access key (40 base64 characters, mixed). */
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+]{40}$/

export const REDACTED = '***'

export function redactString(s: string): string {
  // Each pattern starts with a fixed marker, and most strings carry none: `includes` is far cheaper than a
  // global replace that finds nothing (every string of every audit event passes here).
  let out = s
  if (out.includes('eyJ')) out = out.replace(JWT, REDACTED)
  if (out.includes('PT')) out = out.replace(SESSION_TOKEN, REDACTED)
  if (out.includes('-----BEGIN')) out = out.replace(PEM_PRIVATE_KEY, REDACTED)
  return out
}

/**
 * For values of parameters podtrust does not recognise (anything a client sends may land in the audit log):
 * also a whole value shaped like a secret access key — 40 base64 characters with a `/` or `+`, or mixing
 * digits, upper and lower case. A 40-character session name of that shape is redacted too (the cost of
 * catching secrets sent under unknown names).
 */
export function redactParameterValue(s: string): string {
  if (
    SECRET_ACCESS_KEY.test(s) &&
    (/[/+]/.test(s) || (/\d/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s)))
  )
    return REDACTED
  return redactString(s)
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 12) return REDACTED
  if (typeof value === 'string') return redactString(value)
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code
    return {
      name: value.name,
      message: redactString(value.message),
      ...(code === undefined ? {} : { code }),
    }
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && !SAFE_KEYS.has(k.toLowerCase()) ? REDACTED : redact(v, depth + 1)
    }
    return out
  }
  return value
}
