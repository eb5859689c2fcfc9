/**
 * @module policy/services
 * Service-specific authorization rules that no policy document expresses:
 *
 * - AWS-owned IAM resources. AWS managed policies (`arn:aws:iam::aws:policy/…`) "can't be changed" by customers
 *   (IAM User Guide, "AWS managed policies"); roles under `/aws-reserved/` (IAM Identity Center) and service-linked
 *   roles under `/aws-service-role/` are managed by their service: "You can't modify the permissions or trust
 *   policy of a service-linked role … you can edit the description" (IAM User Guide, "Using service-linked
 *   roles"); "IAM Identity Center … roles … can't be modified or deleted in IAM" (IAM Identity Center User Guide,
 *   "Permission sets"). Whatever an identity policy allows, these writes are denied.
 * - KMS aliases. `kms:CreateAlias`, `kms:UpdateAlias` and `kms:DeleteAlias` need permission "for the alias"
 *   (an IAM policy: aliases have no resource policy) and "for the KMS key" (the key policy, or an IAM policy the key
 *   policy delegates to); the alias and key must be in the same account (AWS KMS Developer Guide, "Controlling
 *   access to aliases").
 */

/** Writes to an AWS managed policy (account `aws`). */
const AWS_MANAGED_POLICY_WRITES = new Set([
  'iam:createpolicy',
  'iam:createpolicyversion',
  'iam:deletepolicy',
  'iam:deletepolicyversion',
  'iam:setdefaultpolicyversion',
  'iam:tagpolicy',
  'iam:untagpolicy',
])

/** Writes to a role that its service owns (`/aws-reserved/…`, `/aws-service-role/…`). */
const SERVICE_ROLE_WRITES = new Set([
  'iam:attachrolepolicy',
  'iam:createrole',
  'iam:deleterole',
  'iam:deleterolepermissionsboundary',
  'iam:deleterolepolicy',
  'iam:detachrolepolicy',
  'iam:putrolepermissionsboundary',
  'iam:putrolepolicy',
  'iam:tagrole',
  'iam:untagrole',
  'iam:updateassumerolepolicy',
  'iam:updaterole',
  'iam:updateroledescription',
  'iam:createservicelinkedrole',
  'iam:deleteservicelinkedrole',
])

/**
 * Service-linked roles keep what their owner may still do through IAM: edit the description, and be created or
 * deleted through the service-linked-role operations (IAM User Guide, "Using service-linked roles": "aws iam
 * update-role --description").
 */
const SERVICE_LINKED_ROLE_ALLOWED = new Set([
  'iam:updateroledescription',
  'iam:updaterole',
  'iam:createservicelinkedrole',
  'iam:deleteservicelinkedrole',
])

/** Is `resource` (an ARN) in IAM with the given resource prefix? Returns the part after the prefix. */
function iamResource(
  resource: string,
  account: string | undefined,
  prefix: string,
): string | undefined {
  if (!resource.startsWith('arn:')) return undefined
  const parts = resource.split(':')
  if (parts.length < 6 || parts[2] !== 'iam') return undefined
  if (account !== undefined && parts[4] !== account) return undefined
  const rest = parts.slice(5).join(':')
  return rest.startsWith(prefix) ? rest.slice(prefix.length) : undefined
}

/**
 * Is this an action AWS refuses on an AWS-owned IAM resource, whatever the policies say? `action` lower-cased.
 */
export function isAwsOwnedResourceWrite(action: string, resource: string): boolean {
  if (!action.startsWith('iam:')) return false
  if (
    AWS_MANAGED_POLICY_WRITES.has(action) &&
    iamResource(resource, 'aws', 'policy/') !== undefined
  )
    return true
  if (!SERVICE_ROLE_WRITES.has(action)) return false
  const rolePath = iamResource(resource, undefined, 'role/')
  if (rolePath === undefined) return false
  if (rolePath.startsWith('aws-reserved/')) return true
  return rolePath.startsWith('aws-service-role/') && !SERVICE_LINKED_ROLE_ALLOWED.has(action)
}

const KMS_ALIAS_ACTIONS = new Set(['kms:createalias', 'kms:updatealias', 'kms:deletealias'])

/** An alias-management action on an alias ARN (`arn:P:kms:R:A:alias/NAME`). `action` lower-cased. */
export function isKmsAliasRequest(action: string, resource: string): boolean {
  if (!KMS_ALIAS_ACTIONS.has(action)) return false
  const parts = resource.split(':')
  return parts.length >= 6 && parts[2] === 'kms' && parts.slice(5).join(':').startsWith('alias/')
}
