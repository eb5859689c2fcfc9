/**
 * @module server/ports
 * The identity domain's ports over one store: the IAM repository implements the role, user, policy, OIDC
 * provider and access-key lookups; `keys/session-keys.ts` the session keyring. The server builds them once per
 * app instance (`startServer`); CLI commands and tests that need them without a server use this too.
 */
import { createIamRepo } from '../aws/iam/repo.ts'
import type { UsageRecorder } from '../aws/iam/usage.ts'
import type { IdentityPorts } from '../identity/ports.ts'
import { createSessionKeyring } from '../keys/session-keys.ts'
import type { Queryable } from '../store/db.ts'

export function createIdentityPorts(
  db: Queryable,
  options: {
    now: () => Date
    randomBytes: (size: number) => Uint8Array
    /** Records RoleLastUsed / AccessKeyLastUsed (the server passes one; CLI commands do not). */
    usage?: UsageRecorder
  },
): IdentityPorts {
  const iam = createIamRepo(db)
  const usage = options.usage
  return {
    roles:
      usage === undefined
        ? iam
        : {
            getRoleByArn: (arn) => iam.getRoleByArn(arn),
            getRolePolicyDocuments: (a, n) => iam.getRolePolicyDocuments(a, n),
            noteRoleUse: (arn, when, region) => usage.noteRoleUse(arn, when, region),
          },
    users: iam,
    policies: iam,
    oidcProviders: iam,
    accessKeys:
      usage === undefined
        ? iam
        : {
            getAccessKey: (id) => iam.getAccessKey(id),
            noteAccessKeyUse: (id, when, service, region) =>
              usage.noteAccessKeyUse(id, when, service, region),
          },
    keyring: createSessionKeyring(db, options.randomBytes),
    now: options.now,
    randomBytes: options.randomBytes,
  }
}
