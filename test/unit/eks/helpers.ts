import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eksMigrations } from '../../../src/aws/eks/migrations.ts'
import { createEksRepo } from '../../../src/aws/eks/repo.ts'
import type { EksDeps } from '../../../src/aws/eks/service.ts'
import type { Db } from '../../../src/store/db.ts'
import { openDb } from '../../../src/server/store.ts'
import { type Engine, openTestDb } from '../store/engines.ts'

export const ACCOUNT = '111122223333'
export const REGION = 'us-west-2'

export interface TestStore {
  db: Db
  deps: EksDeps
  clock: { now: Date }
  close(): Promise<void>
}

export async function openTestStore(
  options: { roles?: string[]; engine?: Engine } = {},
): Promise<TestStore> {
  if (options.engine === 'postgres') {
    const t = await openTestDb('postgres', { migrations: eksMigrations })
    return build(t.db, () => t.cleanup(), options.roles)
  }
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-eks-'))
  const db = await openDb({ dataDir: dir, migrations: eksMigrations })
  return build(
    db,
    async () => {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
    options.roles,
  )
}

function build(db: Db, cleanup: () => Promise<void>, roles: string[] | undefined): TestStore {
  const clock = { now: new Date('2026-01-01T00:00:00Z') }
  const deps: EksDeps = {
    repo: createEksRepo(db),
    now: () => clock.now,
    randomBytes: (n) => randomBytes(n),
    defaults: { accountId: ACCOUNT, region: REGION },
    resolveIssuer: async (name) => `https://127.0.0.1:7443/issuers/${name}`,
    ...(roles === undefined ? {} : { roleExists: async (arn: string) => roles.includes(arn) }),
  }
  return {
    db,
    deps,
    clock,
    close: cleanup,
  }
}

export async function addCluster(
  store: TestStore,
  name: string,
  extra: { issuerUrl?: string } = {},
) {
  await store.deps.repo.putCluster({
    name,
    accountId: undefined,
    region: undefined,
    issuerUrl: extra.issuerUrl,
    issuerName: extra.issuerUrl === undefined ? `cluster:${name}` : undefined,
    tags: {},
    createdAt: store.clock.now,
  })
}

export const roleArn = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`
