/**
 * @module aws/iam/repo/groups
 * IAM groups and their members (names case-insensitive within an account). A group's inline policies and
 * attachments live in the principal-policy store under principal type `group`.
 */
import type { Queryable } from '../../../store/db.ts'
import { byName, date, type Num } from './rows.ts'
import type { GroupRecord, GroupStore, PrincipalPolicyStore } from './types.ts'

interface GroupRow {
  account_id: string
  group_name: string
  group_id: string
  path: string
  arn: string
  created_at: Num
}

const toGroup = (r: GroupRow): GroupRecord => ({
  accountId: r.account_id,
  groupName: r.group_name,
  groupId: r.group_id,
  arn: r.arn,
  path: r.path,
  createDate: date(r.created_at),
})

export function createGroupStore(
  db: Queryable,
  principals: Pick<PrincipalPolicyStore, 'deletePrincipalPolicies'>,
): GroupStore {
  return {
    async getGroup(accountId, groupName) {
      const r = await db.get<GroupRow>(
        'SELECT * FROM iam_groups WHERE account_id = ? AND group_name_lower = ?',
        [accountId, groupName.toLowerCase()],
      )
      return r === undefined ? undefined : toGroup(r)
    },
    async listGroups(accountId, pathPrefix) {
      const rows = await db.all<GroupRow>('SELECT * FROM iam_groups WHERE account_id = ?', [
        accountId,
      ])
      return rows
        .map(toGroup)
        .filter((g) => pathPrefix === undefined || g.path.startsWith(pathPrefix))
        .sort(byName((g) => g.groupName))
    },
    async countGroups(accountId) {
      const r = await db.get<{ n: Num }>(
        'SELECT COUNT(*) AS n FROM iam_groups WHERE account_id = ?',
        [accountId],
      )
      return Number(r?.n ?? 0)
    },
    async insertGroup(g) {
      await db.run(
        `INSERT INTO iam_groups (account_id, group_name_lower, group_name, group_id, path, arn, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          g.accountId,
          g.groupName.toLowerCase(),
          g.groupName,
          g.groupId,
          g.path,
          g.arn,
          g.createDate.getTime(),
        ],
      )
    },
    async updateGroup(accountId, groupName, next) {
      const from = groupName.toLowerCase()
      const to = next.groupName.toLowerCase()
      await db.run(
        `UPDATE iam_groups SET group_name_lower = ?, group_name = ?, path = ?, arn = ?
         WHERE account_id = ? AND group_name_lower = ?`,
        [to, next.groupName, next.path, next.arn, accountId, from],
      )
      if (from !== to) {
        await db.run(
          'UPDATE iam_group_members SET group_name_lower = ? WHERE account_id = ? AND group_name_lower = ?',
          [to, accountId, from],
        )
        for (const table of ['iam_inline_policies', 'iam_attachments']) {
          await db.run(
            `UPDATE ${table} SET principal_name_lower = ?
             WHERE account_id = ? AND principal_type = 'group' AND principal_name_lower = ?`,
            [to, accountId, from],
          )
        }
      }
    },
    async deleteGroup(accountId, groupName) {
      const lower = groupName.toLowerCase()
      const r = await db.run(
        'DELETE FROM iam_groups WHERE account_id = ? AND group_name_lower = ?',
        [accountId, lower],
      )
      await db.run('DELETE FROM iam_group_members WHERE account_id = ? AND group_name_lower = ?', [
        accountId,
        lower,
      ])
      await principals.deletePrincipalPolicies(accountId, 'group', groupName)
      return r.changes > 0
    },
    async addUserToGroup(accountId, groupName, userName, now) {
      const existing = await db.get<{ n: Num }>(
        `SELECT COUNT(*) AS n FROM iam_group_members
         WHERE account_id = ? AND group_name_lower = ? AND user_name_lower = ?`,
        [accountId, groupName.toLowerCase(), userName.toLowerCase()],
      )
      // Adding a member twice is a no-op, as in IAM.
      if (Number(existing?.n ?? 0) > 0) return
      await db.run(
        `INSERT INTO iam_group_members (account_id, group_name_lower, user_name_lower, added_at)
         VALUES (?, ?, ?, ?)`,
        [accountId, groupName.toLowerCase(), userName.toLowerCase(), now.getTime()],
      )
    },
    async removeUserFromGroup(accountId, groupName, userName) {
      const r = await db.run(
        `DELETE FROM iam_group_members
         WHERE account_id = ? AND group_name_lower = ? AND user_name_lower = ?`,
        [accountId, groupName.toLowerCase(), userName.toLowerCase()],
      )
      return r.changes > 0
    },
    async listGroupMembers(accountId, groupName) {
      const rows = await db.all<{ user_name_lower: string }>(
        'SELECT user_name_lower FROM iam_group_members WHERE account_id = ? AND group_name_lower = ?',
        [accountId, groupName.toLowerCase()],
      )
      return rows.map((r) => r.user_name_lower)
    },
    async listGroupsForUser(accountId, userName) {
      const rows = await db.all<GroupRow>(
        `SELECT g.* FROM iam_groups g JOIN iam_group_members m
           ON m.account_id = g.account_id AND m.group_name_lower = g.group_name_lower
         WHERE m.account_id = ? AND m.user_name_lower = ?`,
        [accountId, userName.toLowerCase()],
      )
      return rows.map(toGroup).sort(byName((g) => g.groupName))
    },
  }
}
