/**
 * @module identity/credentials
 * Credentials podtrust issues:
 * - access key ids `ASIA…` (temporary) / `AKIA…` (long-term) of 20 chars that encode the account as AWS does
 *   (the first 40 bits after the prefix hold `2^39 + floor(account/2)`, the next bit `account % 2`);
 * - 40-char secret access keys;
 * - self-contained session tokens: the session (secret, identity, expiry, tags, policies) sealed with
 *   AES-256-GCM under a keyring key named in the token, so any replica opens any token without a lookup.
 *   The keyring comes through the `SessionKeyring` port (src/identity/ports.ts); its storage and rotation
 *   are src/keys/session-keys.ts. Pure: no store, no clock, randomness injected.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type { Keyring } from '../keys/session-keys.ts'
import { PodtrustError } from '../errors.ts'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export type RandomBytes = (size: number) => Uint8Array

export type CredentialErrorCode = 'TOKEN_INVALID' | 'KEY_NOT_FOUND' | 'ACCOUNT_INVALID'

export class CredentialError extends PodtrustError<CredentialErrorCode> {}

/** `prefix` + `bodyChars` base32 chars encoding `accountId` (16 for access key ids, 17 for AROA/AIDA ids). */
export function encodeAccountId(
  prefix: string,
  accountId: string,
  randomBytes: RandomBytes,
  bodyChars = 16,
): string {
  if (!/^\d{12}$/.test(accountId))
    throw new CredentialError('ACCOUNT_INVALID', `account id must be 12 digits`)
  const account = BigInt(accountId)
  let bits = ((1n << 39n) + account / 2n) << 1n
  bits |= account % 2n
  let count = 41
  const total = bodyChars * 5
  const random = randomBytes(Math.ceil((total - count) / 8))
  for (let i = 0; count < total; i++, count++) {
    const byte = random[i >> 3] ?? 0
    bits = (bits << 1n) | BigInt((byte >> (7 - (i & 7))) & 1)
  }
  let out = ''
  for (let i = total - 5; i >= 0; i -= 5) out += BASE32[Number((bits >> BigInt(i)) & 31n)]
  return prefix + out
}

/** The account encoded in a new-generation key id; undefined for old-style ids (5th char < `Q`) or junk. */
export function decodeAccountId(id: string): string | undefined {
  const body = id.slice(4, 14)
  if (body.length < 10) return undefined
  let n = 0n
  for (const ch of body) {
    const v = BASE32.indexOf(ch)
    if (v === -1) return undefined
    n = (n << 5n) | BigInt(v)
  }
  // 50 bits; the first 48 are AWS's 6-byte `z`; account = (z & 0x7fffffffff80) >> 7.
  const z = n >> 2n
  if (z >> 47n === 0n) return undefined
  const account = (z & 0x7fffffffff80n) >> 7n
  if (account > 999_999_999_999n) return undefined
  return account.toString().padStart(12, '0')
}

export function newAccessKeyId(
  kind: 'temporary' | 'long-term',
  accountId: string,
  randomBytes: RandomBytes,
): string {
  return encodeAccountId(kind === 'temporary' ? 'ASIA' : 'AKIA', accountId, randomBytes)
}

/** 40 chars of base64 (AWS's secret access key shape). */
export function newSecretAccessKey(randomBytes: RandomBytes): string {
  return Buffer.from(randomBytes(30)).toString('base64')
}

// ---- keyring ----------------------------------------------------------------------------------------------

// The keyring's storage is infrastructure (src/keys/session-keys.ts); sealing and opening are here.
export type { Keyring, KeyringKey } from '../keys/session-keys.ts'

// ---- sealing ------------------------------------------------------------------------------------------------

/**
 * Token formats: a version prefix, the key id (12 hex), then base64 of IV ‖ AES-256-GCM(plain) ‖ tag, with
 * prefix + kid as additional data.
 * - `PT2` (sealed now): plain = one flag byte (0 raw JSON, 1 deflate-raw JSON) ‖ data. Small payloads stay
 *   raw: deflating a typical 500-byte session costs ~35 µs for ~200 bytes saved.
 * - `PT1` (opened only, for sessions sealed before): plain = deflate-raw JSON.
 */
const TOKEN_PREFIX = 'PT2'
const LEGACY_PREFIX = 'PT1'
const KID_LENGTH = 12
/** JSON above this many bytes is deflated before sealing (session policies, many tags). */
const DEFLATE_ABOVE_BYTES = 1024
const RAW = 0
const DEFLATED = 1

/** Seals `payload` (JSON) under the active key. The result is header-safe base64 text. */
export function sealToken(keyring: Keyring, payload: unknown, randomBytes: RandomBytes): string {
  const key = keyring.active
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv)
  cipher.setAAD(Buffer.from(TOKEN_PREFIX + key.kid))
  const json = Buffer.from(JSON.stringify(payload), 'utf8')
  const deflate = json.length > DEFLATE_ABOVE_BYTES
  const data = deflate ? deflateRawSync(json) : json
  const body = Buffer.concat([
    cipher.update(Buffer.of(deflate ? DEFLATED : RAW)),
    cipher.update(data),
    cipher.final(),
  ])
  return (
    TOKEN_PREFIX +
    key.kid +
    Buffer.concat([Buffer.from(iv), body, cipher.getAuthTag()]).toString('base64')
  )
}

function prefixOf(token: string): typeof TOKEN_PREFIX | typeof LEGACY_PREFIX | undefined {
  if (token.startsWith(TOKEN_PREFIX)) return TOKEN_PREFIX
  if (token.startsWith(LEGACY_PREFIX)) return LEGACY_PREFIX
  return undefined
}

/** The key id a token names, or undefined when it is not one of ours. */
export function tokenKid(token: string): string | undefined {
  const prefix = prefixOf(token)
  if (prefix === undefined) return undefined
  const kid = token.slice(prefix.length, prefix.length + KID_LENGTH)
  return /^[0-9a-f]{12}$/.test(kid) ? kid : undefined
}

/** Opens a sealed token; throws `CredentialError` for anything forged, truncated or sealed by an unknown key. */
export function openToken(keyring: Keyring, token: string): unknown {
  const kid = tokenKid(token)
  const prefix = prefixOf(token)
  if (kid === undefined || prefix === undefined)
    throw new CredentialError('TOKEN_INVALID', 'not a podtrust session token')
  const key = keyring.byKid.get(kid)
  if (key === undefined) throw new CredentialError('KEY_NOT_FOUND', 'session token key unknown')
  const raw = Buffer.from(token.slice(prefix.length + KID_LENGTH), 'base64')
  if (raw.length < 12 + 16 + 1)
    throw new CredentialError('TOKEN_INVALID', 'session token truncated')
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.secret, raw.subarray(0, 12))
    decipher.setAAD(Buffer.from(prefix + kid))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    const plain = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ])
    if (prefix === LEGACY_PREFIX)
      return JSON.parse(inflateRawSync(plain).toString('utf8')) as unknown
    const flag = plain[0]
    const data = plain.subarray(1)
    if (flag === RAW) return JSON.parse(data.toString('utf8')) as unknown
    if (flag === DEFLATED) return JSON.parse(inflateRawSync(data).toString('utf8')) as unknown
    throw new Error(`unknown payload flag ${String(flag)}`)
  } catch (err) {
    throw new CredentialError('TOKEN_INVALID', 'session token does not open', { cause: err })
  }
}
