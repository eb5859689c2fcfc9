/**
 * @module aws/iam/repo
 * Persistence of IAM entities over the portable `Queryable` (SQLite / PostgreSQL): accounts, roles, users,
 * inline and managed policies with versions, attachments, OIDC providers and access keys. The repository
 * stores and reads; it does not validate (the IAM actions and config sections do). AWS managed policies are
 * read from the bundled catalog; only their attachments are rows.
 *
 * @example
 * const iam = createIamRepo(ctx.db)
 * const role = await iam.getRoleByArn('arn:aws:iam::111122223333:role/app')
 * const docs = role && (await iam.getRolePolicyDocuments(role.accountId, role.roleName))
 */
import type { Queryable } from '../../store/db.ts'
import {
  awsManagedPolicy,
  awsManagedPolicies,
  awsManagedPolicyVersion,
  type AwsManagedPolicy,
} from './managed-policies.ts'

export interface Tag {
  key: string
  value: string
}

export interface RoleRecord {
  accountId: string
  roleName: string
  /** `AROA…` */
  roleId: string
  arn: string
  path: string
  assumeRolePolicyDocument: string
  /** Seconds, 3600–43200. */
  maxSessionDuration: number
  permissionsBoundaryArn?: string
  description?: string
  createDate: Date
  tags: Tag[]
  roleLastUsed?: { lastUsedDate: Date; region: string }
}

export interface UserRecord {
  accountId: string
  userName: string
  /** `AIDA…` */
  userId: string
  arn: string
  path: string
  permissionsBoundaryArn?: string
  createDate: Date
  tags: Tag[]
}

export interface OidcProviderRecord {
  accountId: string
  arn: string
  /** Without `https://`, exactly as registered (a trailing slash is kept). */
  url: string
  clientIds: string[]
  thumbprints: string[]
  createDate: Date
  tags: Tag[]
}

export interface ManagedPolicyRecord {
  arn: string
  /** The owning account, or `aws` for AWS managed policies. */
  accountId: string
  policyName: string
  /** `ANPA…` */
  policyId: string
  path: string
  description?: string
  defaultVersionId: string
  createDate: Date
  updateDate: Date
  tags: Tag[]
  attachmentCount: number
  permissionsBoundaryUsageCount: number
  isAttachable: boolean
  awsManaged: boolean
}

export interface PolicyVersionRecord {
  versionId: string
  document: string
  isDefaultVersion: boolean
  createDate: Date
}

export interface InlinePolicyRecord {
  policyName: string
  document: string
}

export interface AttachedPolicyRecord {
  policyName: string
  policyArn: string
}

export interface AccessKeyRecord {
  accessKeyId: string
  secretAccessKey: string
  status: 'Active' | 'Inactive'
  userName: string
  userArn: string
  userId: string
  accountId: string
  createDate: Date
  lastUsed?: { date: Date; serviceName: string; region: string }
}

export interface AccountRecord {
  accountId: string
  alias?: string
  createDate: Date
}

export type PrincipalType = 'role' | 'user'

/** A policy document with the id the policy engine reports it by (an ARN, or `role/NAME/inline/POLICY`). */
export interface PolicyDocumentRef {
  id: string
  document: string
  kind: 'inline' | 'managed'
}

export interface IamRepo {
  ensureAccount(accountId: string, now: Date, alias?: string): Promise<void>
  getAccount(accountId: string): Promise<AccountRecord | undefined>
  listAccounts(): Promise<AccountRecord[]>

  getRole(accountId: string, roleName: string): Promise<RoleRecord | undefined>
  getRoleByArn(arn: string): Promise<RoleRecord | undefined>
  getRoleById(roleId: string): Promise<RoleRecord | undefined>
  /** Ordered by role name (case-insensitively), AWS's listing order. */
  listRoles(accountId: string, pathPrefix?: string): Promise<RoleRecord[]>
  countRoles(accountId: string): Promise<number>
  insertRole(role: RoleRecord): Promise<void>
  /** Updates every mutable field (trust policy, description, duration, boundary, tags). */
  updateRole(role: RoleRecord): Promise<void>
  deleteRole(accountId: string, roleName: string): Promise<boolean>
  recordRoleUse(roleArn: string, when: Date, region: string): Promise<void>

