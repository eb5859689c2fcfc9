/**
 * @module aws/iam/ids
 * IAM unique ids and ARNs, pure (randomness injected). New-generation AWS ids encode the account: the first
 * 40 bits after the 4-char prefix hold `2^39 + floor(account / 2)`, the next bit `account % 2`, the rest is
 * random; base32 alphabet `A–Z2–7` (the account is what STS GetAccessKeyInfo reads from an id:
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html; verified against
 * `ASIAY34FZKBOKMUTVV7A`).
 *
 * @example newUniqueId('AROA', '111122223333', randomBytes) // 'AROA…' (21 chars)
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export type RandomBytes = (size: number) => Uint8Array

/** Id prefixes AWS uses for the entities this module creates. */
export const ID_PREFIX = {
  role: 'AROA',
  user: 'AIDA',
  policy: 'ANPA',
  accessKey: 'AKIA',
  group: 'AGPA',
  instanceProfile: 'AIPA',
} as const

/**
 * An account-encoding id: `prefix` + `bodyChars` base32 chars (17 for AROA/AIDA/ANPA ids, 16 for access
 * key ids, AWS's lengths).
 */
export function newUniqueId(
  prefix: string,
  accountId: string,
  randomBytes: RandomBytes,
  bodyChars = 17,
): string {
  const account = BigInt(/^\d{12}$/.test(accountId) ? accountId : '0')
  const bits: number[] = []
  const head = (1n << 39n) + account / 2n
  for (let i = 39; i >= 0; i -= 1) bits.push(Number((head >> BigInt(i)) & 1n))
  bits.push(Number(account % 2n))
  const total = bodyChars * 5
  const rnd = randomBytes(Math.ceil((total - bits.length) / 8) + 1)
  let k = 0
  while (bits.length < total) {
    const byte = rnd[k >> 3] ?? 0
    bits.push((byte >> (7 - (k & 7))) & 1)
    k += 1
  }
  let out = prefix
  for (let i = 0; i < total; i += 5) {
    let v = 0
    for (let j = 0; j < 5; j += 1) v = (v << 1) | (bits[i + j] ?? 0)
    out += BASE32[v]
  }
  return out
}

/** The account encoded in a new-generation id, or undefined for old-style ids (5th char < `Q`). */
export function accountFromId(id: string): string | undefined {
  const body = id.slice(4, 13)
  if (body.length < 9) return undefined
  let n = 0n
  for (const ch of body) {
    const v = BASE32.indexOf(ch)
    if (v < 0) return undefined
    n = (n << 5n) | BigInt(v)
  }
  // 45 bits read: the top 40 are 2^39 + floor(account/2), the 41st is account % 2.
  const head = n >> 5n
  if (head < 1n << 39n) return undefined
  const low = (n >> 4n) & 1n
  const account = (head - (1n << 39n)) * 2n + low
  return account.toString().padStart(12, '0')
}

/** A 40-char secret access key (AWS's alphabet: base64 without padding). */
export function newSecretAccessKey(randomBytes: RandomBytes): string {
  return Buffer.from(randomBytes(30)).toString('base64').replace(/=+$/, '').slice(0, 40)
}

/** `/a/b/` + `name` → `a/b/name` as it appears after `role/` in an ARN. */
export function arnPathAndName(path: string, name: string): string {
  return `${path.replace(/^\//, '')}${name}`
}

export const roleArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:role/${arnPathAndName(path, name)}`
export const userArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:user/${arnPathAndName(path, name)}`
export const policyArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:policy/${arnPathAndName(path, name)}`
export const groupArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:group/${arnPathAndName(path, name)}`
export const instanceProfileArn = (accountId: string, path: string, name: string): string =>
  `arn:aws:iam::${accountId}:instance-profile/${arnPathAndName(path, name)}`
export const oidcProviderArn = (accountId: string, urlWithoutScheme: string): string =>
  `arn:aws:iam::${accountId}:oidc-provider/${urlWithoutScheme}`
