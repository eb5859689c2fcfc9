/**
 * @module aws/iam/actions-gaad
 * GetAccountAuthorizationDetails (IAM API reference:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html): users, groups (none: podtrust has
 * no groups), roles and managed policies (customer-managed always, AWS-managed only when attached; all
 * versions of customer policies, the default one of AWS policies). Documents are URL-encoded; optional
 * members are omitted, not empty. One combined list is paginated with `MaxItems` / `Marker`.
 */
import { memberList, type QueryHandler } from '../query/registry.ts'
import type { XmlValue } from '../xml.ts'
import { boundaryXml, pageFields, paginate, tagsXml, withIam, type IamEnv } from './common.ts'
import { encodePolicyDocument } from './documents.ts'
import { enumParam } from './validate.ts'

const FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const
type Filter = (typeof FILTERS)[number]

type Entry = { list: 'UserDetailList' | 'RoleDetailList' | 'Policies'; value: XmlValue }

async function collect(env: IamEnv, filters: Set<Filter>): Promise<Entry[]> {
  const out: Entry[] = []
  const { repo, accountId } = env
  if (filters.has('User')) {
    for (const u of await repo.listUsers(accountId)) {
      const inline = await repo.listInlinePolicies(accountId, 'user', u.userName)
      out.push({
        list: 'UserDetailList',
        value: {
          Path: u.path,
          UserName: u.userName,
          UserId: u.userId,
          Arn: u.arn,
          CreateDate: u.createDate,
          UserPolicyList:
            inline.length === 0
              ? undefined
              : inline.map((p) => ({
                  PolicyName: p.policyName,
                  PolicyDocument: encodePolicyDocument(p.document),
                })),
          GroupList: [],
          AttachedManagedPolicies: (
            await repo.listAttachedPolicies(accountId, 'user', u.userName)
          ).map((a) => ({
            PolicyName: a.policyName,
            PolicyArn: a.policyArn,
          })),
          PermissionsBoundary: boundaryXml(u.permissionsBoundaryArn),
          Tags: tagsXml(u.tags),
        },
      })
    }
  }
  if (filters.has('Role')) {
    for (const r of await repo.listRoles(accountId)) {
      out.push({
        list: 'RoleDetailList',
        value: {
          Path: r.path,
          RoleName: r.roleName,
          RoleId: r.roleId,
          Arn: r.arn,
          CreateDate: r.createDate,
          AssumeRolePolicyDocument: encodePolicyDocument(r.assumeRolePolicyDocument),
          InstanceProfileList: [],
          RolePolicyList: (await repo.listInlinePolicies(accountId, 'role', r.roleName)).map(
            (p) => ({
              PolicyName: p.policyName,
              PolicyDocument: encodePolicyDocument(p.document),
            }),
          ),
          AttachedManagedPolicies: (
            await repo.listAttachedPolicies(accountId, 'role', r.roleName)
          ).map((a) => ({
            PolicyName: a.policyName,
            PolicyArn: a.policyArn,
          })),
          PermissionsBoundary: boundaryXml(r.permissionsBoundaryArn),
          Tags: tagsXml(r.tags),
          RoleLastUsed:
            r.roleLastUsed === undefined
              ? {}
              : { LastUsedDate: r.roleLastUsed.lastUsedDate, Region: r.roleLastUsed.region },
        },
      })
    }
  }
  const local = filters.has('LocalManagedPolicy')
  const aws = filters.has('AWSManagedPolicy')
  if (local || aws) {
    const policies = await repo.listManagedPolicies(accountId, {
      scope: local && aws ? 'All' : local ? 'Local' : 'AWS',
    })
    for (const p of policies) {
      if (p.awsManaged && p.attachmentCount === 0 && p.permissionsBoundaryUsageCount === 0) continue
      const versions = await repo.listPolicyVersions(p.arn)
      out.push({
        list: 'Policies',
        value: {
          PolicyName: p.policyName,
          PolicyId: p.policyId,
          Arn: p.arn,
          Path: p.path,
          DefaultVersionId: p.defaultVersionId,
          AttachmentCount: p.attachmentCount,
          PermissionsBoundaryUsageCount: p.permissionsBoundaryUsageCount,
          IsAttachable: p.isAttachable,
          Description: p.description,
          CreateDate: p.createDate,
          UpdateDate: p.updateDate,
          PolicyVersionList: versions.map((v) => ({
            Document: encodePolicyDocument(v.document),
            VersionId: v.versionId,
            IsDefaultVersion: v.isDefaultVersion,
            CreateDate: v.createDate,
          })),
        },
      })
    }
  }
  return out
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
      GroupDetailList: [],
      RoleDetailList: pick('RoleDetailList'),
      Policies: pick('Policies'),
      ...pageFields(page),
    }
  })

export const gaadActions = { GetAccountAuthorizationDetails: getAccountAuthorizationDetails }
