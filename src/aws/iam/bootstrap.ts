/**
 * @module aws/iam/bootstrap
 * The bootstrap administrator: on first start `podtrust up` creates the IAM user `podtrust-admin` in the
 * default account with `AdministratorAccess` attached and one access key, and prints the key. Idempotent:
 * later starts return the existing active key (the data directory is the trust boundary: mode 0700).
 *
 * @example
 * const { accessKeyId, secretAccessKey } = await ensureBootstrapAdmin(db, { accountId: '000000000000' })
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import type { Db } from '../../store/db.ts'
import { withStoreLock } from '../../store/db.ts'
import { createAccessKeyFor, newUser } from './actions-users.ts'
import { createIamRepo } from './repo.ts'

export const BOOTSTRAP_ADMIN_USER = 'podtrust-admin'
export const ADMINISTRATOR_ACCESS_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess'

export interface BootstrapEnv {
  accountId: string
  now?: Date
  randomBytes?: (size: number) => Uint8Array
}

export interface BootstrapCredentials {
  accessKeyId: string
  secretAccessKey: string
  userName: string
  userArn: string
  /** True when this call created the access key (the only time its secret is shown by `up`). */
  created?: boolean
}

export async function ensureBootstrapAdmin(
  db: Db,
  env: BootstrapEnv,
): Promise<BootstrapCredentials> {
  const now = env.now ?? new Date()
  const random = env.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)))
  // Under a store lock: replicas starting together must create one administrator with one key.
  return withStoreLock(db, `bootstrap-admin:${env.accountId}`, async (tx) => {
    const repo = createIamRepo(tx)
    await repo.ensureAccount(env.accountId, now)
    let user = await repo.getUser(env.accountId, BOOTSTRAP_ADMIN_USER)
    if (user === undefined) {
      user = newUser(env.accountId, BOOTSTRAP_ADMIN_USER, '/', now, random)
      await repo.insertUser(user)
    }
    await repo.attachPolicy(env.accountId, 'user', user.userName, ADMINISTRATOR_ACCESS_ARN, now)
    const keys = await repo.listAccessKeys(env.accountId, user.userName)
    const active = keys.find((k) => k.status === 'Active')
    if (active !== undefined) {
      return {
        accessKeyId: active.accessKeyId,
        secretAccessKey: active.secretAccessKey,
        userName: user.userName,
        userArn: user.arn,
      }
    }
    const key = await createAccessKeyFor(repo, user, now, random)
    return {
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      userName: user.userName,
      userArn: user.arn,
      created: true,
    }
  })
}

/** The bootstrap admin's active key without creating anything (for `podtrust admin-credentials`). */
export async function getBootstrapAdmin(
  db: Db,
  accountId: string,
): Promise<BootstrapCredentials | undefined> {
  const repo = createIamRepo(db)
  const user = await repo.getUser(accountId, BOOTSTRAP_ADMIN_USER)
  if (user === undefined) return undefined
  const active = (await repo.listAccessKeys(accountId, user.userName)).find(
    (k) => k.status === 'Active',
  )
  return active === undefined
    ? undefined
    : {
        accessKeyId: active.accessKeyId,
        secretAccessKey: active.secretAccessKey,
        userName: user.userName,
        userArn: user.arn,
      }
}
