/**
 * @module tokens/netguard
 * Which addresses podtrust may fetch an issuer's discovery document and JWKS from. A relying party that
 * fetches URLs named in tokens is an SSRF vector: loopback, private, link-local (cloud metadata at
 * 169.254.169.254) and other special ranges are refused unless the operator allows them.
 */
import { isIP } from 'node:net'

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'forbidden'

export interface NetPolicy {
  /** Loopback addresses (dev: a podtrust or kind cluster on this machine); also enables plain http there. */
  allowHttpLoopback: boolean
  /** RFC 1918 / ULA / CGNAT / link-local addresses, and loopback over https. */
  allowPrivateNetworks: boolean
}

function v4(addr: string): number[] | undefined {
  const parts = addr.split('.').map(Number)
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)
    ? parts
    : undefined
}

export function classifyAddress(address: string): AddressClass {
  let addr = address.toLowerCase()
  if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1)
  // IPv4-mapped (::ffff:a.b.c.d, which URL parsing rewrites to ::ffff:XXXX:YYYY) and NAT64 (64:ff9b::/96)
  // addresses reach the embedded IPv4 address: classify that.
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(addr)
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(addr)
  if (dotted?.[1] !== undefined) addr = dotted[1]
  else if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = parseInt(hex[1], 16)
    const lo = parseInt(hex[2], 16)
    addr = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  const family = isIP(addr)
  if (family === 4) {
    const [a, b] = v4(addr) ?? [0, 0]
    if (a === 127) return 'loopback'
    if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168))
      return 'private'
    if (a === 100 && b! >= 64 && b! <= 127) return 'private'
    if (a === 169 && b === 254) return 'link-local'
    if (a === 0 || a! >= 224) return 'forbidden'
    return 'public'
  }
  if (family === 6) {
    if (addr === '::1') return 'loopback'
    if (addr === '::') return 'forbidden'
    if (/^f[cd]/.test(addr)) return 'private'
    if (/^fe[89ab]/.test(addr)) return 'link-local'
    if (/^ff/.test(addr)) return 'forbidden'
    return 'public'
  }
  return 'forbidden'
}

/** Undefined when `address` may be contacted; else the reason it may not. */
export function refusal(address: string, policy: NetPolicy): string | undefined {
  const cls = classifyAddress(address)
  switch (cls) {
    case 'public':
      return undefined
    case 'loopback':
      return policy.allowHttpLoopback || policy.allowPrivateNetworks
        ? undefined
        : 'a loopback address'
    case 'private':
    case 'link-local':
      return policy.allowPrivateNetworks ? undefined : `a ${cls} address`
    case 'forbidden':
      return 'a reserved address'
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || classifyAddress(h) === 'loopback'
}
