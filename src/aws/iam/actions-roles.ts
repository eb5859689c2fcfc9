/**
 * @module aws/iam/actions-roles
 * Roles: Create/Get/List/Update/UpdateRoleDescription/UpdateAssumeRolePolicy/Delete, Tag/Untag/ListRoleTags,
 * Put/DeleteRolePermissionsBoundary; inline role policies, managed attachments and tags come from the shared
 * principal-policy actions over `roleKind`. Validation order: model constraints, then authorization, then
 * existence and quotas, as IAM answers.
 */
import { isAwsOwnedResourceWrite } from '../../policy/index.ts'
import { AwsError } from '../errors.ts'
import { requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import { checkPolicyDocument, checkTrustPolicySize } from './documents.ts'
import {
  mustGetRole,
  pageFields,
  paginate,
  roleResource,
  roleXml,
  tagContext,
  withIam,
  type IamEnv,
} from './common.ts'
import { ID_PREFIX, newUniqueId, roleArn } from './ids.ts'
import { principalPolicyActions, type PrincipalKind } from './actions-principal-policies.ts'
import type { RoleRecord } from './repo.ts'
import { checkTrustPrincipals } from './principals.ts'
import {
  arnRules,
  checkPolicyArn,
  checkTags,
  descriptionRules,
  intParam,
  pathPrefixRules,
  pathRules,
  problemsOf,
  roleNameRules,
  throwIfProblems,
} from './validate.ts'
import type { OperationContext } from '../../identity/context.ts'

export const ROLES_PER_ACCOUNT = 1000

/** Validates a trust policy for a role: model, engine (type trust), principals that must exist, quota. */
export async function checkTrustPolicy(
  env: Pick<IamEnv, 'repo'>,
  member: string,
  document: string,
): Promise<void> {
  checkPolicyDocument(member, document, 'trust')
  await checkTrustPrincipals(env.repo, document)
  checkTrustPolicySize(document)
}

/** A permissions boundary must be an existing managed policy visible to the account. */
async function checkBoundary(env: IamEnv, arn: string): Promise<void> {
  checkPolicyArn(arn)
  const p = await env.repo.getManagedPolicy(arn)
  if (p === undefined || (p.accountId !== 'aws' && p.accountId !== env.accountId)) {
    throw new AwsError('NoSuchEntity', `Scope ARN: ${arn} does not exist or is not attachable.`)
  }
}

const createRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = req.params
    const roleName = p['RoleName']
    const document = p['AssumeRolePolicyDocument']
    const path = p['Path'] ?? '/'
    const tags = tagList(p) ?? []
    const problems = [
      ...(roleName === undefined
        ? ["Value null at 'roleName' failed to satisfy constraint: Member must not be null"]
        : []),
      ...problemsOf('roleName', roleName, roleNameRules),
      ...(document === undefined
        ? [
            "Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
          ]
        : []),
      ...problemsOf('path', p['Path'], pathRules),
      ...problemsOf('description', p['Description'], descriptionRules(1000)),
      ...problemsOf('permissionsBoundary', p['PermissionsBoundary'], arnRules),
    ]
    throwIfProblems(problems)
    const maxSessionDuration =
      intParam('MaxSessionDuration', p['MaxSessionDuration'], 3600, 43200) ?? 3600
    checkTags(tags)
    const name = roleName!
    await env.authorize('CreateRole', roleArn(env.accountId, path, name), {
      ...tagContext(tags),
      ...(p['PermissionsBoundary'] === undefined
        ? {}
        : { extra: { 'iam:PermissionsBoundary': p['PermissionsBoundary'] } }),
    })
    await checkTrustPolicy(env, 'assumeRolePolicyDocument', document!)
    if (p['PermissionsBoundary'] !== undefined) await checkBoundary(env, p['PermissionsBoundary'])
    if ((await env.repo.getRole(env.accountId, name)) !== undefined) {
      throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`)
    }
    if ((await env.repo.countRoles(env.accountId)) >= ROLES_PER_ACCOUNT) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for RolesPerAccount: ${ROLES_PER_ACCOUNT}`,
      )
    }
    const role = {
      accountId: env.accountId,
      roleName: name,
      roleId: newUniqueId(ID_PREFIX.role, env.accountId, env.randomBytes),
      arn: roleArn(env.accountId, path, name),
      path,
      assumeRolePolicyDocument: document!,
      maxSessionDuration,
      ...(p['PermissionsBoundary'] === undefined
        ? {}
        : { permissionsBoundaryArn: p['PermissionsBoundary'] }),
      ...(p['Description'] === undefined ? {} : { description: p['Description'] }),
      createDate: env.now,
      tags,
    }
    await env.repo.insertRole(role)
    return { Role: roleXml(role, 'create') }
  })

/** Parses and validates the `RoleName` every role action takes. */
function roleNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'RoleName')
  throwIfProblems(problemsOf('roleName', name, roleNameRules))
  return name
}

