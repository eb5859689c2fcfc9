/**
 * @module aws/iam/actions-instance-profiles
 * Instance profiles (IAM API reference: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
 * ListInstanceProfilesForRole, DeleteInstanceProfile, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
 * Tag/Untag/ListInstanceProfileTags). A profile holds at most one role ("LimitExceeded: Cannot exceed quota for
 * InstanceSessionsPerInstanceProfile: 1"); a role in a profile cannot be deleted.
 */
import type { OperationContext } from '../../identity/context.ts'
import { AwsError } from '../errors.ts'
import { memberList, requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import {
  mustGetRole,
  pageFields,
  paginate,
  roleXml,
  tagContext,
  tagsXml,
  withIam,
  type IamEnv,
} from './common.ts'
import { ID_PREFIX, instanceProfileArn, newUniqueId } from './ids.ts'
import type { InstanceProfileRecord } from './repo.ts'
import {
  checkTagKeys,
  checkTags,
  mergeTags,
  nameRules,
  pathPrefixRules,
  pathRules,
  problemsOf,
  removeTags,
  roleNameRules,
  sortedTags,
  throwIfProblems,
} from './validate.ts'

export const INSTANCE_PROFILES_PER_ACCOUNT = 1000
const profileNameRules = nameRules(128)

const notFound = (name: string) =>
  new AwsError('NoSuchEntity', `Instance Profile ${name} cannot be found.`)

async function profileXml(env: IamEnv, p: InstanceProfileRecord, withTags: boolean) {
  const roles = []
  for (const name of p.roleNames) {
    const r = await env.repo.getRole(env.accountId, name)
    if (r !== undefined) roles.push(roleXml(r, 'list'))
  }
  return {
    Path: p.path,
    InstanceProfileName: p.instanceProfileName,
    InstanceProfileId: p.instanceProfileId,
    Arn: p.arn,
    CreateDate: p.createDate,
    Roles: roles,
    Tags: withTags && p.tags.length > 0 ? tagsXml(p.tags) : undefined,
  }
}

function nameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'InstanceProfileName')
  throwIfProblems(problemsOf('instanceProfileName', name, profileNameRules))
  return name
}

async function authorizedProfile(
  env: IamEnv,
  action: string,
  context?: OperationContext,
): Promise<InstanceProfileRecord> {
  const name = nameOf(env)
  const existing = await env.repo.getInstanceProfile(env.accountId, name)
  await env.authorize(
    action,
    existing?.arn ?? `arn:aws:iam::${env.accountId}:instance-profile/${name}`,
    context,
  )
  if (existing === undefined) throw notFound(name)
  return existing
}

function roleNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'RoleName')
  throwIfProblems(problemsOf('roleName', name, roleNameRules))
  return name
}

const createInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const name = requiredParam(req, 'InstanceProfileName')
    const path = req.params['Path'] ?? '/'
    const tags = tagList(req.params) ?? []
    throwIfProblems([
      ...problemsOf('instanceProfileName', name, profileNameRules),
      ...problemsOf('path', req.params['Path'], pathRules),
    ])
    checkTags(tags)
    const arn = instanceProfileArn(env.accountId, path, name)
    await env.authorize('CreateInstanceProfile', arn, tagContext(tags))
    if ((await env.repo.getInstanceProfile(env.accountId, name)) !== undefined) {
      throw new AwsError('EntityAlreadyExists', `Instance Profile ${name} already exists.`)
    }
    if ((await env.repo.countInstanceProfiles(env.accountId)) >= INSTANCE_PROFILES_PER_ACCOUNT) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for InstanceProfilesPerAccount: ${INSTANCE_PROFILES_PER_ACCOUNT}`,
      )
    }
    const profile: InstanceProfileRecord = {
      accountId: env.accountId,
      instanceProfileName: name,
      instanceProfileId: newUniqueId(ID_PREFIX.instanceProfile, env.accountId, env.randomBytes),
      arn,
      path,
      createDate: env.now,
      tags,
      roleNames: [],
    }
    await env.repo.insertInstanceProfile(profile)
    return { InstanceProfile: await profileXml(env, profile, true) }
  })

const getInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => ({
    InstanceProfile: await profileXml(
      env,
      await authorizedProfile(env, 'GetInstanceProfile'),
      true,
    ),
  }))

const listInstanceProfiles: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const prefix = req.params['PathPrefix']
    throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
    await env.authorize('ListInstanceProfiles', `arn:aws:iam::${env.accountId}:instance-profile/`)
    const page = paginate(await env.repo.listInstanceProfiles(env.accountId, prefix), req)
    const out = []
    for (const p of page.items) out.push(await profileXml(env, p, false))
    return { InstanceProfiles: out, ...pageFields(page) }
  })

const listInstanceProfilesForRole: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const roleName = roleNameOf(env)
    const existing = await env.repo.getRole(env.accountId, roleName)
    await env.authorize(
      'ListInstanceProfilesForRole',
      existing?.arn ?? `arn:aws:iam::${env.accountId}:role/${roleName}`,
    )
    const role = await mustGetRole(env, roleName)
    const page = paginate(
      await env.repo.listInstanceProfilesForRole(env.accountId, role.roleName),
      req,
    )
    const out = []
    for (const p of page.items) out.push(await profileXml(env, p, false))
    return { InstanceProfiles: out, ...pageFields(page) }
  })

const deleteInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = await authorizedProfile(env, 'DeleteInstanceProfile')
    if (p.roleNames.length > 0) {
      throw new AwsError(
        'DeleteConflict',
        'Cannot delete entity, must remove roles from instance profile first.',
      )
    }
    await env.repo.deleteInstanceProfile(env.accountId, p.instanceProfileName)
    return undefined
  })

const addRoleToInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const roleName = roleNameOf(env)
    const p = await authorizedProfile(env, 'AddRoleToInstanceProfile')
    const role = await mustGetRole(env, roleName)
    if (p.roleNames.length >= 1) {
      throw new AwsError(
        'LimitExceeded',
        'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1',
      )
    }
    await env.repo.addRoleToInstanceProfile(env.accountId, p.instanceProfileName, role.roleName)
    return undefined
  })

const removeRoleFromInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const roleName = roleNameOf(env)
    const p = await authorizedProfile(env, 'RemoveRoleFromInstanceProfile')
    const role = await mustGetRole(env, roleName)
    if (
      !(await env.repo.removeRoleFromInstanceProfile(
        env.accountId,
        p.instanceProfileName,
        role.roleName,
      ))
    ) {
      throw new AwsError('NoSuchEntity', `The role with name ${roleName} cannot be found.`)
    }
    return undefined
  })

const tagInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const tags = tagList(req.params) ?? []
    nameOf(env)
    checkTags(tags)
    const p = await authorizedProfile(env, 'TagInstanceProfile', tagContext(tags))
    await env.repo.updateInstanceProfileTags(
      env.accountId,
      p.instanceProfileName,
      mergeTags(p.tags, tags),
    )
    return undefined
  })

const untagInstanceProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const keys = memberList(req.params, 'TagKeys') ?? []
    nameOf(env)
    checkTagKeys(keys)
    const p = await authorizedProfile(env, 'UntagInstanceProfile', { tagKeys: keys })
    await env.repo.updateInstanceProfileTags(
      env.accountId,
      p.instanceProfileName,
      removeTags(p.tags, keys),
    )
    return undefined
  })

const listInstanceProfileTags: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = await authorizedProfile(env, 'ListInstanceProfileTags')
    const page = paginate(sortedTags(p.tags), req)
    return { Tags: tagsXml(page.items), ...pageFields(page) }
  })

export const instanceProfileActions: Record<string, QueryHandler> = {
  CreateInstanceProfile: createInstanceProfile,
  GetInstanceProfile: getInstanceProfile,
  ListInstanceProfiles: listInstanceProfiles,
  ListInstanceProfilesForRole: listInstanceProfilesForRole,
  DeleteInstanceProfile: deleteInstanceProfile,
  AddRoleToInstanceProfile: addRoleToInstanceProfile,
  RemoveRoleFromInstanceProfile: removeRoleFromInstanceProfile,
  TagInstanceProfile: tagInstanceProfile,
  UntagInstanceProfile: untagInstanceProfile,
  ListInstanceProfileTags: listInstanceProfileTags,
}
