/**
 * @module aws/iam/repo/accounts
 * The accounts podtrust hosts.
 */
import type { Queryable } from '../../../store/db.ts'
import { date, type Num } from './rows.ts'
import type { AccountStore } from './types.ts'

export function createAccountStore(db: Queryable): AccountStore {
  const store: AccountStore = {
    async ensureAccount(accountId, now, alias) {
      await db.run(
        `INSERT INTO iam_accounts (account_id, alias, created_at) VALUES (?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET alias = COALESCE(excluded.alias, iam_accounts.alias)`,
        [accountId, alias ?? null, now.getTime()],
      )
    },
    async getAccount(accountId) {
      const r = await db.get<{ account_id: string; alias: string | null; created_at: Num }>(
        'SELECT * FROM iam_accounts WHERE account_id = ?',
        [accountId],
      )
      return r === undefined
        ? undefined
        : {
            accountId: r.account_id,
            ...(r.alias === null ? {} : { alias: r.alias }),
            createDate: date(r.created_at),
          }
    },
    async listAccounts() {
      const rows = await db.all<{ account_id: string; alias: string | null; created_at: Num }>(
        'SELECT * FROM iam_accounts ORDER BY account_id',
      )
      return rows.map((r) => ({
        accountId: r.account_id,
        ...(r.alias === null ? {} : { alias: r.alias }),
        createDate: date(r.created_at),
      }))
    },
    async setAccountAlias(accountId, alias) {
      await db.run('UPDATE iam_accounts SET alias = ? WHERE account_id = ?', [
        alias ?? null,
        accountId,
      ])
    },
    async getPasswordPolicy(accountId) {
      const r = await db.get<{ policy: string }>(
        'SELECT policy FROM iam_password_policies WHERE account_id = ?',
        [accountId],
      )
      return r?.policy
    },
    async putPasswordPolicy(accountId, policy) {
      await db.run('DELETE FROM iam_password_policies WHERE account_id = ?', [accountId])
      await db.run('INSERT INTO iam_password_policies (account_id, policy) VALUES (?, ?)', [
        accountId,
        policy,
      ])
    },
    async deletePasswordPolicy(accountId) {
      const r = await db.run('DELETE FROM iam_password_policies WHERE account_id = ?', [accountId])
      return r.changes > 0
    },
    async accountByAlias(alias) {
      const r = await db.get<{ account_id: string }>(
        'SELECT account_id FROM iam_accounts WHERE alias = ?',
        [alias],
      )
      return r?.account_id
    },
  }
  return store
}
