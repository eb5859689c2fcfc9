/**
 * @module aws/iam/repo/managed-policies
 * Customer managed policies (rows; their versions: `policy-versions.ts`) and AWS managed policies (the
 * bundled catalog; only their attachments are rows), with attachment and boundary counts.
 */
import type { Queryable } from '../../../store/db.ts'
import { awsManagedPolicy, awsManagedPolicies, type AwsManagedPolicy } from '../managed-policies.ts'
import { AWS_POLICY_PREFIX, byName, date, parseJson, type Num, type PolicyRow } from './rows.ts'
import type { ManagedPolicyRecord, ManagedPolicyStore, Tag } from './types.ts'

/** How many principals attach the policy, and how many use it as a permissions boundary. */
async function counts(
  db: Queryable,
  arn: string,
): Promise<{ attachments: number; boundaries: number }> {
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

async function fromRow(db: Queryable, r: PolicyRow): Promise<ManagedPolicyRecord> {
  const c = await counts(db, r.arn)
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

async function fromCatalog(db: Queryable, p: AwsManagedPolicy): Promise<ManagedPolicyRecord> {
  const c = await counts(db, p.arn)
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

export function createManagedPolicyStore(db: Queryable): ManagedPolicyStore {
  const store: ManagedPolicyStore = {
    async getManagedPolicy(arn) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        const p = awsManagedPolicy(arn)
        return p === undefined ? undefined : fromCatalog(db, p)
      }
      const r = await db.get<PolicyRow>('SELECT * FROM iam_policies WHERE arn = ?', [arn])
      return r === undefined ? undefined : fromRow(db, r)
    },
    async getManagedPolicyByName(accountId, policyName) {
      const r = await db.get<PolicyRow>(
        'SELECT * FROM iam_policies WHERE account_id = ? AND policy_name_lower = ?',
        [accountId, policyName.toLowerCase()],
      )
      return r === undefined ? undefined : fromRow(db, r)
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
        for (const r of rows) out.push(await fromRow(db, r))
      }
      if (scope !== 'Local') {
        for (const p of awsManagedPolicies()) out.push(await fromCatalog(db, p))
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
  }
  return store
}
