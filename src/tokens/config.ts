/**
 * @module tokens/config
 * The `issuers` config section: the service-account issuers this podtrust serves (`default`, `cluster:NAME`)
 * and, optionally, their URLs.
 *
 * ```yaml
 * issuers:
 *   - name: default
 *     url: https://oidc.example.test
 * ```
 */
import type { ConfigSection } from '../config/section.ts'
import { object, list, optional, string, join } from '../config/schema.ts'
import { invalidAt } from '../config/errors.ts'
import {
  ensureIssuer,
  listIssuers,
  validateIssuerName,
  validateIssuerUrl,
  DEFAULT_ISSUER_URL,
} from './issuer.ts'

export interface IssuerConfig {
  name: string
  url?: string
}

export const issuersSection: ConfigSection<IssuerConfig[]> = {
  key: 'issuers',
  parse(value, path) {
    const seen = new Set<string>()
    return list(value, path, { max: 1000 }).map((item, i) => {
      const p = join(path, i)
      const o = object(item, p, { required: ['name'], optional: ['url'] })
      const name = string(o['name'], join(p, 'name'))
      try {
        validateIssuerName(name)
      } catch (e) {
        throw invalidAt(join(p, 'name'), e instanceof Error ? e.message : String(e))
      }
      if (seen.has(name)) throw invalidAt(join(p, 'name'), `duplicate issuer \`${name}\``)
      seen.add(name)
      const url = optional(o['url'], (v) => string(v, join(p, 'url')))
      if (url !== undefined) {
        try {
          validateIssuerUrl(url)
        } catch (e) {
          throw invalidAt(join(p, 'url'), e instanceof Error ? e.message : String(e))
        }
      }
      return url === undefined ? { name } : { name, url }
    })
  },
  async apply(tx, value, env) {
    for (const issuer of value) {
      await ensureIssuer(tx, issuer.name, {
        ...(issuer.url === undefined ? {} : { url: issuer.url }),
        now: env.now,
      })
    }
  },
  async export(db) {
    const all = await listIssuers(db)
    if (all.length === 0) return undefined
    const base = all.find((i) => i.name === 'default')?.url ?? DEFAULT_ISSUER_URL
    // Derived URLs (under the default's) are left out so they keep following the default issuer.
    return all.map((i) =>
      i.name === 'default' || i.url !== `${base}/issuers/${i.name}`
        ? { name: i.name, url: i.url }
        : { name: i.name },
    )
  },
}
