/**
 * @module aws/xml
 * The awsQuery XML writer: a plain object tree → AWS's response and error documents. Element names are the
 * object keys in insertion order (AWS's sample order is the safe choice; SDKs look elements up by name);
 * arrays become `<member>` lists (an empty array `<Name/>`), dates ISO 8601 UTC with whole seconds.
 */

export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | XmlMap
  | XmlValue[]
  | { [name: string]: XmlValue }

/** A model `map` shape: `<entry><key>K</key><value>V</value></entry>` per pair (e.g. IAM's SummaryMap). */
export class XmlMap {
  readonly entries: readonly (readonly [string, XmlValue])[]
  constructor(entries: readonly (readonly [string, XmlValue])[]) {
    this.entries = entries
  }
}

/** Text content: `&`, `<`, `>` (quotes stay literal, as AWS writes messages like `Value 'x' at …`). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
}

function escapeAttribute(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;')
}

/** `2026-11-23T01:25:30Z`: the form every client parses (no milliseconds). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function renderValue(value: XmlValue): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return isoSeconds(value)
  if (value instanceof XmlMap) {
    return value.entries
      .map(([k, v]) => `<entry>${element('key', k)}${element('value', v)}</entry>`)
      .join('')
  }
  if (Array.isArray(value)) return value.map((item) => element('member', item)).join('')
  if (typeof value === 'object') return renderFields(value)
  return escapeXml(String(value))
}

function element(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return ''
  const inner = renderValue(value)
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`
}

/** Renders each present field as an element; `undefined`/`null` fields are omitted. */
export function renderFields(fields: { [name: string]: XmlValue }): string {
  let out = ''
  for (const [name, value] of Object.entries(fields)) out += element(name, value)
  return out
}

/** `<{Op}Response xmlns><{Op}Result>…</{Op}Result><ResponseMetadata><RequestId>` (no Result when `result` is undefined). */
export function renderQueryResponse(
  action: string,
  xmlns: string,
  result: { [name: string]: XmlValue } | undefined,
  requestId: string,
): string {
  const body =
    result === undefined ? '' : `<${action}Result>${renderFields(result)}</${action}Result>`
  return (
    `<${action}Response xmlns="${escapeAttribute(xmlns)}">${body}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`
  )
}

/** AWS's awsQuery error document (no moto-style lower-case `<message>`). */
export function renderErrorResponse(
  xmlns: string,
  error: { type: 'Sender' | 'Receiver'; code: string; message: string },
  requestId: string,
): string {
  return (
    `<ErrorResponse xmlns="${escapeAttribute(xmlns)}"><Error><Type>${error.type}</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`
  )
}
