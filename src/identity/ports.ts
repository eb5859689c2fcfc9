/**
 * @module identity/ports
 * What the identity domain needs from the outside, as interfaces it owns: role, user, policy, OIDC provider
 * and access-key lookups (implemented by the IAM repository, `src/aws/iam/repo.ts`), the session keyring
 * (implemented by `src/keys/session-keys.ts`), the clock and randomness. The composition root
 * (`src/server/`) builds one implementation of each and hands them to every caller on the `AppContext`, which
 * extends `IdentityPorts`; identity code never opens a store, reads the wall clock or draws its own bytes.
 */
import type { Keyring } from '../keys/session-keys.ts'
import type { SessionTag } from './types.ts'

export type { Keyring, KeyringKey } from '../keys/session-keys.ts'

/** The injected clock: every expiry, signature date and audit time comes from it. */
export type Clock = () => Date
/** Injected randomness (ids, keys, IVs). */
export type RandomBytes = (size: number) => Uint8Array

/** An IAM role as the identity domain sees it (the IAM repository's record satisfies it). */
export interface IdentityRole {
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
  tags: SessionTag[]
}

/** An IAM user as the identity domain sees it. */
export interface IdentityUser {
  accountId: string
  userName: string
  /** `AIDA…` */
  userId: string
  arn: string
  path: string
  permissionsBoundaryArn?: string
  tags: SessionTag[]
}

/** A long-term access key (`AKIA…`) and the user (or root) it belongs to. */
export interface IdentityAccessKey {
  accessKeyId: string
  secretAccessKey: string
  status: 'Active' | 'Inactive'
  userName: string
  userArn: string
  userId: string
  accountId: string
}

/** A registered OIDC identity provider (AssumeRoleWithWebIdentity). */
export interface IdentityOidcProvider {
  accountId: string
  arn: string
  /** Without `https://`, exactly as registered. */
  url: string
  clientIds: string[]
  thumbprints: string[]
}

/** A policy document with the id the policy engine reports it by (an ARN, or `role/NAME/inline/POLICY`). */
export interface PolicyDocumentRef {
  id: string
  document: string
  kind: 'inline' | 'managed'
}

export interface RoleLookup {
  getRoleByArn(arn: string): Promise<IdentityRole | undefined>
  /** Notes that a role was assumed (RoleLastUsed); batched by the adapter, never awaited on the request. */
  noteRoleUse?(roleArn: string, when: Date, region: string): void
  /** Inline + attached managed (default versions) policies of a role, inline first. */
  getRolePolicyDocuments(accountId: string, roleName: string): Promise<PolicyDocumentRef[]>
}

export interface UserLookup {
  getUser(accountId: string, userName: string): Promise<IdentityUser | undefined>
  /** Inline + attached managed (default versions) policies of a user, inline first. */
  getUserPolicyDocuments(accountId: string, userName: string): Promise<PolicyDocumentRef[]>
}

export interface ManagedPolicyLookup {
  /** The default version's document of a managed policy (customer or AWS managed). */
  getManagedPolicyDocument(arn: string): Promise<string | undefined>
}

export interface OidcProviderLookup {
  getOidcProviderByUrl(accountId: string, url: string): Promise<IdentityOidcProvider | undefined>
}

export interface AccessKeyLookup {
  getAccessKey(accessKeyId: string): Promise<IdentityAccessKey | undefined>
  /** Notes that a long-term key signed a request (AccessKeyLastUsed); batched, never awaited. */
  noteAccessKeyUse?(accessKeyId: string, when: Date, serviceName: string, region: string): void
}

/**
 * The AEAD keyring that seals session tokens, shared by every replica through the store. `current` may be
 * cached (briefly); `refresh` re-reads it, for a key id sealed by a rotation on another replica.
 */
export interface SessionKeyring {
  current(now: Date): Promise<Keyring>
  refresh(now: Date): Promise<Keyring>
}

/** Everything the identity domain reads or draws. `AppContext` (src/app/context.ts) extends it. */
export interface IdentityPorts {
  roles: RoleLookup
  users: UserLookup
  policies: ManagedPolicyLookup
  oidcProviders: OidcProviderLookup
  accessKeys: AccessKeyLookup
  keyring: SessionKeyring
  now: Clock
  randomBytes: RandomBytes
}