  getUser(accountId: string, userName: string): Promise<UserRecord | undefined>
  getUserByArn(arn: string): Promise<UserRecord | undefined>
  listUsers(accountId: string, pathPrefix?: string): Promise<UserRecord[]>
  insertUser(user: UserRecord): Promise<void>
  updateUser(user: UserRecord): Promise<void>
  deleteUser(accountId: string, userName: string): Promise<boolean>

  putInlinePolicy(
    accountId: string,
    type: PrincipalType,
    principalName: string,
    policyName: string,
    document: string,
    now: Date,
  ): Promise<void>
  getInlinePolicy(
    accountId: string,
    type: PrincipalType,
    principalName: string,
    policyName: string,
  ): Promise<InlinePolicyRecord | undefined>
  /** Ordered by policy name. */
  listInlinePolicies(
    accountId: string,
    type: PrincipalType,
    principalName: string,
  ): Promise<InlinePolicyRecord[]>
  deleteInlinePolicy(
    accountId: string,
    type: PrincipalType,
    principalName: string,
    policyName: string,
  ): Promise<boolean>

  /** Customer managed (stored) or AWS managed (catalog) policy. */
  getManagedPolicy(arn: string): Promise<ManagedPolicyRecord | undefined>
  getManagedPolicyByName(
    accountId: string,
    policyName: string,
  ): Promise<ManagedPolicyRecord | undefined>
  /** The default version's document, or undefined when the policy does not exist. */
  getManagedPolicyDocument(arn: string): Promise<string | undefined>
  listManagedPolicies(
    accountId: string,
    options?: { scope?: 'All' | 'AWS' | 'Local'; onlyAttached?: boolean; pathPrefix?: string },
  ): Promise<ManagedPolicyRecord[]>
  /** Creates the policy with its first version `v1` as default. */
  insertManagedPolicy(
    policy: Omit<
      ManagedPolicyRecord,
      | 'attachmentCount'
      | 'permissionsBoundaryUsageCount'
      | 'isAttachable'
      | 'awsManaged'
      | 'defaultVersionId'
    >,
    document: string,
  ): Promise<void>
  updateManagedPolicyTags(arn: string, tags: Tag[]): Promise<void>
  deleteManagedPolicy(arn: string): Promise<boolean>
  getPolicyVersion(arn: string, versionId: string): Promise<PolicyVersionRecord | undefined>
  /** Newest first, as AWS lists them. */
  listPolicyVersions(arn: string): Promise<PolicyVersionRecord[]>
  /** Adds the next version (`vN`, numbers never reused); returns its id. */
  createPolicyVersion(
    arn: string,
    document: string,
    setAsDefault: boolean,
    now: Date,
  ): Promise<string>
  deletePolicyVersion(arn: string, versionId: string): Promise<boolean>
  setDefaultPolicyVersion(arn: string, versionId: string, now: Date): Promise<void>

  attachPolicy(
    accountId: string,
    type: PrincipalType,
    principalName: string,
    policyArn: string,
    now: Date,
  ): Promise<void>
  detachPolicy(
    accountId: string,
    type: PrincipalType,
    principalName: string,
    policyArn: string,
  ): Promise<boolean>
  /** Ordered by policy name. */
  listAttachedPolicies(
    accountId: string,
    type: PrincipalType,
    principalName: string,
  ): Promise<AttachedPolicyRecord[]>
  /** Roles and users a managed policy is attached to. */
  listPolicyEntities(
    policyArn: string,
  ): Promise<{ accountId: string; type: PrincipalType; name: string }[]>

