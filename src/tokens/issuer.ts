/**
 * @module tokens/issuer
 * Named issuers persisted in the store: `default` and `cluster:NAME` (one per registered cluster). They exist
 * without a running server, so `podtrust token` and `podtrust cluster add` work offline, and stay stable
 * across restarts. The default issuer's URL is https (IAM accepts only https provider URLs): `--issuer-url`
 * or `https://127.0.0.1:<https port>`; a named issuer without its own URL lives at `<default>/issuers/NAME`.
 */
import { insertKeyIfMissing } from '../keys/store.ts'
import type { Queryable } from '../store/db.ts'
import { IssuerError } from './errors.ts'

export const DEFAULT_ISSUER = 'default'
export const DEFAULT_HTTPS_PORT = 7443
export const DEFAULT_ISSUER_URL = `https://127.0.0.1:${DEFAULT_HTTPS_PORT}`
/** Path of the JWKS below an issuer URL, as kube-apiserver serves it. */
export const JWKS_PATH = '/openid/v1/jwks'
export const DISCOVERY_PATH = '/.well-known/openid-configuration'

export interface Issuer {
  name: string
  url: string
}

interface IssuerRow {
  name: string
  url: string | null
  created_at: number
}

export function validateIssuerName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(name)) {
    throw new IssuerError('ISSUER_INVALID', `invalid issuer name \`${name}\``, {
      hint: "use 'default' or 'cluster:NAME' (letters, digits, '.', '_', '-', ':')",
    })
  }
}

/** An issuer URL: https (or http for loopback development), no query, no fragment, no trailing slash. */
export function validateIssuerUrl(url: string): string {
  // The text itself, before URL parsing normalises it: `https:h`, a stray space or a bare `?`/`#` would be
  // stored as written and never match a token's `iss`.
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s?#]+$/i.test(url)) {
    throw new IssuerError('ISSUER_INVALID', `invalid issuer URL \`${url}\``, {
      hint: 'an issuer URL looks like https://HOST[:PORT][/PATH], without query, fragment or spaces',
    })
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new IssuerError('ISSUER_INVALID', `invalid issuer URL \`${url}\``, {
      hint: 'an issuer URL looks like https://HOST[:PORT][/PATH]',
    })
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(parsed.hostname)
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new IssuerError('ISSUER_INVALID', `issuer URL \`${url}\` must use https`, {
      hint: 'plain http is accepted for loopback development only (127.0.0.1, [::1], localhost)',
    })
  }
  if (
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== '' ||
    parsed.password !== ''
  ) {
    throw new IssuerError(
      'ISSUER_INVALID',
      `issuer URL \`${url}\` must not carry a query, fragment or userinfo`,
    )
  }
  return url.replace(/\/+$/, '')
}

async function defaultUrl(db: Queryable): Promise<string> {
  const row = await db.get<IssuerRow>('SELECT * FROM issuers WHERE name = ?', [DEFAULT_ISSUER])
  return row?.url ?? DEFAULT_ISSUER_URL
}

function urlOf(row: IssuerRow, base: string): string {
  if (row.url !== null) return row.url
  return row.name === DEFAULT_ISSUER ? base : `${base}/issuers/${row.name}`
}

/**
 * Creates the issuer when missing; with `url`, sets its URL (the server passes its issuer URL on each start).
 *
 * @example await ensureIssuer(db, 'cluster:prod') // { name: 'cluster:prod', url: 'https://127.0.0.1:7443/issuers/cluster:prod' }
 */
export async function ensureIssuer(
  db: Queryable,
  name: string,
  options: { url?: string; now?: Date } = {},
): Promise<Issuer> {
  validateIssuerName(name)
  const url = options.url === undefined ? undefined : validateIssuerUrl(options.url)
  const created = (options.now ?? new Date()).getTime()
  if (url === undefined) {
    await db.run(
      'INSERT INTO issuers (name, url, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      [name, name === DEFAULT_ISSUER ? DEFAULT_ISSUER_URL : null, created],
    )
  } else {
    await db.run(
      'INSERT INTO issuers (name, url, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET url = excluded.url',
      [name, url, created],
    )
  }
  // A served issuer always publishes a key, so relying parties can fetch its JWKS before the first token.
  await insertKeyIfMissing(db, name, options.now ?? new Date())
  const issuer = await getIssuer(db, name)
  // INVARIANT: the row was just written.
  if (issuer === undefined) throw new IssuerError('ISSUER_NOT_FOUND', `issuer \`${name}\` vanished`)
  return issuer
}

export async function getIssuer(db: Queryable, name: string): Promise<Issuer | undefined> {
  const row = await db.get<IssuerRow>('SELECT * FROM issuers WHERE name = ?', [name])
  if (row === undefined) return undefined
  return { name: row.name, url: urlOf(row, await defaultUrl(db)) }
}

export async function listIssuers(db: Queryable): Promise<Issuer[]> {
  const rows = await db.all<IssuerRow>('SELECT * FROM issuers ORDER BY name')
  const base = await defaultUrl(db)
  return rows.map((r) => ({ name: r.name, url: urlOf(r, base) }))
}

/** The issuer this podtrust serves at exactly `url` (a trailing slash is ignored), if any. */
export async function getIssuerByUrl(db: Queryable, url: string): Promise<Issuer | undefined> {
  const want = url.replace(/\/+$/, '')
  return (await listIssuers(db)).find((i) => i.url === want)
}

export async function deleteIssuer(db: Queryable, name: string): Promise<boolean> {
  if (name === DEFAULT_ISSUER) return false
  const res = await db.run('DELETE FROM issuers WHERE name = ?', [name])
  await db.run('DELETE FROM signing_keys WHERE issuer = ?', [name])
  return res.changes > 0
}

/** The path part of an issuer URL, without trailing slash (`''` for a bare host). */
export function issuerPath(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, '')
}

/** The OpenID discovery document, as kube-apiserver serves it for service-account issuers. */
export function discoveryDocument(issuer: Issuer): Record<string, unknown> {
  return {
    issuer: issuer.url,
    jwks_uri: `${issuer.url}${JWKS_PATH}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
  }
}
