/**
 * @module aws/iam/repo/principal-policies
 * Inline policies and managed-policy attachments of any principal type (roles, users; groups next), and the documents the policy engine evaluates for one principal.
 */
import type { Queryable } from '../../../store/db.ts'
import { awsManagedPolicy } from '../managed-policies.ts'
import { byName } from './rows.ts'
import type { ManagedPolicyStore, PolicyDocumentRef, PrincipalPolicyStore } from './types.ts'

type InlinePolicyMethods = Pick<
  PrincipalPolicyStore,
  'putInlinePolicy' | 'getInlinePolicy' | 'listInlinePolicies' | 'deleteInlinePolicy'
>
type AttachmentMethods = Pick<
  PrincipalPolicyStore,
  'attachPolicy' | 'detachPolicy' | 'listAttachedPolicies' | 'listPolicyEntities'
>

function inlinePolicyMethods(db: Queryable): InlinePolicyMethods {
  return {
    async putInlinePolicy(accountId, type, principalName, policyName, document, now) {
      await db.run(
        `INSERT INTO iam_inline_policies (account_id, principal_type, principal_name_lower, policy_name_lower,
           policy_name, document, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, principal_type, principal_name_lower, policy_name_lower)
         DO UPDATE SET policy_name = excluded.policy_name, document = excluded.document`,
        [
          accountId,
          type,
          principalName.toLowerCase(),
          policyName.toLowerCase(),
          policyName,
          document,
          now.getTime(),
        ],
      )
    },
    async getInlinePolicy(accountId, type, principalName, policyName) {
      const r = await db.get<{ policy_name: string; document: string }>(
        `SELECT policy_name, document FROM iam_inline_policies WHERE account_id = ? AND principal_type = ?
           AND principal_name_lower = ? AND policy_name_lower = ?`,
        [accountId, type, principalName.toLowerCase(), policyName.toLowerCase()],
      )
      return r === undefined ? undefined : { policyName: r.policy_name, document: r.document }
    },
    async listInlinePolicies(accountId, type, principalName) {
      const rows = await db.all<{ policy_name: string; document: string }>(
        `SELECT policy_name, document FROM iam_inline_policies WHERE account_id = ? AND principal_type = ?
           AND principal_name_lower = ?`,
        [accountId, type, principalName.toLowerCase()],
      )
      return rows
        .map((r) => ({ policyName: r.policy_name, document: r.document }))
        .sort(byName((p) => p.policyName))
    },
    async deleteInlinePolicy(accountId, type, principalName, policyName) {
      const r = await db.run(
        `DELETE FROM iam_inline_policies WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?
           AND policy_name_lower = ?`,
        [accountId, type, principalName.toLowerCase(), policyName.toLowerCase()],
      )
      return r.changes > 0
    },
  }
}

function attachmentMethods(db: Queryable): AttachmentMethods {
  return {
    async attachPolicy(accountId, type, principalName, policyArn, now) {
      await db.run(
        `INSERT INTO iam_attachments (account_id, principal_type, principal_name_lower, policy_arn, attached_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, principal_type, principal_name_lower, policy_arn) DO NOTHING`,
        [accountId, type, principalName.toLowerCase(), policyArn, now.getTime()],
      )
    },
    async detachPolicy(accountId, type, principalName, policyArn) {
      const r = await db.run(
        `DELETE FROM iam_attachments WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?
           AND policy_arn = ?`,
        [accountId, type, principalName.toLowerCase(), policyArn],
      )
      return r.changes > 0
    },
    async listAttachedPolicies(accountId, type, principalName) {
      const rows = await db.all<{ policy_arn: string; policy_name: string | null }>(
        `SELECT a.policy_arn, p.policy_name FROM iam_attachments a LEFT JOIN iam_policies p ON p.arn = a.policy_arn
          WHERE a.account_id = ? AND a.principal_type = ? AND a.principal_name_lower = ?`,
        [accountId, type, principalName.toLowerCase()],
      )
      return rows
        .map((r) => ({
          policyArn: r.policy_arn,
          policyName:
            r.policy_name ??
            awsManagedPolicy(r.policy_arn)?.policyName ??
            r.policy_arn.slice(r.policy_arn.lastIndexOf('/') + 1),
        }))
        .sort(byName((p) => p.policyName))
    },
    async listPolicyEntities(policyArn) {
      const rows = await db.all<{
        account_id: string
        principal_type: string
        name: string | null
      }>(
        `SELECT a.account_id, a.principal_type,
            COALESCE(r.role_name, u.user_name, g.group_name) AS name
           FROM iam_attachments a
           LEFT JOIN iam_roles r ON a.principal_type = 'role' AND r.account_id = a.account_id
             AND r.role_name_lower = a.principal_name_lower
           LEFT JOIN iam_users u ON a.principal_type = 'user' AND u.account_id = a.account_id
             AND u.user_name_lower = a.principal_name_lower
           LEFT JOIN iam_groups g ON a.principal_type = 'group' AND g.account_id = a.account_id
             AND g.group_name_lower = a.principal_name_lower
          WHERE a.policy_arn = ?`,
        [policyArn],
      )
      return rows
        .filter((r) => r.name !== null)
        .map((r) => ({
          accountId: r.account_id,
          type:
            r.principal_type === 'user'
              ? ('user' as const)
              : r.principal_type === 'group'
                ? ('group' as const)
                : ('role' as const),
          name: r.name!,
        }))
    },
  }
}

export function createPrincipalPolicyStore(
  db: Queryable,
  policies: Pick<ManagedPolicyStore, 'getManagedPolicyDocument'>,
): PrincipalPolicyStore {
  const store: PrincipalPolicyStore = {
    ...inlinePolicyMethods(db),
    ...attachmentMethods(db),
    async principalPolicyDocuments(accountId, type, name) {
      const out: PolicyDocumentRef[] = []
      for (const p of await store.listInlinePolicies(accountId, type, name)) {
        out.push({
          id: `${type}/${name}/inline/${p.policyName}`,
          document: p.document,
          kind: 'inline',
        })
      }
      for (const a of await store.listAttachedPolicies(accountId, type, name)) {
        const document = await policies.getManagedPolicyDocument(a.policyArn)
        if (document !== undefined) out.push({ id: a.policyArn, document, kind: 'managed' })
      }
      return out
    },
    async deletePrincipalPolicies(accountId, type, principalName) {
      const lower = principalName.toLowerCase()
      await db.run(
        'DELETE FROM iam_inline_policies WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?',
        [accountId, type, lower],
      )
      await db.run(
        'DELETE FROM iam_attachments WHERE account_id = ? AND principal_type = ? AND principal_name_lower = ?',
        [accountId, type, lower],
      )
    },
  }
  return store
}