  getOidcProviderByUrl(accountId: string, url: string): Promise<OidcProviderRecord | undefined>
  getOidcProviderByArn(arn: string): Promise<OidcProviderRecord | undefined>
  listOidcProviders(accountId: string): Promise<OidcProviderRecord[]>
  insertOidcProvider(provider: OidcProviderRecord): Promise<void>
  /** Updates client ids, thumbprints and tags. */
  updateOidcProvider(provider: OidcProviderRecord): Promise<void>
  deleteOidcProvider(arn: string): Promise<boolean>

  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>
  listAccessKeys(accountId: string, userName: string): Promise<AccessKeyRecord[]>
  insertAccessKey(key: {
    accessKeyId: string
    secretAccessKey: string
    status: 'Active' | 'Inactive'
    accountId: string
    userName: string
    createDate: Date
  }): Promise<void>
  updateAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive'): Promise<boolean>
  deleteAccessKey(accessKeyId: string): Promise<boolean>
  recordAccessKeyUse(
    accessKeyId: string,
    when: Date,
    serviceName: string,
    region: string,
  ): Promise<void>

  /** Inline + attached managed (default versions) policies of a role, inline first. */
  getRolePolicyDocuments(accountId: string, roleName: string): Promise<PolicyDocumentRef[]>
  /** Inline + attached managed (default versions) policies of a user, inline first. */
  getUserPolicyDocuments(accountId: string, userName: string): Promise<PolicyDocumentRef[]>
}

type Num = number | string | bigint

interface RoleRow {
  account_id: string
  role_name: string
  role_id: string
  path: string
  arn: string
  assume_role_policy: string
  max_session_duration: Num
  permissions_boundary_arn: string | null
  description: string | null
  tags: string
  created_at: Num
  last_used_at: Num | null
  last_used_region: string | null
}

interface UserRow {
  account_id: string
  user_name: string
  user_id: string
  path: string
  arn: string
  permissions_boundary_arn: string | null
  tags: string
  created_at: Num
}

interface PolicyRow {
  arn: string
  account_id: string
  policy_name: string
  policy_id: string
  path: string
  description: string | null
  default_version_id: string
  next_version: Num
  tags: string
  created_at: Num
  updated_at: Num
}

interface ProviderRow {
  arn: string
  account_id: string
  url: string
  client_ids: string
  thumbprints: string
  tags: string
  created_at: Num
}

interface AccessKeyRow {
  access_key_id: string
  account_id: string
  secret_access_key: string
  status: string
  created_at: Num
  last_used_at: Num | null
  last_used_service: string | null
  last_used_region: string | null
  user_name: string
  user_id: string
  arn: string
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

const date = (v: Num): Date => new Date(Number(v))

function toRole(r: RoleRow): RoleRecord {
  return {
    accountId: r.account_id,
    roleName: r.role_name,
    roleId: r.role_id,
    arn: r.arn,
    path: r.path,
    assumeRolePolicyDocument: r.assume_role_policy,
    maxSessionDuration: Number(r.max_session_duration),
    ...(r.permissions_boundary_arn === null
      ? {}
      : { permissionsBoundaryArn: r.permissions_boundary_arn }),
    ...(r.description === null ? {} : { description: r.description }),
    createDate: date(r.created_at),
    tags: parseJson<Tag[]>(r.tags, []),
    ...(r.last_used_at === null
      ? {}
      : { roleLastUsed: { lastUsedDate: date(r.last_used_at), region: r.last_used_region ?? '' } }),
  }
}

function toUser(r: UserRow): UserRecord {
  return {
    accountId: r.account_id,
    userName: r.user_name,
    userId: r.user_id,
    arn: r.arn,
    path: r.path,
    ...(r.permissions_boundary_arn === null
      ? {}
      : { permissionsBoundaryArn: r.permissions_boundary_arn }),
    createDate: date(r.created_at),
    tags: parseJson<Tag[]>(r.tags, []),
  }
}

function toProvider(r: ProviderRow): OidcProviderRecord {
  return {
    accountId: r.account_id,
    arn: r.arn,
    url: r.url,
    clientIds: parseJson<string[]>(r.client_ids, []),
    thumbprints: parseJson<string[]>(r.thumbprints, []),
    createDate: date(r.created_at),
    tags: parseJson<Tag[]>(r.tags, []),
  }
}

function toAccessKey(r: AccessKeyRow): AccessKeyRecord {
  return {
    accessKeyId: r.access_key_id,
    secretAccessKey: r.secret_access_key,
    status: r.status === 'Inactive' ? 'Inactive' : 'Active',
    userName: r.user_name,
    userArn: r.arn,
    userId: r.user_id,
    accountId: r.account_id,
    createDate: date(r.created_at),
    ...(r.last_used_at === null
      ? {}
      : {
          lastUsed: {
            date: date(r.last_used_at),
            serviceName: r.last_used_service ?? '',
            region: r.last_used_region ?? '',
          },
        }),
  }
}

const AWS_POLICY_PREFIX = 'arn:aws:iam::aws:policy/'

/** Sort by name, case-insensitively then exactly (AWS lists entities alphabetically). */
const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) => {
    const x = key(a).toLowerCase()
    const y = key(b).toLowerCase()
    return x < y ? -1 : x > y ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  }

