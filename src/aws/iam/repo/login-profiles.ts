/**
 * @module aws/iam/repo/login-profiles
 * Users' console passwords: only a scrypt hash is stored.
 */
import type { Queryable } from '../../../store/db.ts'
import { date, type Num } from './rows.ts'
import type { LoginProfileStore } from './types.ts'

interface LoginRow {
  account_id: string
  user_name: string
  password_hash: string
  password_reset_required: Num
  created_at: Num
}

export function createLoginProfileStore(db: Queryable): LoginProfileStore {
  return {
    async getLoginProfile(accountId, userName) {
      const r = await db.get<LoginRow>(
        `SELECT l.account_id, u.user_name, l.password_hash, l.password_reset_required, l.created_at
           FROM iam_login_profiles l JOIN iam_users u
             ON u.account_id = l.account_id AND u.user_name_lower = l.user_name_lower
         WHERE l.account_id = ? AND l.user_name_lower = ?`,
        [accountId, userName.toLowerCase()],
      )
      return r === undefined
        ? undefined
        : {
            accountId: r.account_id,
            userName: r.user_name,
            passwordHash: r.password_hash,
            passwordResetRequired: Number(r.password_reset_required) === 1,
            createDate: date(r.created_at),
          }
    },
    async putLoginProfile(p) {
      await db.run('DELETE FROM iam_login_profiles WHERE account_id = ? AND user_name_lower = ?', [
        p.accountId,
        p.userName.toLowerCase(),
      ])
      await db.run(
        `INSERT INTO iam_login_profiles (account_id, user_name_lower, password_hash, password_reset_required, created_at)
         VALUES (?, ?, ?, ?, ?)`,
        [
          p.accountId,
          p.userName.toLowerCase(),
          p.passwordHash,
          p.passwordResetRequired ? 1 : 0,
          p.createDate.getTime(),
        ],
      )
    },
    async deleteLoginProfile(accountId, userName) {
      const r = await db.run(
        'DELETE FROM iam_login_profiles WHERE account_id = ? AND user_name_lower = ?',
        [accountId, userName.toLowerCase()],
      )
      return r.changes > 0
    },
  }
}
