/**
 * @module tokens/remote
 * Fetches another issuer's keys the way AWS does: `<iss>/.well-known/openid-configuration`, then its
 * `jwks_uri`, over https (per-issuer CA bundle for private issuers), every hop checked against the network
 * policy at connect time (a guarded DNS lookup, so a name cannot rebind to a refused address), bounded in
 * size and time, cached per `Cache-Control` within bounds, refetched on an unknown `kid` at a limited rate.
 */
import { lookup as dnsLookup } from 'node:dns'
import type { LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import type { JSONWebKeySet } from 'jose'
import { TokenError } from './errors.ts'
import { isLoopbackHost, refusal } from './netguard.ts'
import type { NetPolicy } from './netguard.ts'

export interface HttpResponse {
  status: number
  cacheControl: string | undefined
  /** The Content-Type header (what `cluster verify` checks); absent when the server sent none. */
  contentType?: string | undefined
  body: string
}

/** Makes one GET; rejects with ISSUER_FORBIDDEN / ISSUER_UNREACHABLE. */
export type Transport = (
  url: URL,
  options: { caBundle?: string; timeoutMs: number; maxBytes: number },
) => Promise<HttpResponse>

export interface RemoteOptions extends NetPolicy {
  /** Injected HTTP client (tests); default node:https with a guarded lookup. */
  fetch?: typeof fetch
  /** Bytes, per document (default 256 KiB). */
  maxBytes?: number
  /** Milliseconds per document (default 5000, as AWS's limit). */
  timeoutMs?: number
  /** Cache bounds in seconds (default 60..86400; 3600 without Cache-Control). */
  minTtlSeconds?: number
  maxTtlSeconds?: number
  defaultTtlSeconds?: number
  /** Minimum seconds between refetches triggered by an unknown kid (default 30). */
  refetchIntervalSeconds?: number
  /** Most keys used from one JWKS (AWS uses at most 100). */
  maxKeys?: number
  /** How long past its expiry a cached JWKS still serves while the issuer is unreachable (default 86400). */
  maxStaleSeconds?: number
  now: () => Date
}

function forbidden(what: string): TokenError {
  return new TokenError('ISSUER_FORBIDDEN', what)
}
function unreachable(what: string, cause?: unknown): TokenError {
  return new TokenError('ISSUER_UNREACHABLE', what, cause === undefined ? {} : { cause })
}

/** Checks scheme and literal host before any connection is made. */
export function checkUrl(raw: string, policy: NetPolicy): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw forbidden('issuer endpoint is not a valid URL')
  }
  if (url.username !== '' || url.password !== '')
    throw forbidden('issuer endpoint URL carries credentials')
  if (url.protocol === 'http:') {
    if (!(policy.allowHttpLoopback && isLoopbackHost(url.hostname))) {
      throw forbidden(`issuer endpoint \`${url.origin}\` must use https`)
    }
  } else if (url.protocol !== 'https:') {
    throw forbidden(`issuer endpoint scheme \`${url.protocol}\` is not allowed`)
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) {
    const why = refusal(host, policy)
    if (why !== undefined) throw forbidden(`issuer endpoint \`${url.host}\` is ${why}`)
  } else if (host.toLowerCase() === 'localhost') {
    const why = refusal('127.0.0.1', policy)
    if (why !== undefined) throw forbidden(`issuer endpoint \`${url.host}\` is ${why}`)
  }
  return url
}

function guardedLookup(policy: NetPolicy) {
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err !== null) return callback(err, [])
      for (const a of addresses) {
        const why = refusal(a.address, policy)
        if (why !== undefined) {
          const e = Object.assign(new Error(`${hostname} resolves to ${why}`), {
            code: 'PODTRUST_FORBIDDEN',
          })
          return callback(e, [])
        }
      }
      if (options.all === true) return callback(null, addresses)
      const first = addresses[0]
      if (first === undefined)
        return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), [])
      callback(null, first.address, first.family)
    })
  }
}

