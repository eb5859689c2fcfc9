/**
 * @module aws/iam/actions-users
 * IAM users and their long-term access keys (the static-credentials method): Create/Get/List/DeleteUser,
 * Create/List/Update/DeleteAccessKey, GetAccessKeyLastUsed; inline user policies, managed attachments and tags
 * come from the shared principal-policy actions over `userKind`. A missing `UserName` means the calling user,
 * as in AWS.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import {
  mustGetUser,
  pageFields,
  paginate,
  tagContext,
  userResource,
  userXml,
  withIam,
  type IamEnv,
} from './common.ts'
import { ID_PREFIX, newSecretAccessKey, newUniqueId, userArn } from './ids.ts'
import type { IamRepo, UserRecord } from './repo.ts'
import { principalPolicyActions, type PrincipalKind } from './actions-principal-policies.ts'
import {
  accessKeyIdRules,
  arnRules,
  checkPolicyArn,
  checkTags,
  enumParam,
  pathPrefixRules,
  pathRules,
  problemsOf,
  throwIfProblems,
  userNameRules,
} from './validate.ts'
import type { OperationContext } from '../../identity/context.ts'

export const USERS_PER_ACCOUNT = 5000
export const ACCESS_KEYS_PER_USER = 2

/** Creates an active long-term key (`AKIA…`, account-encoded) for an existing user. */
export async function createAccessKeyFor(
  repo: IamRepo,
  user: UserRecord,
  now: Date,
  randomBytes: (n: number) => Uint8Array,
): Promise<{ accessKeyId: string; secretAccessKey: string; createDate: Date }> {
  if ((await repo.listAccessKeys(user.accountId, user.userName)).length >= ACCESS_KEYS_PER_USER) {
    throw new AwsError(
      'LimitExceeded',
      `Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`,
    )
  }
  const key = {
    accessKeyId: newUniqueId(ID_PREFIX.accessKey, user.accountId, randomBytes, 16),
    secretAccessKey: newSecretAccessKey(randomBytes),
    status: 'Active' as const,
    accountId: user.accountId,
    userName: user.userName,
    createDate: now,
  }
  await repo.insertAccessKey(key)
  return key
}

/** Builds (does not store) a new user record. */
export function newUser(
  accountId: string,
  userName: string,
  path: string,
  now: Date,
  randomBytes: (n: number) => Uint8Array,
  extra: { tags?: UserRecord['tags']; permissionsBoundaryArn?: string } = {},
): UserRecord {
  return {
    accountId,
    userName,
    userId: newUniqueId(ID_PREFIX.user, accountId, randomBytes),
    arn: userArn(accountId, path, userName),
    path,
    createDate: now,
    tags: extra.tags ?? [],
    ...(extra.permissionsBoundaryArn === undefined
      ? {}
      : { permissionsBoundaryArn: extra.permissionsBoundaryArn }),
  }
}

/** `UserName`, or the calling user when absent (role sessions must name one). */
function userNameOf(env: IamEnv, required: boolean): string {
  const given = required ? requiredParam(env.request, 'UserName') : env.request.params['UserName']
  if (given !== undefined) {
    throwIfProblems(problemsOf('userName', given, userNameRules))
    return given
  }
  const caller = env.request.caller
  if (caller?.type === 'IAMUser' && caller.userName !== undefined) return caller.userName
  if (caller?.type === 'IAMUser') return caller.arn.slice(caller.arn.lastIndexOf('/') + 1)
  throw new AwsError(
    'ValidationError',
    'Must specify userName when calling with non-User credentials',
  )
}

export async function authorizedUser(
  env: IamEnv,
  action: string,
  required: boolean,
  context?: OperationContext,
): Promise<UserRecord> {
  const name = userNameOf(env, required)
  const existing = await env.repo.getUser(env.accountId, name)
  await env.authorize(action, userResource(env, name, existing), context)
  if (existing === undefined) await mustGetUser(env, name)
  return existing!
}

