/**
 * @module aws/iam/repo/users
 * IAM users (names case-insensitive within an account); deleting one removes its access keys.
 */
import type { Queryable } from '../../../store/db.ts'
import { byName, toUser, type UserRow } from './rows.ts'
import type { PrincipalPolicyStore, UserStore } from './types.ts'

export function createUserStore(
  db: Queryable,
  principals: Pick<PrincipalPolicyStore, 'principalPolicyDocuments' | 'deletePrincipalPolicies'>,
): UserStore {
  const store: UserStore = {
    async getUser(accountId, userName) {
      const r = await db.get<UserRow>(
        'SELECT * FROM iam_users WHERE account_id = ? AND user_name_lower = ?',
        [accountId, userName.toLowerCase()],
      )
      return r === undefined ? undefined : toUser(r)
    },
    async getUserByArn(arn) {
      const r = await db.get<UserRow>('SELECT * FROM iam_users WHERE arn = ?', [arn])
      return r === undefined ? undefined : toUser(r)
    },
    async listUsers(accountId, pathPrefix) {
      const rows = await db.all<UserRow>('SELECT * FROM iam_users WHERE account_id = ?', [
        accountId,
      ])
      return rows
        .map(toUser)
        .filter((u) => pathPrefix === undefined || u.path.startsWith(pathPrefix))
        .sort(byName((u) => u.userName))
    },
    async insertUser(user) {
      await db.run(
        `INSERT INTO iam_users (account_id, user_name_lower, user_name, user_id, path, arn,
           permissions_boundary_arn, tags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          user.accountId,
          user.userName.toLowerCase(),
          user.userName,
          user.userId,
          user.path,
          user.arn,
          user.permissionsBoundaryArn ?? null,
          JSON.stringify(user.tags),
          user.createDate.getTime(),
        ],
      )
    },
    async updateUser(user) {
      await db.run(
        `UPDATE iam_users SET permissions_boundary_arn = ?, tags = ? WHERE account_id = ? AND user_name_lower = ?`,
        [
          user.permissionsBoundaryArn ?? null,
          JSON.stringify(user.tags),
          user.accountId,
          user.userName.toLowerCase(),
        ],
      )
    },
    async deleteUser(accountId, userName) {
      const lower = userName.toLowerCase()
      const r = await db.run('DELETE FROM iam_users WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      await principals.deletePrincipalPolicies(accountId, 'user', userName)
      await db.run('DELETE FROM iam_access_keys WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      return r.changes > 0
    },
    async getUserPolicyDocuments(accountId, userName) {
      return principals.principalPolicyDocuments(accountId, 'user', userName)
    },
  }
  return store
}