/** The default transport: node:http(s) with the guarded lookup, a CA bundle, and size/time bounds. */
export function nodeTransport(policy: NetPolicy): Transport {
  return (url, options) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http
      const req = mod.request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          lookup: guardedLookup(policy) as never,
          timeout: options.timeoutMs,
          ...(options.caBundle === undefined ? {} : { ca: options.caBundle }),
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > options.maxBytes) {
              req.destroy()
              reject(
                unreachable(
                  `issuer document at \`${url.origin}\` exceeds ${options.maxBytes} bytes`,
                ),
              )
              return
            }
            chunks.push(chunk)
          })
          res.on('end', () => {
            const cc = res.headers['cache-control']
            resolve({
              status: res.statusCode ?? 0,
              cacheControl: Array.isArray(cc) ? cc.join(',') : cc,
              contentType: res.headers['content-type'],
              body: Buffer.concat(chunks).toString('utf8'),
            })
          })
          res.on('error', (e) => reject(unreachable(`cannot read from \`${url.origin}\``, e)))
        },
      )
      const timer = setTimeout(() => {
        req.destroy()
        reject(unreachable(`issuer endpoint \`${url.origin}\` timed out`))
      }, options.timeoutMs)
      req.on('close', () => clearTimeout(timer))
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        if (e.code === 'PODTRUST_FORBIDDEN')
          reject(forbidden(`issuer endpoint \`${url.host}\`: ${e.message}`))
        else reject(unreachable(`cannot reach issuer endpoint \`${url.origin}\``, e))
      })
      req.end()
    })
}

/** Adapts an injected fetch: hostnames are resolved and checked first (best effort; tests only). */
export function fetchTransport(f: typeof fetch, policy: NetPolicy): Transport {
  return async (url, options) => {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) === 0 && host !== 'localhost') {
      await new Promise<void>((resolve, reject) =>
        guardedLookup(policy)(host, { all: true }, (err) =>
          err === null
            ? resolve()
            : reject(
                (err as NodeJS.ErrnoException).code === 'PODTRUST_FORBIDDEN'
                  ? forbidden(`issuer endpoint \`${url.host}\`: ${err.message}`)
                  : unreachable(`cannot resolve \`${url.host}\``, err),
              ),
        ),
      )
    }
    let res: Response
    try {
      res = await f(url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: 'error' })
    } catch (e) {
      throw unreachable(`cannot reach issuer endpoint \`${url.origin}\``, e)
    }
    const reader = res.body?.getReader()
    const chunks: Uint8Array[] = []
    let size = 0
    if (reader !== undefined) {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        size += value.byteLength
        if (size > options.maxBytes) {
          await reader.cancel()
          throw unreachable(
            `issuer document at \`${url.origin}\` exceeds ${options.maxBytes} bytes`,
          )
        }
        chunks.push(value)
      }
    }
    return {
      status: res.status,
      cacheControl: res.headers.get('cache-control') ?? undefined,
      contentType: res.headers.get('content-type') ?? undefined,
      body: Buffer.concat(chunks).toString('utf8'),
    }
  }
}

interface CacheEntry {
  jwks: JSONWebKeySet
  expiresAt: number
  fetchedAt: number
}

export interface RemoteKeySource {
  /** The issuer's JWKS, from cache when fresh. `refresh` asks for a refetch (rate-limited). */
  getKeys(issuer: string, options: { caBundle?: string; refresh?: boolean }): Promise<JSONWebKeySet>
}

