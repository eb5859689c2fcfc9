/**
 * @module aws/iam/repo/access-keys
 * Long-term access keys of IAM users, joined with their user.
 */
import type { Queryable } from '../../../store/db.ts'
import { toAccessKey, type AccessKeyRow } from './rows.ts'
import type { AccessKeyStore } from './types.ts'

const ACCESS_KEY_SELECT = `SELECT k.access_key_id, k.account_id, k.secret_access_key, k.status, k.created_at,
  k.last_used_at, k.last_used_service, k.last_used_region, u.user_name, u.user_id, u.arn
  FROM iam_access_keys k JOIN iam_users u
    ON u.account_id = k.account_id AND u.user_name_lower = k.user_name_lower`

export function createAccessKeyStore(db: Queryable): AccessKeyStore {
  const store: AccessKeyStore = {
    async getAccessKey(accessKeyId) {
      const r = await db.get<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.access_key_id = ?`, [
        accessKeyId,
      ])
      return r === undefined ? undefined : toAccessKey(r)
    },
    async listAccessKeys(accountId, userName) {
      const rows = await db.all<AccessKeyRow>(
        `${ACCESS_KEY_SELECT} WHERE k.account_id = ? AND k.user_name_lower = ? ORDER BY k.created_at, k.access_key_id`,
        [accountId, userName.toLowerCase()],
      )
      return rows.map(toAccessKey)
    },
    async insertAccessKey(k) {
      await db.run(
        `INSERT INTO iam_access_keys (access_key_id, account_id, user_name_lower, secret_access_key, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          k.accessKeyId,
          k.accountId,
          k.userName.toLowerCase(),
          k.secretAccessKey,
          k.status,
          k.createDate.getTime(),
        ],
      )
    },
    async updateAccessKeyStatus(accessKeyId, status) {
      const r = await db.run('UPDATE iam_access_keys SET status = ? WHERE access_key_id = ?', [
        status,
        accessKeyId,
      ])
      return r.changes > 0
    },
    async deleteAccessKey(accessKeyId) {
      const r = await db.run('DELETE FROM iam_access_keys WHERE access_key_id = ?', [accessKeyId])
      return r.changes > 0
    },
    async recordAccessKeyUse(accessKeyId, when, serviceName, region) {
      await db.run(
        `UPDATE iam_access_keys SET last_used_at = ?, last_used_service = ?, last_used_region = ?
          WHERE access_key_id = ?`,
        [when.getTime(), serviceName, region, accessKeyId],
      )
    },
  }
  return store
}
