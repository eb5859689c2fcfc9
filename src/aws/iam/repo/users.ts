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
    async renameUser(accountId, userName, next) {
      const from = userName.toLowerCase()
      const to = next.userName.toLowerCase()
      await db.run(
        `UPDATE iam_users SET user_name_lower = ?, user_name = ?, path = ?, arn = ?
         WHERE account_id = ? AND user_name_lower = ?`,
        [to, next.userName, next.path, next.arn, accountId, from],
      )
      if (from === to) return
      for (const table of ['iam_access_keys', 'iam_group_members', 'iam_login_profiles']) {
        await db.run(
          `UPDATE ${table} SET user_name_lower = ? WHERE account_id = ? AND user_name_lower = ?`,
          [to, accountId, from],
        )
      }
      for (const table of ['iam_inline_policies', 'iam_attachments']) {
        await db.run(
          `UPDATE ${table} SET principal_name_lower = ?
           WHERE account_id = ? AND principal_type = 'user' AND principal_name_lower = ?`,
          [to, accountId, from],
        )
      }
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
      await db.run('DELETE FROM iam_group_members WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      await db.run('DELETE FROM iam_login_profiles WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      await db.run('DELETE FROM iam_access_keys WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      return r.changes > 0
    },
    async getUserPolicyDocuments(accountId, userName) {
      // A user's permissions include those of its groups (IAM User Guide, "IAM user groups").
      const own = await principals.principalPolicyDocuments(accountId, 'user', userName)
      const groups = await db.all<{ group_name_lower: string }>(
        'SELECT group_name_lower FROM iam_group_members WHERE account_id = ? AND user_name_lower = ? ORDER BY group_name_lower',
        [accountId, userName.toLowerCase()],
      )
      for (const g of groups) {
        own.push(
          ...(await principals.principalPolicyDocuments(accountId, 'group', g.group_name_lower)),
        )
      }
      return own
    },
  }
  return store
}
