/**
 * @module aws/iam/actions-user-profile
 * More of an IAM user (IAM API reference): UpdateUser (new name and/or path), permissions boundaries
 * (PutUserPermissionsBoundary, DeleteUserPermissionsBoundary) and console login profiles (Create/Get/Update/
 * DeleteLoginProfile). podtrust has no console: a login profile stores only a scrypt hash of the password, so
 * tools that manage it (Terraform's aws_iam_user_login_profile) work and the password is never kept.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, type QueryHandler, type QueryRequest } from '../query/registry.ts'
import { authorizedUser } from './actions-users.ts'
import { withIam, type IamEnv } from './common.ts'
import { userArn } from './ids.ts'
import { hashPassword, passwordRules } from './passwords.ts'
import {
  arnRules,
  boolParam,
  checkPolicyArn,
  pathRules,
  problemsOf,
  throwIfProblems,
  userNameRules,
} from './validate.ts'

async function checkBoundary(env: IamEnv, arn: string): Promise<void> {
  checkPolicyArn(arn)
  const p = await env.repo.getManagedPolicy(arn)
  if (p === undefined || (p.accountId !== 'aws' && p.accountId !== env.accountId)) {
    throw new AwsError('NoSuchEntity', `Scope ARN: ${arn} does not exist or is not attachable.`)
  }
}

const updateUser: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const newName = req.params['NewUserName']
    const newPath = req.params['NewPath']
    throwIfProblems([
      ...problemsOf('userName', req.params['UserName'], userNameRules),
      ...problemsOf('newUserName', newName, userNameRules),
      ...problemsOf('newPath', newPath, pathRules),
    ])
    const user = await authorizedUser(env, 'UpdateUser', true)
    const name = newName ?? user.userName
    const path = newPath ?? user.path
    if (
      name.toLowerCase() !== user.userName.toLowerCase() &&
      (await env.repo.getUser(env.accountId, name)) !== undefined
    ) {
      throw new AwsError('EntityAlreadyExists', `User with name ${name} already exists.`)
    }
    await env.repo.renameUser(env.accountId, user.userName, {
      ...user,
      userName: name,
      path,
      arn: userArn(env.accountId, path, name),
    })
    return undefined
  })

const putUserPermissionsBoundary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = requiredParam(req, 'PermissionsBoundary')
    throwIfProblems([
      ...problemsOf('userName', requiredParam(req, 'UserName'), userNameRules),
      ...problemsOf('permissionsBoundary', arn, arnRules),
    ])
    const user = await authorizedUser(env, 'PutUserPermissionsBoundary', true, {
      extra: { 'iam:PermissionsBoundary': arn },
    })
    await checkBoundary(env, arn)
    await env.repo.updateUser({ ...user, permissionsBoundaryArn: arn })
    return undefined
  })

const deleteUserPermissionsBoundary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'DeleteUserPermissionsBoundary', true)
    const updated = { ...user }
    delete updated.permissionsBoundaryArn
    await env.repo.updateUser(updated)
    return undefined
  })

const loginProfileXml = (userName: string, createDate: Date, reset: boolean) => ({
  UserName: userName,
  CreateDate: createDate,
  PasswordResetRequired: reset,
})

/** Validates the password and hashes it before the store transaction opens (the hash takes tens of ms). */
async function passwordHashOf(req: QueryRequest): Promise<string | undefined> {
  const password = req.params['Password']
  throwIfProblems(problemsOf('password', password, passwordRules))
  return password === undefined ? undefined : hashPassword(password)
}

const createLoginProfile: QueryHandler = async (req, ctx) => {
  const passwordHash = await passwordHashOf(req)
  return withIam(req, ctx, async (env) => {
    const reset = boolParam('PasswordResetRequired', req.params['PasswordResetRequired']) ?? false
    const user = await authorizedUser(env, 'CreateLoginProfile', false)
    if ((await env.repo.getLoginProfile(env.accountId, user.userName)) !== undefined) {
      throw new AwsError(
        'EntityAlreadyExists',
        `Login Profile for user ${user.userName} already exists.`,
      )
    }
    if (passwordHash === undefined) {
      throw new AwsError('PasswordPolicyViolation', 'Password must be provided.')
    }
    await env.repo.putLoginProfile({
      accountId: env.accountId,
      userName: user.userName,
      passwordHash,
      passwordResetRequired: reset,
      createDate: env.now,
    })
    // The password is never echoed; the dispatcher leaves `Password` out of the audit event.
    return { LoginProfile: loginProfileXml(user.userName, env.now, reset) }
  })
}

const loginNotFound = (userName: string) =>
  new AwsError('NoSuchEntity', `Login Profile for User ${userName} cannot be found.`)

const getLoginProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'GetLoginProfile', false)
    const p = await env.repo.getLoginProfile(env.accountId, user.userName)
    if (p === undefined) throw loginNotFound(user.userName)
    return { LoginProfile: loginProfileXml(user.userName, p.createDate, p.passwordResetRequired) }
  })

const updateLoginProfile: QueryHandler = async (req, ctx) => {
  const passwordHash = await passwordHashOf(req)
  return withIam(req, ctx, async (env) => {
    const reset = boolParam('PasswordResetRequired', req.params['PasswordResetRequired'])
    const user = await authorizedUser(env, 'UpdateLoginProfile', true)
    const p = await env.repo.getLoginProfile(env.accountId, user.userName)
    if (p === undefined) throw loginNotFound(user.userName)
    await env.repo.putLoginProfile({
      ...p,
      ...(passwordHash === undefined ? {} : { passwordHash }),
      ...(reset === undefined ? {} : { passwordResetRequired: reset }),
    })
    return undefined
  })
}

const deleteLoginProfile: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const user = await authorizedUser(env, 'DeleteLoginProfile', false)
    if (!(await env.repo.deleteLoginProfile(env.accountId, user.userName))) {
      throw loginNotFound(user.userName)
    }
    return undefined
  })

export const userProfileActions: Record<string, QueryHandler> = {
  UpdateUser: updateUser,
  PutUserPermissionsBoundary: putUserPermissionsBoundary,
  DeleteUserPermissionsBoundary: deleteUserPermissionsBoundary,
  CreateLoginProfile: createLoginProfile,
  GetLoginProfile: getLoginProfile,
  UpdateLoginProfile: updateLoginProfile,
  DeleteLoginProfile: deleteLoginProfile,
}
