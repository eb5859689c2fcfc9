/**
 * @module aws/iam/passwords
 * Console passwords of login profiles. podtrust has no console: it keeps only a salted scrypt hash
 * (`scrypt$<salt b64>$<hash b64>`), computed off the event loop; the password itself is never stored or logged.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { rules } from './validate.ts'

/** botocore iam model, passwordType: 1–128 of `[\u0009\u000A\u000D\u0020-\u00FF]+`, sensitive. */
export const passwordRules = [
  rules.length(1, 128),
  // eslint-disable-next-line no-control-regex -- TAB, LF and CR are the characters IAM's pattern allows
  rules.pattern(/^[\u0009\u000A\u000D\u0020-\u00FF]+$/, '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+'),
]

/** The stored form; a config file may carry it (what `podtrust export` writes). */
export const PASSWORD_HASH_PATTERN = /^scrypt\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
) => Promise<Buffer>

/** scrypt in libuv's thread pool: a hash costs tens of milliseconds. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(password, salt, 32)
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** Whether `password` is the one `stored` was made from (constant-time comparison). */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64')
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length)
  return expected.length > 0 && timingSafeEqual(actual, expected)
}
