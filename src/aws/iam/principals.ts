/**
 * @module aws/iam/principals
 * IAM resolves AWS principals of a trust policy to unique ids when it saves the policy, so a role or user
 * ARN that does not exist (in an account this podtrust hosts) is rejected with
 * `MalformedPolicyDocument: Invalid principal in policy: "AWS":"<arn>"` (IAM User Guide, "AWS JSON policy
 * elements: Principal", IAM role principals: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html). Accounts
 * podtrust does not host are foreign: their principals are accepted as AWS accepts cross-account ARNs.
 */
import { AwsError } from '../errors.ts'
import type { IamRepo } from './repo.ts'

function awsPrincipals(document: string): string[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(document)
  } catch {
    return []
  }
  const statements = (parsed as { Statement?: unknown }).Statement
  const list = Array.isArray(statements) ? statements : [statements]
  const out: string[] = []
  for (const s of list) {
    if (typeof s !== 'object' || s === null) continue
    const principal = (s as { Principal?: unknown }).Principal
    if (typeof principal !== 'object' || principal === null) continue
    const aws = (principal as { AWS?: unknown }).AWS
    for (const v of Array.isArray(aws) ? aws : [aws]) if (typeof v === 'string') out.push(v)
  }
  return out
}

export async function checkTrustPrincipals(repo: IamRepo, document: string): Promise<void> {
  for (const arn of awsPrincipals(document)) {
    const m = /^arn:aws:iam::(\d{12}):(role|user)\/(.+)$/.exec(arn)
    if (m === null) continue
    if ((await repo.getAccount(m[1]!)) === undefined) continue
    const found = m[2] === 'role' ? await repo.getRoleByArn(arn) : await repo.getUserByArn(arn)
    if (found === undefined) {
      throw new AwsError('MalformedPolicyDocument', `Invalid principal in policy: "AWS":"${arn}"`)
    }
  }
}
