/**
 * @module aws/iam/actions-password-policy
 * The account password policy (IAM API reference: UpdateAccountPasswordPolicy, GetAccountPasswordPolicy,
 * DeleteAccountPasswordPolicy). Parameters left out take the API's defaults (minimum length 6, every requirement
 * off); `ExpirePasswords` is true when `MaxPasswordAge` is set. Stored per account; podtrust has no console, so
 * the policy is recorded and reported, as tools that manage it expect.
 */
import { AwsError } from '../errors.ts'
import type { QueryHandler } from '../query/registry.ts'
import { withIam, type IamEnv } from './common.ts'
import { boolParam, intParam } from './validate.ts'

interface PasswordPolicy {
  MinimumPasswordLength: number
  RequireSymbols: boolean
  RequireNumbers: boolean
  RequireUppercaseCharacters: boolean
  RequireLowercaseCharacters: boolean
  AllowUsersToChangePassword: boolean
  ExpirePasswords: boolean
  MaxPasswordAge?: number
  PasswordReusePrevention?: number
  HardExpiry?: boolean
}

async function stored(env: IamEnv): Promise<PasswordPolicy | undefined> {
  const r = await env.repo.getPasswordPolicy(env.accountId)
  return r === undefined ? undefined : (JSON.parse(r) as PasswordPolicy)
}

const updateAccountPasswordPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = req.params
    const maxAge = intParam('MaxPasswordAge', p['MaxPasswordAge'], 1, 1095)
    const reuse = intParam('PasswordReusePrevention', p['PasswordReusePrevention'], 1, 24)
    const hardExpiry = boolParam('HardExpiry', p['HardExpiry'])
    const policy: PasswordPolicy = {
      MinimumPasswordLength:
        intParam('MinimumPasswordLength', p['MinimumPasswordLength'], 6, 128) ?? 6,
      RequireSymbols: boolParam('RequireSymbols', p['RequireSymbols']) ?? false,
      RequireNumbers: boolParam('RequireNumbers', p['RequireNumbers']) ?? false,
      RequireUppercaseCharacters:
        boolParam('RequireUppercaseCharacters', p['RequireUppercaseCharacters']) ?? false,
      RequireLowercaseCharacters:
        boolParam('RequireLowercaseCharacters', p['RequireLowercaseCharacters']) ?? false,
      AllowUsersToChangePassword:
        boolParam('AllowUsersToChangePassword', p['AllowUsersToChangePassword']) ?? false,
      ExpirePasswords: maxAge !== undefined,
      ...(maxAge === undefined ? {} : { MaxPasswordAge: maxAge }),
      ...(reuse === undefined ? {} : { PasswordReusePrevention: reuse }),
      ...(hardExpiry === undefined ? {} : { HardExpiry: hardExpiry }),
    }
    await env.authorize('UpdateAccountPasswordPolicy', '*')
    await env.repo.putPasswordPolicy(env.accountId, JSON.stringify(policy))
    return undefined
  })

const noPolicy = (env: IamEnv) =>
  new AwsError(
    'NoSuchEntity',
    `The Password Policy with domain name ${env.accountId} cannot be found.`,
  )

const getAccountPasswordPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    await env.authorize('GetAccountPasswordPolicy', '*')
    const policy = await stored(env)
    if (policy === undefined) throw noPolicy(env)
    return { PasswordPolicy: { ...policy } }
  })

const deleteAccountPasswordPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    await env.authorize('DeleteAccountPasswordPolicy', '*')
    if (!(await env.repo.deletePasswordPolicy(env.accountId))) throw noPolicy(env)
    return undefined
  })

export const passwordPolicyActions: Record<string, QueryHandler> = {
  UpdateAccountPasswordPolicy: updateAccountPasswordPolicy,
  GetAccountPasswordPolicy: getAccountPasswordPolicy,
  DeleteAccountPasswordPolicy: deleteAccountPasswordPolicy,
}
