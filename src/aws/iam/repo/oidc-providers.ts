/**
 * @module aws/iam/repo/oidc-providers
 * IAM OIDC identity providers.
 */
import type { Queryable } from '../../../store/db.ts'
import { toProvider, type ProviderRow } from './rows.ts'
import type { OidcProviderStore } from './types.ts'

export function createOidcProviderStore(db: Queryable): OidcProviderStore {
  const store: OidcProviderStore = {
    async getOidcProviderByUrl(accountId, url) {
      const r = await db.get<ProviderRow>(
        'SELECT * FROM iam_oidc_providers WHERE account_id = ? AND url = ?',
        [accountId, url],
      )
      return r === undefined ? undefined : toProvider(r)
    },
    async getOidcProviderByArn(arn) {
      const r = await db.get<ProviderRow>('SELECT * FROM iam_oidc_providers WHERE arn = ?', [arn])
      return r === undefined ? undefined : toProvider(r)
    },
    async listOidcProviders(accountId) {
      const rows = await db.all<ProviderRow>(
        'SELECT * FROM iam_oidc_providers WHERE account_id = ? ORDER BY arn',
        [accountId],
      )
      return rows.map(toProvider)
    },
    async insertOidcProvider(p) {
      await db.run(
        `INSERT INTO iam_oidc_providers (arn, account_id, url, client_ids, thumbprints, tags, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          p.arn,
          p.accountId,
          p.url,
          JSON.stringify(p.clientIds),
          JSON.stringify(p.thumbprints),
          JSON.stringify(p.tags),
          p.createDate.getTime(),
        ],
      )
    },
    async updateOidcProvider(p) {
      await db.run(
        'UPDATE iam_oidc_providers SET client_ids = ?, thumbprints = ?, tags = ? WHERE arn = ?',
        [JSON.stringify(p.clientIds), JSON.stringify(p.thumbprints), JSON.stringify(p.tags), p.arn],
      )
    },
    async deleteOidcProvider(arn) {
      const r = await db.run('DELETE FROM iam_oidc_providers WHERE arn = ?', [arn])
      return r.changes > 0
    },
  }
  return store
}
