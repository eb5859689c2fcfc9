/**
 * The bench bucket's caller, for bench/gateway/gateway.ts and ab.ts: one IAM user allowed s3:* on the bench
 * bucket and an access key of its own. The IAM modules come in as arguments because ab.ts loads them from
 * two checkouts (the baseline's and this one).
 */
import { randomBytes } from 'node:crypto'
import type * as IdsModule from '../../src/aws/iam/ids.ts'
import type { createIamRepo } from '../../src/aws/iam/repo.ts'

export async function seedBenchUser(
  repo: ReturnType<typeof createIamRepo>,
  ids: Pick<typeof IdsModule, 'newUniqueId' | 'newSecretAccessKey'>,
  account: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const now = new Date()
  const rnd = (n: number) => randomBytes(n)
  await repo.ensureAccount(account, now)
  await repo.insertUser({
    accountId: account,
    userName: 'bench',
    userId: ids.newUniqueId('AIDA', account, rnd),
    arn: `arn:aws:iam::${account}:user/bench`,
    path: '/',
    createDate: now,
    tags: [],
  })
  await repo.putInlinePolicy(
    account,
    'user',
    'bench',
    'bench',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 's3:*',
          Resource: ['arn:aws:s3:::bench', 'arn:aws:s3:::bench/*'],
        },
      ],
    }),
    now,
  )
  const key = {
    accessKeyId: ids.newUniqueId('AKIA', account, rnd, 16),
    secretAccessKey: ids.newSecretAccessKey(rnd),
  }
  await repo.insertAccessKey({
    ...key,
    status: 'Active',
    accountId: account,
    userName: 'bench',
    createDate: now,
  })
  return key
}
