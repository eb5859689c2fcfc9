/**
 * @module aws/iam/actions-account
 * Account-level IAM operations (IAM API reference): GetAccountSummary (entity counts and quotas) and account
 * aliases (CreateAccountAlias, DeleteAccountAlias, ListAccountAliases; one alias per account, unique across AWS).
 */
import { AwsError } from '../errors.ts'
import { requiredParam, type QueryHandler } from '../query/registry.ts'
import { XmlMap } from '../xml.ts'
import { withIam } from './common.ts'
import { GROUPS_PER_ACCOUNT, GROUPS_PER_USER } from './actions-groups.ts'
import { INSTANCE_PROFILES_PER_ACCOUNT } from './actions-instance-profiles.ts'
import { MANAGED_POLICIES_PER_PRINCIPAL } from './actions-principal-policies.ts'
import { POLICIES_PER_ACCOUNT, VERSIONS_PER_POLICY } from './actions-policies.ts'
import { ROLES_PER_ACCOUNT } from './actions-roles.ts'
import { ACCESS_KEYS_PER_USER, USERS_PER_ACCOUNT } from './actions-users.ts'
import {
  MANAGED_POLICY_QUOTA,
  ROLE_INLINE_QUOTA,
  TRUST_POLICY_QUOTA,
  USER_INLINE_QUOTA,
} from './documents.ts'
import { iamProblem, rules, throwIfProblems } from './validate.ts'

const getAccountSummary: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    await env.authorize('GetAccountSummary', '*')
    const a = env.accountId
    const users = await env.repo.listUsers(a)
    const policies = await env.repo.listManagedPolicies(a, { scope: 'Local' })
    let versions = 0
    for (const p of policies) versions += (await env.repo.listPolicyVersions(p.arn)).length
    const entries: [string, number][] = [
      ['Users', users.length],
      ['UsersQuota', USERS_PER_ACCOUNT],
      ['Groups', await env.repo.countGroups(a)],
      ['GroupsQuota', GROUPS_PER_ACCOUNT],
      ['GroupsPerUserQuota', GROUPS_PER_USER],
      ['Roles', await env.repo.countRoles(a)],
      ['RolesQuota', ROLES_PER_ACCOUNT],
      ['InstanceProfiles', await env.repo.countInstanceProfiles(a)],
      ['InstanceProfilesQuota', INSTANCE_PROFILES_PER_ACCOUNT],
      ['Policies', policies.length],
      ['PoliciesQuota', POLICIES_PER_ACCOUNT],
      ['PolicySizeQuota', MANAGED_POLICY_QUOTA],
      ['PolicyVersionsInUse', versions],
      ['PolicyVersionsInUseQuota', 10000],
      ['VersionsPerPolicyQuota', VERSIONS_PER_POLICY],
      ['AttachedPoliciesPerUserQuota', MANAGED_POLICIES_PER_PRINCIPAL],
      ['AttachedPoliciesPerGroupQuota', MANAGED_POLICIES_PER_PRINCIPAL],
      ['AttachedPoliciesPerRoleQuota', MANAGED_POLICIES_PER_PRINCIPAL],
      ['UserPolicySizeQuota', USER_INLINE_QUOTA],
      ['GroupPolicySizeQuota', 5120],
      ['RolePolicySizeQuota', ROLE_INLINE_QUOTA],
      ['AssumeRolePolicySizeQuota', TRUST_POLICY_QUOTA],
      ['AccessKeysPerUserQuota', ACCESS_KEYS_PER_USER],
      ['AccountAccessKeysPresent', 0],
      ['AccountMFAEnabled', 0],
      ['AccountSigningCertificatesPresent', 0],
      ['MFADevices', 0],
      ['MFADevicesInUse', 0],
      ['Providers', (await env.repo.listOidcProviders(a)).length],
      ['ServerCertificates', 0],
      ['ServerCertificatesQuota', 20],
      ['SigningCertificatesPerUserQuota', 2],
      ['GlobalEndpointTokenVersion', 1],
    ]
    return { SummaryMap: new XmlMap(entries) }
  })

/** botocore iam model, accountAliasType: 3–63, `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`. */
const ALIAS = /^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$/
const ALIAS_SHOWN = '^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$'

function aliasOf(raw: string): string {
  const problems: string[] = []
  const length = rules.length(3, 63)(raw)
  if (length !== undefined) problems.push(iamProblem('accountAlias', length))
  if (!ALIAS.test(raw)) {
    problems.push(iamProblem('accountAlias', `satisfy regular expression pattern: ${ALIAS_SHOWN}`))
  }
  throwIfProblems(problems)
  return raw
}

const createAccountAlias: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const alias = aliasOf(requiredParam(req, 'AccountAlias'))
    await env.authorize('CreateAccountAlias', '*')
    const holder = await env.repo.accountByAlias(alias)
    if (holder !== undefined && holder !== env.accountId) {
      throw new AwsError('EntityAlreadyExists', `The account alias ${alias} already exists.`)
    }
    await env.repo.ensureAccount(env.accountId, env.now)
    // An account has one alias: a new one replaces it.
    await env.repo.setAccountAlias(env.accountId, alias)
    return undefined
  })

const deleteAccountAlias: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const alias = aliasOf(requiredParam(req, 'AccountAlias'))
    await env.authorize('DeleteAccountAlias', '*')
    const account = await env.repo.getAccount(env.accountId)
    if (account?.alias !== alias) {
      throw new AwsError('NoSuchEntity', `The account alias ${alias} cannot be found.`)
    }
    await env.repo.setAccountAlias(env.accountId, undefined)
    return undefined
  })

const listAccountAliases: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    await env.authorize('ListAccountAliases', '*')
    const alias = (await env.repo.getAccount(env.accountId))?.alias
    return { AccountAliases: alias === undefined ? [] : [alias], IsTruncated: false }
  })

export const accountActions: Record<string, QueryHandler> = {
  GetAccountSummary: getAccountSummary,
  CreateAccountAlias: createAccountAlias,
  DeleteAccountAlias: deleteAccountAlias,
  ListAccountAliases: listAccountAliases,
}
