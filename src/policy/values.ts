/**
 * @module policy/values
 * Parsers for typed condition values: numbers, dates, IP addresses/CIDRs, ARNs.
 */

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A decimal or integer; anything else (including `10abc`, which iam-simulate accepts) is not a number. */
export function parseNumber(s: string): number | undefined {
  const t = s.trim()
  if (!NUMBER.test(t)) return undefined
  const n = Number(t)
  return Number.isFinite(n) ? n : undefined
}

const ISO_DATE = /^[+-]?\d{4,}-\d{2}(?:-\d{2})?(?:[Tt ].*)?$/
const EPOCH = /^-?\d+$/
const LOCAL_TIME = /[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?$/

/**
 * A date as epoch milliseconds. IAM accepts the W3C ISO 8601 profile or epoch seconds. Integers of 12 or more
 * digits are read as milliseconds (1e11 s is the year 5138), which is what the corpus' request values use.
 */
export function parseDate(s: string): number | undefined {
  const t = s.trim()
  if (EPOCH.test(t)) {
    const n = Number(t)
    if (!Number.isSafeInteger(n)) return undefined
    return Math.abs(n) >= 1e11 ? n : n * 1000
  }
  if (!ISO_DATE.test(t)) return undefined
  // A time without a zone designator is UTC, as in AWS ("aws:CurrentTime … in UTC"); `Date.parse` would read it as
  // the host's local time, so the answer would depend on the machine's TZ.
  const iso = t.length === 7 ? `${t}-01` : LOCAL_TIME.test(t) ? `${t}Z` : t
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? undefined : ms
}

export interface IpValue {
  v6: boolean
  bytes: Uint8Array
}
export interface Cidr extends IpValue {
  prefix: number
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!
    if (!/^\d{1,3}$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    out[i] = n
  }
  return out
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined
  const dbl = s.indexOf('::')
  if (dbl !== s.lastIndexOf('::')) return undefined
  let head: string[]
  let tail: string[]
  if (dbl >= 0) {
    head = s.slice(0, dbl) === '' ? [] : s.slice(0, dbl).split(':')
    tail = s.slice(dbl + 2) === '' ? [] : s.slice(dbl + 2).split(':')
  } else {
    head = s.split(':')
    tail = []
  }
  const words: number[] = []
  const pushGroups = (groups: string[], into: number[]): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!
      if (g.includes('.')) {
        if (i !== groups.length - 1) return false
        const v4 = parseV4(g)
        if (v4 === undefined) return false
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false
        into.push(parseInt(g, 16))
      }
    }
    return true
  }
  const tailWords: number[] = []
  if (!pushGroups(head, words) || !pushGroups(tail, tailWords)) return undefined
  if (dbl >= 0) {
    if (words.length + tailWords.length > 7) return undefined
    while (words.length + tailWords.length < 8) words.push(0)
  }
  words.push(...tailWords)
  if (words.length !== 8) return undefined
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8
    out[i * 2 + 1] = words[i]! & 0xff
  }
  return out
}

export function parseIp(s: string): IpValue | undefined {
  const t = s.trim()
  if (t.includes(':')) {
    const b = parseV6(t)
    return b === undefined ? undefined : { v6: true, bytes: b }
  }
  const b = parseV4(t)
  return b === undefined ? undefined : { v6: false, bytes: b }
}

/** A CIDR block; a bare address is a /32 (IPv4) or /128 (IPv6) block. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/')
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash))
  if (ip === undefined) return undefined
  const max = ip.v6 ? 128 : 32
  if (slash < 0) return { ...ip, prefix: max }
  const p = s.slice(slash + 1).trim()
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined
  return { ...ip, prefix: Number(p) }
}

export function cidrContains(c: Cidr, ip: IpValue): boolean {
  if (c.v6 !== ip.v6) return false
  let bits = c.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((c.bytes[i]! & mask) !== (ip.bytes[i]! & mask)) return false
  }
  return true
}

/** Splits on the first five colons: `arn:partition:service:region:account:resource`. */
export function splitArn(s: string): string[] | undefined {
  const out: string[] = []
  let start = 0
  for (let i = 0; i < 5; i++) {
    const c = s.indexOf(':', start)
    if (c < 0) return undefined
    out.push(s.slice(start, c))
    start = c + 1
  }
  out.push(s.slice(start))
  return out
}
