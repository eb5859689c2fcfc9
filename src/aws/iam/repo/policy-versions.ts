/**
 * @module aws/iam/repo/policy-versions
 * The versions of a managed policy: customer managed ones are rows (`vN`, numbers never reused); an AWS
 * managed policy has the versions of the catalog (the default and earlier ones).
 */
import type { Queryable } from '../../../store/db.ts'
import { awsManagedPolicy, awsManagedPolicyVersion } from '../managed-policies.ts'
import { AWS_POLICY_PREFIX, date, type Num } from './rows.ts'
import type { PolicyVersionRecord, PolicyVersionStore } from './types.ts'

interface VersionRow {
  version_id: string
  document: string
  created_at: Num
  default_version_id: string
}

const VERSION_SELECT = `SELECT v.version_id, v.document, v.created_at, p.default_version_id
  FROM iam_policy_versions v JOIN iam_policies p ON p.arn = v.policy_arn WHERE v.policy_arn = ?`

const toVersion = (r: VersionRow): PolicyVersionRecord => ({
  versionId: r.version_id,
  document: r.document,
  isDefaultVersion: r.version_id === r.default_version_id,
  createDate: date(r.created_at),
})

export function createPolicyVersionStore(db: Queryable): PolicyVersionStore {
  return {
    async getPolicyVersion(arn, versionId) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        return awsManagedPolicyVersion(arn, versionId)
      }
      const r = await db.get<VersionRow>(`${VERSION_SELECT} AND v.version_id = ?`, [arn, versionId])
      return r === undefined ? undefined : toVersion(r)
    },
    async listPolicyVersions(arn) {
      if (arn.startsWith(AWS_POLICY_PREFIX)) {
        return awsManagedPolicy(arn)?.versions ?? []
      }
      const rows = await db.all<VersionRow>(VERSION_SELECT, [arn])
      // Newest first: `v10` after `v9`.
      return rows
        .map(toVersion)
        .sort((a, b) => Number(b.versionId.slice(1)) - Number(a.versionId.slice(1)))
    },
    async createPolicyVersion(arn, document, setAsDefault, now) {
      const p = await db.get<{ next_version: Num }>(
        'SELECT next_version FROM iam_policies WHERE arn = ?',
        [arn],
      )
      const n = Number(p?.next_version ?? 1)
      const versionId = `v${n}`
      await db.run(
        'INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at) VALUES (?, ?, ?, ?)',
        [arn, versionId, document, now.getTime()],
      )
      await db.run(
        setAsDefault
          ? 'UPDATE iam_policies SET next_version = ?, default_version_id = ?, updated_at = ? WHERE arn = ?'
          : 'UPDATE iam_policies SET next_version = ?, updated_at = ? WHERE arn = ?',
        setAsDefault ? [n + 1, versionId, now.getTime(), arn] : [n + 1, now.getTime(), arn],
      )
      return versionId
    },
    async deletePolicyVersion(arn, versionId) {
      const r = await db.run(
        'DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?',
        [arn, versionId],
      )
      return r.changes > 0
    },
    async setDefaultPolicyVersion(arn, versionId, now) {
      await db.run('UPDATE iam_policies SET default_version_id = ?, updated_at = ? WHERE arn = ?', [
        versionId,
        now.getTime(),
        arn,
      ])
    },
  }
}
