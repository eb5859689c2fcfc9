/**
 * @module server/ports
 * The identity domain's ports over one store: the IAM repository implements the role, user, policy, OIDC
 * provider and access-key lookups; `keys/session-keys.ts` the session keyring. The server builds them once per
 * app instance (`startServer`); CLI commands and tests that need them without a server use this too.
 */
import { createIamRepo } from '../aws/iam/repo.ts'
import type { IdentityPorts } from '../identity/ports.ts'
import { createSessionKeyring } from '../keys/session-keys.ts'
import type { Queryable } from '../store/db.ts'

export function createIdentityPorts(
  db: Queryable,
  options: { now: () => Date; randomBytes: (size: number) => Uint8Array },
): IdentityPorts {
  const iam = createIamRepo(db)
  return {
    roles: iam,
    users: iam,
    policies: iam,
    oidcProviders: iam,
    accessKeys: iam,
    keyring: createSessionKeyring(db, options.randomBytes),
    now: options.now,
    randomBytes: options.randomBytes,
  }
}
