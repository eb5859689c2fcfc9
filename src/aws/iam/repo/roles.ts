/**
 * @module aws/iam/repo/roles
 * IAM roles (names case-insensitive within an account).
 */
import type { Queryable } from '../../../store/db.ts'
import { byName, toRole, type Num, type RoleRow } from './rows.ts'
import type { PrincipalPolicyStore, RoleStore } from './types.ts'

type RoleWrites = Pick<RoleStore, 'insertRole' | 'updateRole' | 'deleteRole' | 'recordRoleUse'>
type Principals = Pick<PrincipalPolicyStore, 'principalPolicyDocuments' | 'deletePrincipalPolicies'>

function roleWrites(db: Queryable, principals: Principals): RoleWrites {
  return {
    async insertRole(role) {
      await db.run(
        `INSERT INTO iam_roles (account_id, role_name_lower, role_name, role_id, path, arn, assume_role_policy,
           max_session_duration, permissions_boundary_arn, description, tags, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          role.accountId,
          role.roleName.toLowerCase(),
          role.roleName,
          role.roleId,
          role.path,
          role.arn,
          role.assumeRolePolicyDocument,
          role.maxSessionDuration,
          role.permissionsBoundaryArn ?? null,
          role.description ?? null,
          JSON.stringify(role.tags),
          role.createDate.getTime(),
        ],
      )
    },
    async updateRole(role) {
      await db.run(
        `UPDATE iam_roles SET assume_role_policy = ?, max_session_duration = ?, permissions_boundary_arn = ?,
           description = ?, tags = ? WHERE account_id = ? AND role_name_lower = ?`,
        [
          role.assumeRolePolicyDocument,
          role.maxSessionDuration,
          role.permissionsBoundaryArn ?? null,
          role.description ?? null,
          JSON.stringify(role.tags),
          role.accountId,
          role.roleName.toLowerCase(),
        ],
      )
    },
    async deleteRole(accountId, roleName) {
      const lower = roleName.toLowerCase()
      const r = await db.run('DELETE FROM iam_roles WHERE account_id = ? AND role_name_lower = ?', [
        accountId,
        lower,
      ])
      await principals.deletePrincipalPolicies(accountId, 'role', roleName)
      return r.changes > 0
    },
    async recordRoleUse(arn, when, region) {
      await db.run('UPDATE iam_roles SET last_used_at = ?, last_used_region = ? WHERE arn = ?', [
        when.getTime(),
        region,
        arn,
      ])
    },
  }
}

export function createRoleStore(db: Queryable, principals: Principals): RoleStore {
  const store: RoleStore = {
    async getRole(accountId, roleName) {
      const r = await db.get<RoleRow>(
        'SELECT * FROM iam_roles WHERE account_id = ? AND role_name_lower = ?',
        [accountId, roleName.toLowerCase()],
      )
      return r === undefined ? undefined : toRole(r)
    },
    async getRoleByArn(arn) {
      const r = await db.get<RoleRow>('SELECT * FROM iam_roles WHERE arn = ?', [arn])
      if (r !== undefined) return toRole(r)
      // Role names are case-insensitive: `role/App` names the role `app`, provided the path matches.
      const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(arn)
      if (m === null) return undefined
      const rest = m[2]!
      const slash = rest.lastIndexOf('/')
      const name = rest.slice(slash + 1)
      const path = slash < 0 ? '/' : `/${rest.slice(0, slash + 1)}`
      const role = await store.getRole(m[1]!, name)
      return role !== undefined && role.path === path ? role : undefined
    },
    async getRoleById(roleId) {
      const r = await db.get<RoleRow>('SELECT * FROM iam_roles WHERE role_id = ?', [roleId])
      return r === undefined ? undefined : toRole(r)
    },
    async listRoles(accountId, pathPrefix) {
      const rows = await db.all<RoleRow>('SELECT * FROM iam_roles WHERE account_id = ?', [
        accountId,
      ])
      return rows
        .map(toRole)
        .filter((r) => pathPrefix === undefined || r.path.startsWith(pathPrefix))
        .sort(byName((r) => r.roleName))
    },
    async countRoles(accountId) {
      const r = await db.get<{ n: Num }>(
        'SELECT COUNT(*) AS n FROM iam_roles WHERE account_id = ?',
        [accountId],
      )
      return Number(r?.n ?? 0)
    },
    ...roleWrites(db, principals),
    async getRolePolicyDocuments(accountId, roleName) {
      return principals.principalPolicyDocuments(accountId, 'role', roleName)
    },
  }
  return store
}
