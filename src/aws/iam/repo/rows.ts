/**
 * @module aws/iam/repo/rows
 * Row shapes of the IAM tables and their mapping to records; the listing order AWS uses.
 */
import type { AccessKeyRecord, OidcProviderRecord, RoleRecord, Tag, UserRecord } from './types.ts'

export type Num = number | string | bigint

export interface RoleRow {
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

export interface UserRow {
  account_id: string
  user_name: string
  user_id: string
  path: string
  arn: string
  permissions_boundary_arn: string | null
  tags: string
  created_at: Num
}

export interface PolicyRow {
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

export interface ProviderRow {
  arn: string
  account_id: string
  url: string
  client_ids: string
  thumbprints: string
  tags: string
  created_at: Num
}

export interface AccessKeyRow {
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

export function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

export const date = (v: Num): Date => new Date(Number(v))

export function toRole(r: RoleRow): RoleRecord {
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

export function toUser(r: UserRow): UserRecord {
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

export function toProvider(r: ProviderRow): OidcProviderRecord {
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

export function toAccessKey(r: AccessKeyRow): AccessKeyRecord {
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

export const AWS_POLICY_PREFIX = 'arn:aws:iam::aws:policy/'

/** Sort by name, case-insensitively then exactly (AWS lists entities alphabetically). */
export const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) => {
    const x = key(a).toLowerCase()
    const y = key(b).toLowerCase()
    return x < y ? -1 : x > y ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  }
