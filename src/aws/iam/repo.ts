/**
 * @module aws/iam/repo
 * Persistence of IAM entities over the portable `Queryable` (SQLite / PostgreSQL), one store per entity
 * (`src/aws/iam/repo/`): accounts, roles, users, access keys, managed policies with versions, OIDC providers,
 * and the principal policies (inline and attached) of roles and users. The repository stores and reads; it
 * does not validate (the IAM actions and config sections do). AWS managed policies are read from the bundled
 * catalog; only their attachments are rows.
 *
 * @example
 * const iam = createIamRepo(ctx.db)
 * const role = await iam.getRoleByArn('arn:aws:iam::111122223333:role/app')
 * const docs = role && (await iam.getRolePolicyDocuments(role.accountId, role.roleName))
 */
import type { Queryable } from '../../store/db.ts'
import { createAccessKeyStore } from './repo/access-keys.ts'
import { createAccountStore } from './repo/accounts.ts'
import { createGroupStore } from './repo/groups.ts'
import { createInstanceProfileStore } from './repo/instance-profiles.ts'
import { createLoginProfileStore } from './repo/login-profiles.ts'
import { createManagedPolicyStore } from './repo/managed-policies.ts'
import { createOidcProviderStore } from './repo/oidc-providers.ts'
import { createPolicyVersionStore } from './repo/policy-versions.ts'
import { createPrincipalPolicyStore } from './repo/principal-policies.ts'
import { createRoleStore } from './repo/roles.ts'
import { createUserStore } from './repo/users.ts'
import type { IamRepo } from './repo/types.ts'

export type * from './repo/types.ts'

export function createIamRepo(db: Queryable): IamRepo {
  const policies = createManagedPolicyStore(db)
  const principals = createPrincipalPolicyStore(db, policies)
  return {
    ...createAccountStore(db),
    ...createRoleStore(db, principals),
    ...createUserStore(db, principals),
    ...principals,
    ...policies,
    ...createPolicyVersionStore(db),
    ...createOidcProviderStore(db),
    ...createAccessKeyStore(db),
    ...createGroupStore(db, principals),
    ...createInstanceProfileStore(db),
    ...createLoginProfileStore(db),
  }
}