const ACCESS_KEY_SELECT = `SELECT k.access_key_id, k.account_id, k.secret_access_key, k.status, k.created_at,
  k.last_used_at, k.last_used_service, k.last_used_region, u.user_name, u.user_id, u.arn
  FROM iam_access_keys k JOIN iam_users u
    ON u.account_id = k.account_id AND u.user_name_lower = k.user_name_lower`

export function createIamRepo(db: Queryable): IamRepo {
  async function counts(arn: string): Promise<{ attachments: number; boundaries: number }> {
    const a = await db.get<{ n: Num }>(
      'SELECT COUNT(*) AS n FROM iam_attachments WHERE policy_arn = ?',
      [arn],
    )
    const r = await db.get<{ n: Num }>(
      'SELECT COUNT(*) AS n FROM iam_roles WHERE permissions_boundary_arn = ?',
      [arn],
    )
    const u = await db.get<{ n: Num }>(
      'SELECT COUNT(*) AS n FROM iam_users WHERE permissions_boundary_arn = ?',
      [arn],
    )
    return { attachments: Number(a?.n ?? 0), boundaries: Number(r?.n ?? 0) + Number(u?.n ?? 0) }
  }

  async function fromRow(r: PolicyRow): Promise<ManagedPolicyRecord> {
    const c = await counts(r.arn)
    return {
      arn: r.arn,
      accountId: r.account_id,
      policyName: r.policy_name,
      policyId: r.policy_id,
      path: r.path,
      ...(r.description === null ? {} : { description: r.description }),
      defaultVersionId: r.default_version_id,
      createDate: date(r.created_at),
      updateDate: date(r.updated_at),
      tags: parseJson<Tag[]>(r.tags, []),
      attachmentCount: c.attachments,
      permissionsBoundaryUsageCount: c.boundaries,
      isAttachable: true,
      awsManaged: false,
    }
  }

  async function fromCatalog(p: AwsManagedPolicy): Promise<ManagedPolicyRecord> {
    const c = await counts(p.arn)
    return {
      arn: p.arn,
      accountId: 'aws',
      policyName: p.policyName,
      policyId: p.policyId,
      path: p.path,
      description: p.description,
      defaultVersionId: p.defaultVersionId,
      createDate: p.createDate,
      updateDate: p.updateDate,
      tags: [],
      attachmentCount: c.attachments,
      permissionsBoundaryUsageCount: c.boundaries,
      isAttachable: true,
      awsManaged: true,
    }
  }

  const repo: IamRepo = {
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
      const role = await repo.getRole(m[1]!, name)
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
      await db.run(
        `DELETE FROM iam_inline_policies WHERE account_id = ? AND principal_type = 'role' AND principal_name_lower = ?`,
        [accountId, lower],
      )
      await db.run(
        `DELETE FROM iam_attachments WHERE account_id = ? AND principal_type = 'role' AND principal_name_lower = ?`,
        [accountId, lower],
      )
      return r.changes > 0
    },
    async recordRoleUse(arn, when, region) {
      await db.run('UPDATE iam_roles SET last_used_at = ?, last_used_region = ? WHERE arn = ?', [
        when.getTime(),
        region,
        arn,
      ])
    },

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
      await db.run(
        `DELETE FROM iam_inline_policies WHERE account_id = ? AND principal_type = 'user' AND principal_name_lower = ?`,
        [accountId, lower],
      )
      await db.run(
        `DELETE FROM iam_attachments WHERE account_id = ? AND principal_type = 'user' AND principal_name_lower = ?`,
        [accountId, lower],
      )
      await db.run('DELETE FROM iam_access_keys WHERE account_id = ? AND user_name_lower = ?', [
        accountId,
        lower,
      ])
      return r.changes > 0
    },

    async putInlinePolicy(accountId, type, principalName, policyName, document, now) {
      await db.run(
        `INSERT INTO iam_inline_policies (account_id, principal_type, principal_name_lower, policy_name_lower,
           policy_name, document, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, principal_type, principal_name_lower, policy_name_lower)
         DO UPDATE SET policy_name = excluded.policy_name, document = excluded.document`,
        [
          accountId,
          type,
          principalName.toLowerCase(),
          policyName.toLowerCase(),
          policyName,
          document,
          now.getTime(),
        ],
      )
    },
    async getInlinePolicy(accountId, type, principalName, policyName) {
      const r = await db.get<{ policy_name: string; document: string }>(
        `SELECT policy_name, document FROM iam_inline_policies WHERE account_id = ? AND principal_type = ?
           AND principal_name_lower = ? AND policy_name_lower = ?`,
        [accountId, type, principalName.toLowerCase(), policyName.toLowerCase()],
      )
      return r === undefined ? undefined : { policyName: r.policy_name, document: r.document }
    },
    async listInlinePolicies(accountId, type, principalName) {
      const rows = await db.all<{ policy_name: string; document: string }>(
        `SELECT policy_name, document FROM iam_inline_policies WHERE account_id = ? AND principal_type = ?
           AND principal_name_lower = ?`,
        [accountId, type, principalName.toLowerCase()],
      )
      return rows
        .map((r) => ({ policyName: r.policy_name, document: r.document }))
        .sort(byName((p) => p.policyName))
    },
    async deleteInlinePolicy(accountId, type, principalName, policyName) {
      const r = await db.run(
        `DELETE FROM iam_inline_policies WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?
           AND policy_name_lower = ?`,
        [accountId, type, principalName.toLowerCase(), policyName.toLowerCase()],
      )
      return r.changes > 0
    },

    async getManagedPolicy(arn) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        const p = awsManagedPolicy(arn)
        return p === undefined ? undefined : fromCatalog(p)
      }
      const r = await db.get<PolicyRow>('SELECT * FROM iam_policies WHERE arn = ?', [arn])
      return r === undefined ? undefined : fromRow(r)
    },
    async getManagedPolicyByName(accountId, policyName) {
      const r = await db.get<PolicyRow>(
        'SELECT * FROM iam_policies WHERE account_id = ? AND policy_name_lower = ?',
        [accountId, policyName.toLowerCase()],
      )
      return r === undefined ? undefined : fromRow(r)
    },
    async getManagedPolicyDocument(arn) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) return awsManagedPolicy(arn)?.document
      const r = await db.get<{ document: string }>(
        `SELECT v.document FROM iam_policies p JOIN iam_policy_versions v
           ON v.policy_arn = p.arn AND v.version_id = p.default_version_id WHERE p.arn = ?`,
        [arn],
      )
      return r?.document
    },
    async listManagedPolicies(accountId, options = {}) {
      const scope = options.scope ?? 'All'
      const out: ManagedPolicyRecord[] = []
      if (scope !== 'AWS') {
        const rows = await db.all<PolicyRow>('SELECT * FROM iam_policies WHERE account_id = ?', [
          accountId,
        ])
        for (const r of rows) out.push(await fromRow(r))
      }
      if (scope !== 'Local') {
        for (const p of awsManagedPolicies()) out.push(await fromCatalog(p))
      }
      return out
        .filter((p) => options.pathPrefix === undefined || p.path.startsWith(options.pathPrefix))
        .filter((p) => options.onlyAttached !== true || p.attachmentCount > 0)
        .sort(byName((p) => p.policyName))
    },
    async insertManagedPolicy(policy, document) {
      await db.run(
        `INSERT INTO iam_policies (arn, account_id, policy_name_lower, policy_name, policy_id, path, description,
           default_version_id, next_version, tags, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'v1', 2, ?, ?, ?)`,
        [
          policy.arn,
          policy.accountId,
          policy.policyName.toLowerCase(),
          policy.policyName,
          policy.policyId,
          policy.path,
          policy.description ?? null,
          JSON.stringify(policy.tags),
          policy.createDate.getTime(),
          policy.updateDate.getTime(),
        ],
      )
      await db.run(
        'INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)',
        [policy.arn, 'v1', document, policy.createDate.getTime()],
      )
    },
    async updateManagedPolicyTags(arn, tags) {
      await db.run('UPDATE iam_policies SET tags = ? WHERE arn = ?', [JSON.stringify(tags), arn])
    },
    async deleteManagedPolicy(arn) {
      await db.run('DELETE FROM iam_policy_versions WHERE policy_arn = ?', [arn])
      const r = await db.run('DELETE FROM iam_policies WHERE arn = ?', [arn])
      return r.changes > 0
    },
    async getPolicyVersion(arn, versionId) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        return awsManagedPolicyVersion(arn, versionId)
      }
      const r = await db.get<{
        version_id: string
        document: string
        created_at: Num
        default_version_id: string
      }>(
        `SELECT v.version_id, v.document, v.created_at, p.default_version_id FROM iam_policy_versions v
           JOIN iam_policies p ON p.arn = v.policy_arn WHERE v.policy_arn = ? AND v.version_id = ?`,
        [arn, versionId],
      )
      return r === undefined
        ? undefined
        : {
            versionId: r.version_id,
            document: r.document,
            isDefaultVersion: r.version_id === r.default_version_id,
            createDate: date(r.created_at),
          }
    },
    async listPolicyVersions(arn) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        return awsManagedPolicy(arn)?.versions ?? []
      }
      const rows = await db.all<{
        version_id: string
        document: string
        created_at: Num
        default_version_id: string
      }>(
        `SELECT v.version_id, v.document, v.created_at, p.default_version_id FROM iam_policy_versions v
           JOIN iam_policies p ON p.arn = v.policy_arn WHERE v.policy_arn = ?`,
        [arn],
      )
      return rows
        .map((r) => ({
          versionId: r.version_id,
          document: r.document,
          isDefaultVersion: r.version_id === r.default_version_id,
          createDate: date(r.created_at),
        }))
        .sort((a, b) => Number(b.versionId.slice(1)) - Number(a.versionId.slice(1)))
    },
    async createPolicyVersion(arn, document, setAsDefault, now) {
      const p = await db.get<{ next_version: Num }>(
        'SELECT next_version FROM iam_policies WHERE arn = ?',
        [arn],
      )
      const n = Number(p?.next_version ?? 1)
      const versionId = `v${n}`
      await db.run(
        'INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)',
        [arn, versionId, document, now.getTime()],
      )
      await db.run(
        setAsDefault
          ? 'UPDATE iam_policies SET next_version = ?, default_version_id = ?, updated_at = ? WHERE arn = ?'
          : 'UPDATE iam_policies SET next_version = ?, updated_at = ? WHERE arn = ?',
        setAsDefault ? [n + 1, versionId, now.getTime(), arn] : [n + 1, now.getTime(), arn],
      )
      return versionId
    },
    async deletePolicyVersion(arn, versionId) {
      const r = await db.run(
        'DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?',
        [arn, versionId],
      )
      return r.changes > 0
    },
    async setDefaultPolicyVersion(arn, versionId, now) {
      await db.run('UPDATE iam_policies SET default_version_id = ?, updated_at = ? WHERE arn = ?', [
        versionId,
        now.getTime(),
        arn,
      ])
    },

    async attachPolicy(accountId, type, principalName, policyArn, now) {
      await db.run(
        `INSERT INTO iam_attachments (account_id, principal_type, principal_name_lower, policy_arn, attached_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, principal_type, principal_name_lower, policy_arn) DO NOTHING`,
        [accountId, type, principalName.toLowerCase(), policyArn, now.getTime()],
      )
    },
    async detachPolicy(accountId, type, principalName, policyArn) {
      const r = await db.run(
        `DELETE FROM iam_attachments WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?
           AND policy_arn = ?`,
        [accountId, type, principalName.toLowerCase(), policyArn],
      )
      return r.changes > 0
    },
    async listAttachedPolicies(accountId, type, principalName) {
      const rows = await db.all<{ policy_arn: string; policy_name: string | null }>(
        `SELECT a.policy_arn, p.policy_name FROM iam_attachments a LEFT JOIN iam_policies p ON p.arn = a.policy_arn
          WHERE a.account_id = ? AND a.principal_type = ? AND a.principal_name_lower = ?`,
        [accountId, type, principalName.toLowerCase()],
      )
      return rows
        .map((r) => ({
          policyArn: r.policy_arn,
          policyName:
            r.policy_name ??
            awsManagedPolicy(r.policy_arn)?.policyName ??
            r.policy_arn.slice(r.policy_arn.lastIndexOf('/') + 1),
        }))
        .sort(byName((p) => p.policyName))
    },
    async listPolicyEntities(policyArn) {
      const rows = await db.all<{
        account_id: string
        principal_type: string
        name: string | null
      }>(
        `SELECT a.account_id, a.principal_type,
            COALESCE(r.role_name, u.user_name) AS name
           FROM iam_attachments a
           LEFT JOIN iam_roles r ON a.principal_type = 'role' AND r.account_id = a.account_id
             AND r.role_name_lower = a.principal_name_lower
           LEFT JOIN iam_users u ON a.principal_type = 'user' AND u.account_id = a.account_id
             AND u.user_name_lower = a.principal_name_lower
          WHERE a.policy_arn = ?`,
        [policyArn],
      )
      return rows
        .filter((r) => r.name !== null)
        .map((r) => ({
          accountId: r.account_id,
          type: r.principal_type === 'user' ? ('user' as const) : ('role' as const),
          name: r.name!,
        }))
    },

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

    async getRolePolicyDocuments(accountId, roleName) {
      return principalDocuments(accountId, 'role', roleName)
    },
    async getUserPolicyDocuments(accountId, userName) {
      return principalDocuments(accountId, 'user', userName)
    },
  }

  async function principalDocuments(
    accountId: string,
    type: PrincipalType,
    name: string,
  ): Promise<PolicyDocumentRef[]> {
    const out: PolicyDocumentRef[] = []
    for (const p of await repo.listInlinePolicies(accountId, type, name)) {
      out.push({
        id: `${type}/${name}/inline/${p.policyName}`,
        document: p.document,
        kind: 'inline',
      })
    }
    for (const a of await repo.listAttachedPolicies(accountId, type, name)) {
      const document = await repo.getManagedPolicyDocument(a.policyArn)
      if (document !== undefined) out.push({ id: a.policyArn, document, kind: 'managed' })
    }
    return out
  }

  return repo
}
