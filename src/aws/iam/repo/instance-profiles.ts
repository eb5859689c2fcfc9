/**
 * @module aws/iam/repo/instance-profiles
 * Instance profiles (names case-insensitive within an account) and the role each holds.
 */
import type { Queryable } from '../../../store/db.ts'
import { byName, date, parseJson, type Num } from './rows.ts'
import type { InstanceProfileRecord, InstanceProfileStore, Tag } from './types.ts'

interface ProfileRow {
  account_id: string
  name: string
  name_lower: string
  profile_id: string
  path: string
  arn: string
  tags: string
  created_at: Num
}

export function createInstanceProfileStore(db: Queryable): InstanceProfileStore {
  async function withRoles(r: ProfileRow): Promise<InstanceProfileRecord> {
    const roles = await db.all<{ role_name: string }>(
      `SELECT COALESCE(r.role_name, pr.role_name_lower) AS role_name FROM iam_instance_profile_roles pr
         LEFT JOIN iam_roles r ON r.account_id = pr.account_id AND r.role_name_lower = pr.role_name_lower
       WHERE pr.account_id = ? AND pr.profile_name_lower = ?`,
      [r.account_id, r.name_lower],
    )
    return {
      accountId: r.account_id,
      instanceProfileName: r.name,
      instanceProfileId: r.profile_id,
      arn: r.arn,
      path: r.path,
      createDate: date(r.created_at),
      tags: parseJson<Tag[]>(r.tags, []),
      roleNames: roles.map((x) => x.role_name),
    }
  }
  const all = async (rows: ProfileRow[]): Promise<InstanceProfileRecord[]> => {
    const out: InstanceProfileRecord[] = []
    for (const r of rows) out.push(await withRoles(r))
    return out.sort(byName((p) => p.instanceProfileName))
  }
  return {
    async getInstanceProfile(accountId, name) {
      const r = await db.get<ProfileRow>(
        'SELECT * FROM iam_instance_profiles WHERE account_id = ? AND name_lower = ?',
        [accountId, name.toLowerCase()],
      )
      return r === undefined ? undefined : withRoles(r)
    },
    async listInstanceProfiles(accountId, pathPrefix) {
      const rows = await db.all<ProfileRow>(
        'SELECT * FROM iam_instance_profiles WHERE account_id = ?',
        [accountId],
      )
      return (await all(rows)).filter(
        (p) => pathPrefix === undefined || p.path.startsWith(pathPrefix),
      )
    },
    async listInstanceProfilesForRole(accountId, roleName) {
      const rows = await db.all<ProfileRow>(
        `SELECT p.* FROM iam_instance_profiles p JOIN iam_instance_profile_roles pr
           ON pr.account_id = p.account_id AND pr.profile_name_lower = p.name_lower
         WHERE pr.account_id = ? AND pr.role_name_lower = ?`,
        [accountId, roleName.toLowerCase()],
      )
      return all(rows)
    },
    async countInstanceProfiles(accountId) {
      const r = await db.get<{ n: Num }>(
        'SELECT COUNT(*) AS n FROM iam_instance_profiles WHERE account_id = ?',
        [accountId],
      )
      return Number(r?.n ?? 0)
    },
    async insertInstanceProfile(p) {
      await db.run(
        `INSERT INTO iam_instance_profiles (account_id, name_lower, name, profile_id, path, arn, tags, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          p.accountId,
          p.instanceProfileName.toLowerCase(),
          p.instanceProfileName,
          p.instanceProfileId,
          p.path,
          p.arn,
          JSON.stringify(p.tags),
          p.createDate.getTime(),
        ],
      )
    },
    async updateInstanceProfileTags(accountId, name, tags) {
      await db.run(
        'UPDATE iam_instance_profiles SET tags = ? WHERE account_id = ? AND name_lower = ?',
        [JSON.stringify(tags), accountId, name.toLowerCase()],
      )
    },
    async deleteInstanceProfile(accountId, name) {
      const lower = name.toLowerCase()
      await db.run(
        'DELETE FROM iam_instance_profile_roles WHERE account_id = ? AND profile_name_lower = ?',
        [accountId, lower],
      )
      const r = await db.run(
        'DELETE FROM iam_instance_profiles WHERE account_id = ? AND name_lower = ?',
        [accountId, lower],
      )
      return r.changes > 0
    },
    async addRoleToInstanceProfile(accountId, name, roleName) {
      await db.run(
        `INSERT INTO iam_instance_profile_roles (account_id, profile_name_lower, role_name_lower)
         VALUES (?, ?, ?)`,
        [accountId, name.toLowerCase(), roleName.toLowerCase()],
      )
    },
    async removeRoleFromInstanceProfile(accountId, name, roleName) {
      const r = await db.run(
        `DELETE FROM iam_instance_profile_roles
         WHERE account_id = ? AND profile_name_lower = ? AND role_name_lower = ?`,
        [accountId, name.toLowerCase(), roleName.toLowerCase()],
      )
      return r.changes > 0
    },
  }
}