const createUser: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = req.params
    const name = requiredParam(req, 'UserName')
    const path = p['Path'] ?? '/'
    const tags = tagList(p) ?? []
    throwIfProblems([
      ...problemsOf('userName', name, userNameRules),
      ...problemsOf('path', p['Path'], pathRules),
      ...problemsOf('permissionsBoundary', p['PermissionsBoundary'], arnRules),
    ])
    checkTags(tags)
    await env.authorize('CreateUser', userArn(env.accountId, path, name), tagContext(tags))
    if (p['PermissionsBoundary'] !== undefined) {
      checkPolicyArn(p['PermissionsBoundary'])
      if ((await env.repo.getManagedPolicy(p['PermissionsBoundary'])) === undefined) {
        throw new AwsError(
          'NoSuchEntity',
          `Scope ARN: ${p['PermissionsBoundary']} does not exist or is not attachable.`,
        )
      }
    }
    if ((await env.repo.getUser(env.accountId, name)) !== undefined) {
      throw new AwsError('EntityAlreadyExists', `User with name ${name} already exists.`)
    }
    if ((await env.repo.listUsers(env.accountId)).length >= USERS_PER_ACCOUNT) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for UsersPerAccount: ${USERS_PER_ACCOUNT}`,
      )
    }
    const user = newUser(env.accountId, name, path, env.now, env.randomBytes, {
      tags,
      ...(p['PermissionsBoundary'] === undefined
        ? {}
        : { permissionsBoundaryArn: p['PermissionsBoundary'] }),
    })
    await env.repo.insertUser(user)
    return { User: userXml(user, 'get') }
  })

const getUser: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const caller = req.caller
    if (req.params['UserName'] === undefined && caller?.type === 'Root') {
      await env.authorize('GetUser', caller.arn)
      return { User: { UserId: env.accountId, Arn: caller.arn, CreateDate: env.now } }
    }
    return { User: userXml(await authorizedUser(env, 'GetUser', false), 'get') }
  })

const listUsers: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const prefix = req.params['PathPrefix']
    throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
    await env.authorize('ListUsers', `arn:aws:iam::${env.accountId}:user/`)
    const page = paginate(await env.repo.listUsers(env.accountId, prefix), req)
    return { Users: page.items.map((u) => userXml(u, 'list')), ...pageFields(page) }
  })

const deleteUser: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'DeleteUser', true)
    if ((await env.repo.listAccessKeys(env.accountId, user.userName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete access keys first.')
    }
    if ((await env.repo.listAttachedPolicies(env.accountId, 'user', user.userName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.')
    }
    if ((await env.repo.listInlinePolicies(env.accountId, 'user', user.userName)).length > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.')
    }
    if ((await env.repo.listGroupsForUser(env.accountId, user.userName)).length > 0) {
      throw new AwsError(
        'DeleteConflict',
        'Cannot delete entity, must remove users from group first.',
      )
    }
    if ((await env.repo.getLoginProfile(env.accountId, user.userName)) !== undefined) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete login profile first.')
    }
    await env.repo.deleteUser(env.accountId, user.userName)
    return undefined
  })

// ---- access keys ---------------------------------------------------------------------------------------

const createAccessKey: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'CreateAccessKey', false)
    const key = await createAccessKeyFor(env.repo, user, env.now, env.randomBytes)
    req.audit.responseElements = {
      accessKey: {
        userName: user.userName,
        accessKeyId: key.accessKeyId,
        status: 'Active',
        createDate: key.createDate.toISOString(),
      },
    }
    return {
      AccessKey: {
        UserName: user.userName,
        AccessKeyId: key.accessKeyId,
        Status: 'Active',
        SecretAccessKey: key.secretAccessKey,
        CreateDate: key.createDate,
      },
    }
  })

const listAccessKeys: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'ListAccessKeys', false)
    const page = paginate(await env.repo.listAccessKeys(env.accountId, user.userName), req)
    return {
      AccessKeyMetadata: page.items.map((k) => ({
        UserName: k.userName,
        AccessKeyId: k.accessKeyId,
        Status: k.status,
        CreateDate: k.createDate,
      })),
      ...pageFields(page),
    }
  })

function accessKeyIdOf(env: IamEnv): string {
  const id = requiredParam(env.request, 'AccessKeyId')
  throwIfProblems(problemsOf('accessKeyId', id, accessKeyIdRules))
  return id
}

async function mustGetKey(env: IamEnv, user: UserRecord, id: string) {
  const key = await env.repo.getAccessKey(id)
  if (
    key === undefined ||
    key.accountId !== env.accountId ||
    key.userName.toLowerCase() !== user.userName.toLowerCase()
  ) {
    throw new AwsError('NoSuchEntity', `The Access Key with id ${id} cannot be found.`)
  }
  return key
}

const updateAccessKey: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const id = accessKeyIdOf(env)
    const status = enumParam('status', requiredParam(req, 'Status'), [
      'Active',
      'Inactive',
    ] as const)!
    const user = await authorizedUser(env, 'UpdateAccessKey', false)
    await mustGetKey(env, user, id)
    await env.repo.updateAccessKeyStatus(id, status)
    return undefined
  })

const deleteAccessKey: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const id = accessKeyIdOf(env)
    const user = await authorizedUser(env, 'DeleteAccessKey', false)
    await mustGetKey(env, user, id)
    await env.repo.deleteAccessKey(id)
    return undefined
  })

const getAccessKeyLastUsed: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const id = accessKeyIdOf(env)
    const key = await env.repo.getAccessKey(id)
    // An unknown key (or another account's) has no user to authorize against: IAM answers AccessDenied on the
    // key itself rather than revealing whether it exists.
    if (key === undefined || key.accountId !== env.accountId) {
      throw new AwsError(
        'AccessDenied',
        `User: ${env.request.caller?.arn ?? 'anonymous'} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key ${id}`,
      )
    }
    await env.authorize('GetAccessKeyLastUsed', key.userArn)
    return {
      UserName: key.userName,
      AccessKeyLastUsed:
        key.lastUsed === undefined
          ? { ServiceName: 'N/A', Region: 'N/A' }
          : {
              LastUsedDate: key.lastUsed.date,
              ServiceName: key.lastUsed.serviceName,
              Region: key.lastUsed.region,
            },
    }
  })

/** Users as a principal kind: inline policies, managed attachments and tags (`actions-principal-policies.ts`). */
export const userKind: PrincipalKind<UserRecord> = {
  type: 'user',
  noun: 'User',
  nameOf: (env) => userNameOf(env, true),
  authorized: (env, action, context) => authorizedUser(env, action, true, context),
  name: (user) => user.userName,
  tags: {
    of: (user) => user.tags,
    save: (env, user, tags) => env.repo.updateUser({ ...user, tags }),
  },
}

export const userActions: Record<string, QueryHandler> = {
  CreateUser: createUser,
  GetUser: getUser,
  ListUsers: listUsers,
  DeleteUser: deleteUser,
  CreateAccessKey: createAccessKey,
  ListAccessKeys: listAccessKeys,
  UpdateAccessKey: updateAccessKey,
  DeleteAccessKey: deleteAccessKey,
  GetAccessKeyLastUsed: getAccessKeyLastUsed,
  ...principalPolicyActions(userKind),
}
