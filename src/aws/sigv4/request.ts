/**
 * @module aws/sigv4/request
 * Adapts what HTTP servers hand out (Node's raw header pairs, a header record, Web `Headers`, a request
 * target or absolute URL) to the raw `SigV4Request` the verifier needs, without normalizing or re-encoding.
 */
import type { SigV4Request } from './sigv4.ts'

export type HeaderInput =
  readonly (readonly [string, string])[] | Record<string, string | string[] | undefined> | Headers

/** A request as received, before SigV4 looks at it. */
export interface HttpRequestInput {
  method: string
  /** Request target (`/path?query`) as received, or an absolute URL; kept raw (not re-encoded). */
  url: string
  headers: HeaderInput
  body: Uint8Array | string
}

/** Raw header pairs from any of the shapes servers hand out. */
export function headerPairs(headers: HeaderInput): [string, string][] {
  const out: [string, string][] = []
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    headers.forEach((value, name) => out.push([name, value]))
    return out
  }
  if (Array.isArray(headers)) {
    for (const [n, v] of headers as readonly (readonly [string, string])[]) out.push([n, v])
    return out
  }
  for (const [name, value] of Object.entries(
    headers as Record<string, string | string[] | undefined>,
  )) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.push([name, v])
    else out.push([name, value])
  }
  return out
}

/** The first value of header `name` (lower-case), from any header shape. */
export function headerValue(headers: HeaderInput, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers)
    return headers.get(name) ?? undefined
  if (Array.isArray(headers)) {
    const hit = (headers as readonly (readonly [string, string])[]).find(
      ([n]) => n.toLowerCase() === name,
    )
    return hit?.[1]
  }
  for (const [n, v] of Object.entries(headers as Record<string, string | string[] | undefined>))
    if (n.toLowerCase() === name) return Array.isArray(v) ? v[0] : v
  return undefined
}

/** Splits a request target into raw path and raw query without normalizing or re-encoding either. */
export function splitTarget(url: string): { path: string; query: string } {
  let target = url
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target)
  if (scheme !== null) target = target.slice(scheme[0].length)
  const hash = target.indexOf('#')
  if (hash !== -1) target = target.slice(0, hash)
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  return { path: path === '' ? '/' : path, query: q === -1 ? '' : target.slice(q + 1) }
}

export function toSigV4Request(request: HttpRequestInput): SigV4Request {
  const { path, query } = splitTarget(request.url)
  return {
    method: request.method,
    path,
    query,
    headers: headerPairs(request.headers),
    body: typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body,
  }
}