export function createRemoteKeySource(options: RemoteOptions): RemoteKeySource {
  const policy: NetPolicy = {
    allowHttpLoopback: options.allowHttpLoopback,
    allowPrivateNetworks: options.allowPrivateNetworks,
  }
  const transport =
    options.fetch === undefined ? nodeTransport(policy) : fetchTransport(options.fetch, policy)
  const limits = { timeoutMs: options.timeoutMs ?? 5000, maxBytes: options.maxBytes ?? 256 * 1024 }
  const minTtl = options.minTtlSeconds ?? 60
  const maxTtl = options.maxTtlSeconds ?? 86_400
  const defTtl = options.defaultTtlSeconds ?? 3600
  const refetchMs = (options.refetchIntervalSeconds ?? 30) * 1000
  const maxKeys = options.maxKeys ?? 100
  const maxStaleMs = (options.maxStaleSeconds ?? 86_400) * 1000
  const cache = new Map<string, CacheEntry>()
  const inflight = new Map<string, Promise<CacheEntry>>()
  /** When an unknown kid last forced a refetch, per issuer (the rate limit applies to those only). */
  const lastRefresh = new Map<string, number>()

  const ttl = (cacheControl: string | undefined): number => {
    const m = /max-age=(\d+)/i.exec(cacheControl ?? '')
    const declared =
      m?.[1] !== undefined
        ? Number(m[1])
        : /no-cache|no-store/i.test(cacheControl ?? '')
          ? 0
          : defTtl
    // A no-cache issuer would otherwise be fetched on every request (AWS saw re-download storms).
    return Math.min(maxTtl, Math.max(minTtl, declared))
  }

  const getJson = async (
    raw: string,
    caBundle: string | undefined,
  ): Promise<{ doc: unknown; cacheControl: string | undefined }> => {
    const url = checkUrl(raw, policy)
    const res = await transport(url, { ...limits, ...(caBundle === undefined ? {} : { caBundle }) })
    if (res.status !== 200)
      throw unreachable(`issuer endpoint \`${url.origin}${url.pathname}\` answered ${res.status}`)
    try {
      return { doc: JSON.parse(res.body) as unknown, cacheControl: res.cacheControl }
    } catch (e) {
      throw unreachable(`issuer endpoint \`${url.origin}${url.pathname}\` did not return JSON`, e)
    }
  }

  const load = async (issuer: string, caBundle: string | undefined): Promise<CacheEntry> => {
    const { doc } = await getJson(
      `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
      caBundle,
    )
    const jwksUri =
      typeof doc === 'object' && doc !== null
        ? (doc as Record<string, unknown>)['jwks_uri']
        : undefined
    if (typeof jwksUri !== 'string')
      throw unreachable('issuer discovery document has no `jwks_uri`')
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for, so one
    // issuer's discovery cannot vouch for another's keys. A trailing slash is tolerated either way.
    const declared = (doc as Record<string, unknown>)['issuer']
    if (
      typeof declared !== 'string' ||
      declared.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')
    ) {
      throw forbidden(
        `issuer discovery document names issuer \`${typeof declared === 'string' ? declared : ''}\`, not \`${issuer}\``,
      )
    }
    const { doc: jwksDoc, cacheControl } = await getJson(jwksUri, caBundle)
    const keys =
      typeof jwksDoc === 'object' && jwksDoc !== null
        ? (jwksDoc as Record<string, unknown>)['keys']
        : undefined
    if (!Array.isArray(keys)) throw unreachable('issuer JWKS has no `keys` array')
    const usable = keys.filter(
      (k): k is Record<string, unknown> =>
        typeof k === 'object' &&
        k !== null &&
        typeof (k as Record<string, unknown>)['kty'] === 'string',
    )
    const now = options.now().getTime()
    return {
      jwks: { keys: usable.slice(0, maxKeys) as JSONWebKeySet['keys'] },
      fetchedAt: now,
      expiresAt: now + ttl(cacheControl) * 1000,
    }
  }

  const fetchOnce = (issuer: string, caBundle: string | undefined): Promise<CacheEntry> => {
    let p = inflight.get(issuer)
    if (p === undefined) {
      p = load(issuer, caBundle).finally(() => inflight.delete(issuer))
      inflight.set(issuer, p)
    }
    return p
  }

  return {
    async getKeys(issuer, opts) {
      const now = options.now().getTime()
      const hit = cache.get(issuer)
      const fresh = hit !== undefined && hit.expiresAt > now
      const refetchAllowed = now - (lastRefresh.get(issuer) ?? -Infinity) >= refetchMs
      if (fresh && !(opts.refresh === true && refetchAllowed)) return hit.jwks
      if (fresh) lastRefresh.set(issuer, now)
      try {
        const entry = await fetchOnce(issuer, opts.caBundle)
        cache.set(issuer, entry)
        return entry.jwks
      } catch (err) {
        // A stale copy beats an outage for keys that were valid minutes ago; a refused URL never falls back.
        if (
          hit !== undefined &&
          err instanceof TokenError &&
          err.code === 'ISSUER_UNREACHABLE' &&
          now - hit.expiresAt <= maxStaleMs
        )
          return hit.jwks
        throw err
      }
    },
  }
}
