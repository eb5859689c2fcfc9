/**
 * @module aws/iam/actions-roles
 * Roles: Create/Get/List/Update/UpdateRoleDescription/UpdateAssumeRolePolicy/Delete, Tag/Untag/ListRoleTags,
 * Put/DeleteRolePermissionsBoundary, inline role policies (Put/Get/List/DeleteRolePolicy) and managed
 * attachments (Attach/Detach/ListAttachedRolePolicies). Validation order: model constraints, then
 * authorization, then existence and quotas, as IAM answers.
 */
import { AwsError } from '../errors.ts'
import { memberList, requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import {
  checkInlineTotal,
  checkPolicyDocument,
  checkTrustPolicySize,
  encodePolicyDocument,
} from './documents.ts'
import {
  mustGetPolicy,
  mustGetRole,
  pageFields,
  paginate,
  roleResource,
  roleXml,
  tagContext,
  tagsXml,
  withIam,
  type IamEnv,
} from './common.ts'
import { ID_PREFIX, newUniqueId, roleArn } from './ids.ts'
import { checkTrustPrincipals } from './principals.ts'
import {
  arnRules,
  checkPolicyArn,
  checkTagKeys,
  checkTags,
  descriptionRules,
  intParam,
  mergeTags,
  pathPrefixRules,
  pathRules,
  policyNameRules,
  problemsOf,
  removeTags,
  roleNameRules,
  sortedTags,
  throwIfProblems,
} from './validate.ts'

export const ROLES_PER_ACCOUNT = 1000
export const MANAGED_POLICIES_PER_ROLE = 10

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
        : { 'iam:PermissionsBoundary': p['PermissionsBoundary'] }),
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
  context?: Record<string, string | string[]>,
) {
  const name = roleNameOf(env)
  const existing = await env.repo.getRole(env.accountId, name)
  await env.authorize(action, roleResource(env, name, existing), context)
  if (existing === undefined) await mustGetRole(env, name)
  return existing!
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
    return { Role: roleXml(updated, 'get') }
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
    if ((await env.repo.listAttachedPolicies(env.accountId, 'role', role.roleName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.')
    }
    if ((await env.repo.listInlinePolicies(env.accountId, 'role', role.roleName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.')
    }
    await env.repo.deleteRole(env.accountId, role.roleName)
    return undefined
  })

const tagRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const tags = tagList(req.params) ?? []
    roleNameOf(env)
    checkTags(tags)
    const role = await authorizedRole(env, 'TagRole', tagContext(tags))
    await env.repo.updateRole({ ...role, tags: mergeTags(role.tags, tags) })
    return undefined
  })

const untagRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const keys = memberList(req.params, 'TagKeys') ?? []
    checkTagKeys(keys)
    const role = await authorizedRole(
      env,
      'UntagRole',
      keys.length > 0 ? { 'aws:TagKeys': keys } : {},
    )
    await env.repo.updateRole({ ...role, tags: removeTags(role.tags, keys) })
    return undefined
  })

const listRoleTags: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const role = await authorizedRole(env, 'ListRoleTags')
    const page = paginate(sortedTags(role.tags), req)
    return { Tags: tagsXml(page.items), ...pageFields(page) }
  })

const putRolePermissionsBoundary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = requiredParam(req, 'PermissionsBoundary')
    roleNameOf(env)
    throwIfProblems(problemsOf('permissionsBoundary', arn, arnRules))
    const role = await authorizedRole(env, 'PutRolePermissionsBoundary', {
      'iam:PermissionsBoundary': arn,
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

// ---- inline policies -----------------------------------------------------------------------------------

function policyNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'PolicyName')
  throwIfProblems(problemsOf('policyName', name, policyNameRules))
  return name
}

const putRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    roleNameOf(env)
    const policyName = policyNameOf(env)
    const document = requiredParam(req, 'PolicyDocument')
    const role = await authorizedRole(env, 'PutRolePolicy')
    checkPolicyDocument('policyDocument', document, 'inline')
    const others = (await env.repo.listInlinePolicies(env.accountId, 'role', role.roleName))
      .filter((x) => x.policyName.toLowerCase() !== policyName.toLowerCase())
      .map((x) => x.document)
    checkInlineTotal('role', role.roleName, [...others, document])
    await env.repo.putInlinePolicy(
      env.accountId,
      'role',
      role.roleName,
      policyName,
      document,
      env.now,
    )
    return undefined
  })

const getRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    roleNameOf(env)
    const policyName = policyNameOf(env)
    const role = await authorizedRole(env, 'GetRolePolicy')
    const p = await env.repo.getInlinePolicy(env.accountId, 'role', role.roleName, policyName)
    if (p === undefined) {
      throw new AwsError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`)
    }
    return {
      RoleName: role.roleName,
      PolicyName: p.policyName,
      PolicyDocument: encodePolicyDocument(p.document),
    }
  })

const listRolePolicies: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const role = await authorizedRole(env, 'ListRolePolicies')
    const names = (await env.repo.listInlinePolicies(env.accountId, 'role', role.roleName)).map(
      (p) => p.policyName,
    )
    const page = paginate(names, req)
    return { PolicyNames: page.items, ...pageFields(page) }
  })

const deleteRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    roleNameOf(env)
    const policyName = policyNameOf(env)
    const role = await authorizedRole(env, 'DeleteRolePolicy')
    if (!(await env.repo.deleteInlinePolicy(env.accountId, 'role', role.roleName, policyName))) {
      throw new AwsError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`)
    }
    return undefined
  })

// ---- managed attachments -------------------------------------------------------------------------------

function policyArnOf(env: IamEnv): string {
  const arn = requiredParam(env.request, 'PolicyArn')
  throwIfProblems(problemsOf('policyArn', arn, arnRules))
  checkPolicyArn(arn)
  return arn
}

const attachRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    roleNameOf(env)
    const arn = policyArnOf(env)
    const role = await authorizedRole(env, 'AttachRolePolicy', { 'iam:PolicyARN': arn })
    await mustGetPolicy(env, arn)
    const attached = await env.repo.listAttachedPolicies(env.accountId, 'role', role.roleName)
    if (
      !attached.some((a) => a.policyArn === arn) &&
      attached.length >= MANAGED_POLICIES_PER_ROLE
    ) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for PoliciesPerRole: ${MANAGED_POLICIES_PER_ROLE}`,
      )
    }
    await env.repo.attachPolicy(env.accountId, 'role', role.roleName, arn, env.now)
    return undefined
  })

const detachRolePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    roleNameOf(env)
    const arn = policyArnOf(env)
    const role = await authorizedRole(env, 'DetachRolePolicy', { 'iam:PolicyARN': arn })
    if (!(await env.repo.detachPolicy(env.accountId, 'role', role.roleName, arn))) {
      throw new AwsError('NoSuchEntity', `Policy ${arn} was not found.`)
    }
    return undefined
  })

const listAttachedRolePolicies: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const prefix = req.params['PathPrefix']
    throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
    const role = await authorizedRole(env, 'ListAttachedRolePolicies')
    let attached = await env.repo.listAttachedPolicies(env.accountId, 'role', role.roleName)
    if (prefix !== undefined) {
      const kept = []
      for (const a of attached) {
        const p = await env.repo.getManagedPolicy(a.policyArn)
        if (p !== undefined && p.path.startsWith(prefix)) kept.push(a)
      }
      attached = kept
    }
    const page = paginate(attached, req)
    return {
      AttachedPolicies: page.items.map((a) => ({
        PolicyName: a.policyName,
        PolicyArn: a.policyArn,
      })),
      ...pageFields(page),
    }
  })

export const roleActions: Record<string, QueryHandler> = {
  CreateRole: createRole,
  GetRole: getRole,
  ListRoles: listRoles,
  UpdateRole: updateRole,
  UpdateRoleDescription: updateRoleDescription,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  DeleteRole: deleteRole,
  TagRole: tagRole,
  UntagRole: untagRole,
  ListRoleTags: listRoleTags,
  PutRolePermissionsBoundary: putRolePermissionsBoundary,
  DeleteRolePermissionsBoundary: deleteRolePermissionsBoundary,
  PutRolePolicy: putRolePolicy,
  GetRolePolicy: getRolePolicy,
  ListRolePolicies: listRolePolicies,
  DeleteRolePolicy: deleteRolePolicy,
  AttachRolePolicy: attachRolePolicy,
  DetachRolePolicy: detachRolePolicy,
  ListAttachedRolePolicies: listAttachedRolePolicies,
}
