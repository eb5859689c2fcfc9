/**
 * @module aws/iam/actions-groups
 * IAM groups (IAM API reference: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup, AddUserToGroup,
 * RemoveUserFromGroup, ListGroupsForUser) and, through the shared principal-policy actions, their inline and
 * managed policies (Put/Get/List/DeleteGroupPolicy, Attach/Detach/ListAttachedGroupPolicies). A user's
 * permissions include its groups' policies (IAM User Guide, "IAM user groups"); groups cannot be principals.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, type QueryHandler } from '../query/registry.ts'
import { principalPolicyActions, type PrincipalKind } from './actions-principal-policies.ts'
import { mustGetUser, pageFields, paginate, userXml, withIam, type IamEnv } from './common.ts'
import { groupArn, ID_PREFIX, newUniqueId } from './ids.ts'
import type { GroupRecord } from './repo.ts'
import {
  nameRules,
  pathPrefixRules,
  pathRules,
  problemsOf,
  throwIfProblems,
  userNameRules,
} from './validate.ts'

/** IAM quotas (IAM User Guide, "IAM and AWS STS quotas"). */
export const GROUPS_PER_ACCOUNT = 300
export const GROUPS_PER_USER = 10

const groupNameRules = nameRules(128)

export const groupXml = (g: GroupRecord) => ({
  Path: g.path,
  GroupName: g.groupName,
  GroupId: g.groupId,
  Arn: g.arn,
  CreateDate: g.createDate,
})

const notFound = (name: string) =>
  new AwsError('NoSuchEntity', `The group with name ${name} cannot be found.`)

function groupNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'GroupName')
  throwIfProblems(problemsOf('groupName', name, groupNameRules))
  return name
}

const groupResource = (env: IamEnv, name: string, existing?: GroupRecord): string =>
  existing?.arn ?? `arn:aws:iam::${env.accountId}:group/${name}`

/** Authorizes `iam:<action>` on the group (its ARN when it exists), then loads it. */
async function authorizedGroup(env: IamEnv, action: string): Promise<GroupRecord> {
  const name = groupNameOf(env)
  const existing = await env.repo.getGroup(env.accountId, name)
  await env.authorize(action, groupResource(env, name, existing))
  if (existing === undefined) throw notFound(name)
  return existing
}

function userNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'UserName')
  throwIfProblems(problemsOf('userName', name, userNameRules))
  return name
}

const createGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const name = requiredParam(req, 'GroupName')
    const path = req.params['Path'] ?? '/'
    throwIfProblems([
      ...problemsOf('groupName', name, groupNameRules),
      ...problemsOf('path', req.params['Path'], pathRules),
    ])
    const arn = groupArn(env.accountId, path, name)
    await env.authorize('CreateGroup', arn)
    if ((await env.repo.getGroup(env.accountId, name)) !== undefined) {
      throw new AwsError('EntityAlreadyExists', `Group with name ${name} already exists.`)
    }
    if ((await env.repo.countGroups(env.accountId)) >= GROUPS_PER_ACCOUNT) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for GroupsPerAccount: ${GROUPS_PER_ACCOUNT}`,
      )
    }
    const group: GroupRecord = {
      accountId: env.accountId,
      groupName: name,
      groupId: newUniqueId(ID_PREFIX.group, env.accountId, env.randomBytes),
      arn,
      path,
      createDate: env.now,
    }
    await env.repo.insertGroup(group)
    return { Group: groupXml(group) }
  })

const getGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const group = await authorizedGroup(env, 'GetGroup')
    const members = new Set(await env.repo.listGroupMembers(env.accountId, group.groupName))
    const users = (await env.repo.listUsers(env.accountId)).filter((u) =>
      members.has(u.userName.toLowerCase()),
    )
    const page = paginate(users, req)
    return {
      Group: groupXml(group),
      Users: page.items.map((u) => userXml(u, 'list')),
      ...pageFields(page),
    }
  })

const listGroups: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const prefix = req.params['PathPrefix']
    throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
    await env.authorize('ListGroups', `arn:aws:iam::${env.accountId}:group/`)
    const page = paginate(await env.repo.listGroups(env.accountId, prefix), req)
    return { Groups: page.items.map(groupXml), ...pageFields(page) }
  })

const updateGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const newName = req.params['NewGroupName']
    const newPath = req.params['NewPath']
    throwIfProblems([
      ...problemsOf('newGroupName', newName, groupNameRules),
      ...problemsOf('newPath', newPath, pathRules),
    ])
    const group = await authorizedGroup(env, 'UpdateGroup')
    const name = newName ?? group.groupName
    const path = newPath ?? group.path
    if (
      name.toLowerCase() !== group.groupName.toLowerCase() &&
      (await env.repo.getGroup(env.accountId, name)) !== undefined
    ) {
      throw new AwsError('EntityAlreadyExists', `Group with name ${name} already exists.`)
    }
    await env.repo.updateGroup(env.accountId, group.groupName, {
      ...group,
      groupName: name,
      path,
      arn: groupArn(env.accountId, path, name),
    })
    return undefined
  })

const deleteGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const group = await authorizedGroup(env, 'DeleteGroup')
    if ((await env.repo.listGroupMembers(env.accountId, group.groupName)).length > 0) {
      throw new AwsError(
        'DeleteConflict',
        'Cannot delete entity, must remove users from group first.',
      )
    }
    if ((await env.repo.listAttachedPolicies(env.accountId, 'group', group.groupName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.')
    }
    if ((await env.repo.listInlinePolicies(env.accountId, 'group', group.groupName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.')
    }
    await env.repo.deleteGroup(env.accountId, group.groupName)
    return undefined
  })

const addUserToGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const userName = userNameOf(env)
    const group = await authorizedGroup(env, 'AddUserToGroup')
    const user = await mustGetUser(env, userName)
    const groups = await env.repo.listGroupsForUser(env.accountId, user.userName)
    if (groups.some((g) => g.groupName.toLowerCase() === group.groupName.toLowerCase()))
      return undefined
    if (groups.length >= GROUPS_PER_USER) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for GroupsPerUser: ${GROUPS_PER_USER}`,
      )
    }
    await env.repo.addUserToGroup(env.accountId, group.groupName, user.userName, env.now)
    return undefined
  })

const removeUserFromGroup: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const userName = userNameOf(env)
    const group = await authorizedGroup(env, 'RemoveUserFromGroup')
    const user = await mustGetUser(env, userName)
    if (!(await env.repo.removeUserFromGroup(env.accountId, group.groupName, user.userName))) {
      throw new AwsError('NoSuchEntity', `The user with name ${userName} cannot be found.`)
    }
    return undefined
  })

const listGroupsForUser: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const userName = userNameOf(env)
    const existing = await env.repo.getUser(env.accountId, userName)
    await env.authorize(
      'ListGroupsForUser',
      existing?.arn ?? `arn:aws:iam::${env.accountId}:user/${userName}`,
    )
    const user = await mustGetUser(env, userName)
    const page = paginate(await env.repo.listGroupsForUser(env.accountId, user.userName), req)
    return { Groups: page.items.map(groupXml), ...pageFields(page) }
  })

/** Groups as a principal kind: inline policies and managed attachments (groups have no tags in IAM). */
export const groupKind: PrincipalKind<GroupRecord> = {
  type: 'group',
  noun: 'Group',
  nameOf: groupNameOf,
  authorized: (env, action) => authorizedGroup(env, action),
  name: (g) => g.groupName,
}

export const groupActions: Record<string, QueryHandler> = {
  CreateGroup: createGroup,
  GetGroup: getGroup,
  ListGroups: listGroups,
  UpdateGroup: updateGroup,
  DeleteGroup: deleteGroup,
  AddUserToGroup: addUserToGroup,
  RemoveUserFromGroup: removeUserFromGroup,
  ListGroupsForUser: listGroupsForUser,
  ...principalPolicyActions(groupKind),
}
