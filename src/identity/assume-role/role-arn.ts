/**
 * @module identity/assume-role/role-arn
 * The role ARN: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`; anything else is
 * `ValidationError "<arn> is invalid"` as STS answers (IAM User Guide, "IAM ARNs":
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
 */
import { AssumeRoleError } from './errors.ts'

export interface RoleArnParts {
  partition: string
  accountId: string
  path: string
  roleName: string
}

export function parseRoleArn(arn: string): RoleArnParts {
  const m = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):role\/(.+)$/.exec(arn)
  if (m === null) throw new AssumeRoleError('INVALID_ROLE_ARN', `${arn} is invalid`)
  const resource = m[3] as string
  const slash = resource.lastIndexOf('/')
  const roleName = resource.slice(slash + 1)
  if (roleName === '' || !/^[\w+=,.@-]+$/.test(roleName))
    throw new AssumeRoleError('INVALID_ROLE_ARN', `${arn} is invalid`)
  return {
    partition: m[1] as string,
    accountId: m[2] as string,
    path: slash === -1 ? '/' : `/${resource.slice(0, slash + 1)}`,
    roleName,
  }
}
