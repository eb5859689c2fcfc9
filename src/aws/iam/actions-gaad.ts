/**
 * @module aws/iam/actions-gaad
 * GetAccountAuthorizationDetails (IAM API reference:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html): users
 * (with their groups), groups, roles (with their instance profiles) and managed policies (customer-managed always,
 * AWS-managed only when attached; every stored version: the default and earlier ones). Documents are URL-encoded; optional
 * members are omitted, not empty. One combined list is paginated with `MaxItems` / `Marker`.
 */
import { memberList, type QueryHandler } from '../query/registry.ts'
import type { XmlValue } from '../xml.ts'
import {
  boundaryXml,
  pageFields,
  paginate,
  policyXml,
  tagsXml,
  withIam,
  type IamEnv,
} from './common.ts'
import { encodePolicyDocument } from './documents.ts'
import type { PrincipalType } from './repo.ts'
import { enumParam } from './validate.ts'

const FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const
type Filter = (typeof FILTERS)[number]

type Entry = {
  list: 'UserDetailList' | 'GroupDetailList' | 'RoleDetailList' | 'Policies'
  value: XmlValue
}

/** A principal's inline policies (name + encoded document) and attached managed policies. */
async function principalPoliciesXml(
  env: IamEnv,
  type: PrincipalType,
  name: string,
): Promise<{ inline: XmlValue[]; attached: XmlValue[] }> {
  const inline = (await env.repo.listInlinePolicies(env.accountId, type, name)).map((p) => ({
    PolicyName: p.policyName,
    PolicyDocument: encodePolicyDocument(p.document),
  }))
  const attached = (await env.repo.listAttachedPolicies(env.accountId, type, name)).map((a) => ({
    PolicyName: a.policyName,
    PolicyArn: a.policyArn,
  }))
  return { inline, attached }
}

async function userDetails(env: IamEnv): Promise<Entry[]> {
  const out: Entry[] = []
  for (const u of await env.repo.listUsers(env.accountId)) {
    const policies = await principalPoliciesXml(env, 'user', u.userName)
    out.push({
      list: 'UserDetailList',
      value: {
        Path: u.path,
        UserName: u.userName,
        UserId: u.userId,
        Arn: u.arn,
        CreateDate: u.createDate,
        UserPolicyList: policies.inline.length === 0 ? undefined : policies.inline,
        GroupList: (await env.repo.listGroupsForUser(env.accountId, u.userName)).map(
          (g) => g.groupName,
        ),
        AttachedManagedPolicies: policies.attached,
        PermissionsBoundary: boundaryXml(u.permissionsBoundaryArn),
        Tags: tagsXml(u.tags),
      },
    })
  }
  return out
}

async function groupDetails(env: IamEnv): Promise<Entry[]> {
  const out: Entry[] = []
  for (const g of await env.repo.listGroups(env.accountId)) {
    const policies = await principalPoliciesXml(env, 'group', g.groupName)
    out.push({
      list: 'GroupDetailList',
      value: {
        Path: g.path,
        GroupName: g.groupName,
        GroupId: g.groupId,
        Arn: g.arn,
        CreateDate: g.createDate,
        GroupPolicyList: policies.inline,
        AttachedManagedPolicies: policies.attached,
      },
    })
  }
  return out
}

async function roleDetails(env: IamEnv): Promise<Entry[]> {
  const out: Entry[] = []
  for (const r of await env.repo.listRoles(env.accountId)) {
    const policies = await principalPoliciesXml(env, 'role', r.roleName)
    out.push({
      list: 'RoleDetailList',
      value: {
        Path: r.path,
        RoleName: r.roleName,
        RoleId: r.roleId,
        Arn: r.arn,
        CreateDate: r.createDate,
        AssumeRolePolicyDocument: encodePolicyDocument(r.assumeRolePolicyDocument),
        InstanceProfileList: (
          await env.repo.listInstanceProfilesForRole(env.accountId, r.roleName)
        ).map((p) => ({
          Path: p.path,
          InstanceProfileName: p.instanceProfileName,
          InstanceProfileId: p.instanceProfileId,
          Arn: p.arn,
          CreateDate: p.createDate,
          Roles: [],
        })),
        RolePolicyList: policies.inline,
        AttachedManagedPolicies: policies.attached,
        PermissionsBoundary: boundaryXml(r.permissionsBoundaryArn),
        Tags: tagsXml(r.tags),
        RoleLastUsed:
          r.roleLastUsed === undefined
            ? {}
            : { LastUsedDate: r.roleLastUsed.lastUsedDate, Region: r.roleLastUsed.region },
      },
    })
  }
  return out
}

/** Customer managed policies, and AWS managed ones only when in use; every version of each. */
async function policyDetails(env: IamEnv, local: boolean, aws: boolean): Promise<Entry[]> {
  const out: Entry[] = []
  const policies = await env.repo.listManagedPolicies(env.accountId, {
    scope: local && aws ? 'All' : local ? 'Local' : 'AWS',
  })
  for (const p of policies) {
    if (p.awsManaged && p.attachmentCount === 0 && p.permissionsBoundaryUsageCount === 0) continue
    const versions = await env.repo.listPolicyVersions(p.arn)
    // ManagedPolicyDetail: GetPolicy's members (no Tags) and every version.
    const detail = policyXml(p, 'get')
    delete detail['Tags']
    out.push({
      list: 'Policies',
      value: {
        ...detail,
        PolicyVersionList: versions.map((v) => ({
          Document: encodePolicyDocument(v.document),
          VersionId: v.versionId,
          IsDefaultVersion: v.isDefaultVersion,
          CreateDate: v.createDate,
        })),
      },
    })
  }
  return out
}

async function collect(env: IamEnv, filters: Set<Filter>): Promise<Entry[]> {
  const local = filters.has('LocalManagedPolicy')
  const aws = filters.has('AWSManagedPolicy')
  return [
    ...(filters.has('User') ? await userDetails(env) : []),
    ...(filters.has('Group') ? await groupDetails(env) : []),
    ...(filters.has('Role') ? await roleDetails(env) : []),
    ...(local || aws ? await policyDetails(env, local, aws) : []),
  ]
}

const getAccountAuthorizationDetails: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const raw = memberList(req.params, 'Filter')
    const filters = new Set<Filter>(
      raw === undefined || raw.length === 0
        ? FILTERS
        : raw.map((f) => enumParam('filter', f, FILTERS)!),
    )
    await env.authorize('GetAccountAuthorizationDetails', '*')
    const page = paginate(await collect(env, filters), req)
    const pick = (list: Entry['list']) =>
      page.items.filter((e) => e.list === list).map((e) => e.value)
    return {
      UserDetailList: pick('UserDetailList'),
      GroupDetailList: pick('GroupDetailList'),
      RoleDetailList: pick('RoleDetailList'),
      Policies: pick('Policies'),
      ...pageFields(page),
    }
  })

export const gaadActions = { GetAccountAuthorizationDetails: getAccountAuthorizationDetails }
