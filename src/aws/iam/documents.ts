/**
 * @module aws/iam/documents
 * Policy documents on IAM's write path and in its responses. Writes: the model's length and character
 * constraints, then the policy engine's save-time validation (IAM's exact `MalformedPolicyDocument`
 * messages), then IAM's size quotas. Responses: documents are returned byte-for-byte as submitted, strictly
 * RFC 3986 percent-encoded (IAM API reference, GetRolePolicy: "URL-encoded compliant with RFC 3986",
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html; botocore and the CLI decode
 * them, JS/Go SDKs do not).
 */
import { validatePolicy, type PolicyType } from '../../policy/index.ts'
import { AwsError } from '../errors.ts'
import type { PrincipalType } from './repo.ts'
import { documentRules, problemsOf, throwIfProblems } from './validate.ts'

/** Strict RFC 3986: everything but `A–Z a–z 0–9 - _ . ~` is percent-encoded. */
export function encodePolicyDocument(document: string): string {
  return encodeURIComponent(document).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** IAM counts policy size without whitespace (IAM User Guide, "IAM and AWS STS quotas"). */
export function policySize(document: string): number {
  return document.replace(/\s/g, '').length
}

/**
 * Validates a document submitted as `member` for a policy of `type`: model constraints (ValidationError),
 * engine save-time checks (MalformedPolicyDocument, the first error as AWS reports one).
 */
export function checkPolicyDocument(member: string, document: string, type: PolicyType): void {
  throwIfProblems(problemsOf(member, document, documentRules))
  let errors: { code: string; message: string }[]
  try {
    errors = validatePolicy(document, { type }).errors
  } catch {
    errors = [{ code: 'MalformedPolicyDocument', message: 'Syntax errors in policy.' }]
  }
  const first = errors[0]
  if (first === undefined) return
  // The engine reports IAM's size quotas as LimitExceeded; everything else is MalformedPolicyDocument.
  throw new AwsError(
    first.code === 'LimitExceeded' ? 'LimitExceeded' : 'MalformedPolicyDocument',
    first.message,
  )
}

/** Trust policy quota: 2048 characters without whitespace (LimitExceeded, AWS's quota wording). */
export const TRUST_POLICY_QUOTA = 2048
export const MANAGED_POLICY_QUOTA = 6144
export const ROLE_INLINE_QUOTA = 10240
export const USER_INLINE_QUOTA = 2048

export function checkTrustPolicySize(document: string): void {
  if (policySize(document) > TRUST_POLICY_QUOTA) {
    throw new AwsError(
      'LimitExceeded',
      `Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_QUOTA}`,
    )
  }
}

export function checkManagedPolicySize(document: string): void {
  if (policySize(document) > MANAGED_POLICY_QUOTA) {
    throw new AwsError(
      'LimitExceeded',
      `Cannot exceed quota for PolicySize: ${MANAGED_POLICY_QUOTA}`,
    )
  }
}

/** Aggregate inline policy quota per principal type (IAM User Guide, "IAM and AWS STS quotas"). */
export const INLINE_QUOTA: Record<PrincipalType, number> = {
  role: ROLE_INLINE_QUOTA,
  user: USER_INLINE_QUOTA,
  group: 5120,
}

/** The aggregate inline quota of a role (10,240) or user (2,048), over every inline policy. */
export function checkInlineTotal(kind: PrincipalType, name: string, documents: string[]): void {
  const quota = INLINE_QUOTA[kind]
  const total = documents.reduce((n, d) => n + policySize(d), 0)
  if (total > quota) {
    throw new AwsError(
      'LimitExceeded',
      `Maximum policy size of ${quota} bytes exceeded for ${kind} ${name}`,
    )
  }
}
