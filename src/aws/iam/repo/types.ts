/**
 * @module aws/iam/repo/types
 * The IAM repository's records and its interface, one store per entity (accounts, roles, users, access
 * keys, managed policies with versions, OIDC providers, principal policies). `createIamRepo`
 * (`src/aws/iam/repo.ts`) composes them over one `Queryable`. The records extend what the identity domain's
 * ports read (`src/identity/ports.ts`), so the repository implements those ports as it is.
 */
import type {
  IdentityAccessKey,
  IdentityOidcProvider,
  IdentityRole,
  IdentityUser,
  PolicyDocumentRef,
} from '../../../identity/ports.ts'
import type { SessionTag } from '../../../identity/types.ts'

export type { PolicyDocumentRef } from '../../../identity/ports.ts'

/** A tag: the identity domain's `SessionTag` shape (key, value). */
export type Tag = SessionTag

/** A role as IAM stores it: what the identity domain reads (`IdentityRole`) plus IAM's own fields. */
export interface RoleRecord extends IdentityRole {
  description?: string
  createDate: Date
  roleLastUsed?: { lastUsedDate: Date; region: string }
}

/** A user as IAM stores it: `IdentityUser` plus its creation date. */
export interface UserRecord extends IdentityUser {
  createDate: Date
}

/** An OIDC provider as IAM stores it: `IdentityOidcProvider` plus its date and tags. */
export interface OidcProviderRecord extends IdentityOidcProvider {
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

/** A long-term key as IAM stores it: `IdentityAccessKey` plus its dates. */
export interface AccessKeyRecord extends IdentityAccessKey {
  createDate: Date
  lastUsed?: { date: Date; serviceName: string; region: string }
}

export interface AccountRecord {
  accountId: string
  alias?: string
  createDate: Date
}

/**
 * An entity that holds inline policies and managed-policy attachments. A new entity type (IAM groups) is a
 * new member here: the principal-policy store and actions serve it without a copy.
 */
export type PrincipalType = 'role' | 'user' | 'group'

export interface GroupRecord {
  accountId: string
  groupName: string
  /** `AGPA…` */
  groupId: string
  arn: string
  path: string
  createDate: Date
}

export interface InstanceProfileRecord {
  accountId: string
  instanceProfileName: string
  /** `AIPA…` */
  instanceProfileId: string
  arn: string
  path: string
  createDate: Date
  tags: Tag[]
  /** Names of the roles in the profile (IAM allows at most one). */
  roleNames: string[]
}

export interface LoginProfileRecord {
  accountId: string
  userName: string
  /** scrypt: `scrypt$<salt b64>$<hash b64>`; the password itself is never stored. */
  passwordHash: string
  passwordResetRequired: boolean
  createDate: Date
}

export interface GroupStore {
  getGroup(accountId: string, groupName: string): Promise<GroupRecord | undefined>
  /** Ordered by name. */
  listGroups(accountId: string, pathPrefix?: string): Promise<GroupRecord[]>
  countGroups(accountId: string): Promise<number>
  insertGroup(group: GroupRecord): Promise<void>
  /** Renames and/or moves a group (memberships and policies follow). */
  updateGroup(accountId: string, groupName: string, next: GroupRecord): Promise<void>
  deleteGroup(accountId: string, groupName: string): Promise<boolean>
  addUserToGroup(accountId: string, groupName: string, userName: string, now: Date): Promise<void>
  removeUserFromGroup(accountId: string, groupName: string, userName: string): Promise<boolean>
  /** Lower-cased member user names. */
  listGroupMembers(accountId: string, groupName: string): Promise<string[]>
  /** The groups of a user, ordered by name. */
  listGroupsForUser(accountId: string, userName: string): Promise<GroupRecord[]>
}

export interface InstanceProfileStore {
  getInstanceProfile(accountId: string, name: string): Promise<InstanceProfileRecord | undefined>
  /** Ordered by name. */
  listInstanceProfiles(accountId: string, pathPrefix?: string): Promise<InstanceProfileRecord[]>
  listInstanceProfilesForRole(accountId: string, roleName: string): Promise<InstanceProfileRecord[]>
  countInstanceProfiles(accountId: string): Promise<number>
  insertInstanceProfile(profile: InstanceProfileRecord): Promise<void>
  updateInstanceProfileTags(accountId: string, name: string, tags: Tag[]): Promise<void>
  deleteInstanceProfile(accountId: string, name: string): Promise<boolean>
  addRoleToInstanceProfile(accountId: string, name: string, roleName: string): Promise<void>
  removeRoleFromInstanceProfile(accountId: string, name: string, roleName: string): Promise<boolean>
}

export interface LoginProfileStore {
  getLoginProfile(accountId: string, userName: string): Promise<LoginProfileRecord | undefined>
  putLoginProfile(profile: LoginProfileRecord): Promise<void>
  deleteLoginProfile(accountId: string, userName: string): Promise<boolean>
}

export interface AccountStore {
  ensureAccount(accountId: string, now: Date, alias?: string): Promise<void>
  getAccount(accountId: string): Promise<AccountRecord | undefined>
  listAccounts(): Promise<AccountRecord[]>
  /** Sets (or with undefined removes) the account's alias. */
  setAccountAlias(accountId: string, alias: string | undefined): Promise<void>
  /** The account that holds `alias`, if any (aliases are unique across AWS). */
  accountByAlias(alias: string): Promise<string | undefined>
  /** The account password policy as JSON text. */
  getPasswordPolicy(accountId: string): Promise<string | undefined>
  putPasswordPolicy(accountId: string, policy: string): Promise<void>
  deletePasswordPolicy(accountId: string): Promise<boolean>
}

export interface RoleStore {
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
  /** Inline + attached managed (default versions) policies of a role, inline first. */
  getRolePolicyDocuments(accountId: string, roleName: string): Promise<PolicyDocumentRef[]>
}

export interface UserStore {
  getUser(accountId: string, userName: string): Promise<UserRecord | undefined>
  getUserByArn(arn: string): Promise<UserRecord | undefined>
  listUsers(accountId: string, pathPrefix?: string): Promise<UserRecord[]>
  insertUser(user: UserRecord): Promise<void>
  updateUser(user: UserRecord): Promise<void>
  /** Renames and/or moves a user; its policies, keys, group memberships and login profile follow. */
  renameUser(accountId: string, userName: string, next: UserRecord): Promise<void>
  deleteUser(accountId: string, userName: string): Promise<boolean>
  /** Inline + attached managed (default versions) policies of a user, inline first. */
  getUserPolicyDocuments(accountId: string, userName: string): Promise<PolicyDocumentRef[]>
}

/** Inline policies and managed-policy attachments of roles and users (and any later `PrincipalType`). */
export interface PrincipalPolicyStore {
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
  /** Inline + attached managed (default versions) policies of one principal, inline first. */
  principalPolicyDocuments(
    accountId: string,
    type: PrincipalType,
    principalName: string,
  ): Promise<PolicyDocumentRef[]>
  /** Removes every inline policy and attachment of a principal (it is being deleted). */
  deletePrincipalPolicies(
    accountId: string,
    type: PrincipalType,
    principalName: string,
  ): Promise<void>
}

export interface ManagedPolicyStore {
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
}

export interface PolicyVersionStore {
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
}

export interface OidcProviderStore {
  getOidcProviderByUrl(accountId: string, url: string): Promise<OidcProviderRecord | undefined>
  getOidcProviderByArn(arn: string): Promise<OidcProviderRecord | undefined>
  listOidcProviders(accountId: string): Promise<OidcProviderRecord[]>
  insertOidcProvider(provider: OidcProviderRecord): Promise<void>
  /** Updates client ids, thumbprints and tags. */
  updateOidcProvider(provider: OidcProviderRecord): Promise<void>
  deleteOidcProvider(arn: string): Promise<boolean>
}

export interface AccessKeyStore {
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
}

export interface IamRepo
  extends
    AccountStore,
    RoleStore,
    UserStore,
    PrincipalPolicyStore,
    ManagedPolicyStore,
    PolicyVersionStore,
    OidcProviderStore,
    AccessKeyStore,
    GroupStore,
    InstanceProfileStore,
    LoginProfileStore {}