/** Authorizes `action` on the named role (its ARN when it exists), then loads it. */
async function authorizedRole(
  env: IamEnv,
  action: string,
  context?: OperationContext,
): Promise<RoleRecord> {
  const name = roleNameOf(env)
  const existing = await env.repo.getRole(env.accountId, name)
  if (existing !== undefined) assertModifiable(existing, action)
  await env.authorize(action, roleResource(env, name, existing), context)
  if (existing === undefined) await mustGetRole(env, name)
  return existing!
}

/**
 * Service-linked roles are changed only by their service: "You can't modify the permissions or trust policy …
 * you can edit the description" (IAM User Guide, "Using service-linked roles"); IAM answers UnmodifiableEntity.
 */
function assertModifiable(role: RoleRecord, action: string): void {
  if (!role.path.startsWith('/aws-service-role/') && !role.path.startsWith('/aws-reserved/')) return
  if (!isAwsOwnedResourceWrite(`iam:${action.toLowerCase()}`, role.arn)) return
  throw new AwsError(
    'UnmodifiableEntity',
    `Cannot perform the operation on the protected role '${role.roleName}' - this role is only modifiable by AWS`,
  )
}

const getRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => ({ Role: roleXml(await authorizedRole(env, 'GetRole'), 'get') }))

const listRoles: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const prefix = req.params['PathPrefix']
    throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
    await env.authorize('ListRoles', `arn:aws:iam::${env.accountId}:role/`)
    const page = paginate(await env.repo.listRoles(env.accountId, prefix), req)
    return { Roles: page.items.map((r) => roleXml(r, 'list')), ...pageFields(page) }
  })

const updateRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    throwIfProblems(problemsOf('description', req.params['Description'], descriptionRules(1000)))
    const duration = intParam('MaxSessionDuration', req.params['MaxSessionDuration'], 3600, 43200)
    const role = await authorizedRole(env, 'UpdateRole')
    await env.repo.updateRole({
      ...role,
      ...(duration === undefined ? {} : { maxSessionDuration: duration }),
      ...(req.params['Description'] === undefined
        ? {}
        : { description: req.params['Description'] }),
    })
    return {}
  })

const updateRoleDescription: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const description = requiredParam(req, 'Description')
    throwIfProblems(problemsOf('description', description, descriptionRules(1000)))
    const role = await authorizedRole(env, 'UpdateRoleDescription')
    const updated = { ...role, description }
    await env.repo.updateRole(updated)
    return { Role: roleXml(updated, 'update') }
  })

const updateAssumeRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const document = requiredParam(req, 'PolicyDocument')
    const role = await authorizedRole(env, 'UpdateAssumeRolePolicy')
    await checkTrustPolicy(env, 'policyDocument', document)
    await env.repo.updateRole({ ...role, assumeRolePolicyDocument: document })
    return undefined
  })

const deleteRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const role = await authorizedRole(env, 'DeleteRole')
    if ((await env.repo.listInstanceProfilesForRole(env.accountId, role.roleName)).length > 0) {
      throw new AwsError(
        'DeleteConflict',
        'Cannot delete entity, must remove roles from instance profile first.',
      )
    }
    if ((await env.repo.listAttachedPolicies(env.accountId, 'role', role.roleName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.')
    }
    if ((await env.repo.listInlinePolicies(env.accountId, 'role', role.roleName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.')
    }
    await env.repo.deleteRole(env.accountId, role.roleName)
    return undefined
  })

const putRolePermissionsBoundary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = requiredParam(req, 'PermissionsBoundary')
    roleNameOf(env)
    throwIfProblems(problemsOf('permissionsBoundary', arn, arnRules))
    const role = await authorizedRole(env, 'PutRolePermissionsBoundary', {
      extra: { 'iam:PermissionsBoundary': arn },
    })
    await checkBoundary(env, arn)
    await env.repo.updateRole({ ...role, permissionsBoundaryArn: arn })
    return undefined
  })

const deleteRolePermissionsBoundary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const role = await authorizedRole(env, 'DeleteRolePermissionsBoundary')
    const updated = { ...role }
    delete updated.permissionsBoundaryArn
    await env.repo.updateRole(updated)
    return undefined
  })

/** Roles as a principal kind: inline policies, managed attachments and tags (`actions-principal-policies.ts`). */
export const roleKind: PrincipalKind<RoleRecord> = {
  type: 'role',
  noun: 'Role',
  nameOf: roleNameOf,
  authorized: authorizedRole,
  name: (role) => role.roleName,
  tags: {
    of: (role) => role.tags,
    save: (env, role, tags) => env.repo.updateRole({ ...role, tags }),
  },
}

export const roleActions: Record<string, QueryHandler> = {
  CreateRole: createRole,
  GetRole: getRole,
  ListRoles: listRoles,
  UpdateRole: updateRole,
  UpdateRoleDescription: updateRoleDescription,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  DeleteRole: deleteRole,
  PutRolePermissionsBoundary: putRolePermissionsBoundary,
  DeleteRolePermissionsBoundary: deleteRolePermissionsBoundary,
  ...principalPolicyActions(roleKind),
}
