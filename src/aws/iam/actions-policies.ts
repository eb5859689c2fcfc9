/**
 * @module aws/iam/actions-policies
 * Managed policies with versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, Create/Get/List/
 * DeletePolicyVersion, SetDefaultPolicyVersion, ListEntitiesForPolicy, Tag/Untag/ListPolicyTags. AWS managed
 * policies are read-only: writes on `arn:aws:iam::aws:policy/…` are denied.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import { checkManagedPolicySize, checkPolicyDocument, encodePolicyDocument } from './documents.ts'
import { pageFields, paginate, policyXml, tagContext, withIam, type IamEnv } from './common.ts'
import { ID_PREFIX, newUniqueId, policyArn } from './ids.ts'
import type { ManagedPolicyRecord } from './repo.ts'
import type { OperationContext } from '../../identity/context.ts'
import { tagActions, type TaggableKind } from './actions-tags.ts'
import {
  arnRules,
  boolParam,
  checkPolicyArn,
  checkTags,
  descriptionRules,
  enumParam,
  policyNameRules,
  policyPathRules,
  problemsOf,
  throwIfProblems,
  versionIdRules,
} from './validate.ts'

/** Managed-policy tag keys are case-sensitive (`Team` and `team` are two tags), unlike role and user tag keys. */
const POLICY_TAG_KEYS_CASE_INSENSITIVE = false

export const POLICIES_PER_ACCOUNT = 1500
export const VERSIONS_PER_POLICY = 5

const notFound = (arn: string) => new AwsError('NoSuchEntity', `Policy ${arn} was not found.`)

function policyArnOf(env: IamEnv): string {
  const arn = requiredParam(env.request, 'PolicyArn')
  throwIfProblems(problemsOf('policyArn', arn, arnRules))
  checkPolicyArn(arn)
  return arn
}

/**
 * Authorizes `action` on the policy ARN, then loads the policy (NoSuchEntity when absent or foreign). Writes to an
 * AWS managed policy are refused with AccessDenied whether or not podtrust's catalog holds it: "You can't change
 * the permissions defined in AWS managed policies" (IAM User Guide, "AWS managed policies").
 */
async function authorizedPolicy(
  env: IamEnv,
  action: string,
  arn: string,
  write: boolean,
  context?: OperationContext,
): Promise<ManagedPolicyRecord> {
  if (write && arn.startsWith('arn:aws:iam::aws:policy/')) {
    throw new AwsError(
      'AccessDenied',
      `User: ${env.request.caller?.arn ?? 'anonymous'} is not authorized to perform: iam:${action} on resource: policy ${arn}`,
    )
  }
  await env.authorize(action, arn, context)
  const p = await env.repo.getManagedPolicy(arn)
  if (p === undefined || (p.accountId !== 'aws' && p.accountId !== env.accountId))
    throw notFound(arn)
  return p
}

const createPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = req.params
    const name = p['PolicyName']
    const document = p['PolicyDocument']
    const path = p['Path'] ?? '/'
    const tags = tagList(p) ?? []
    throwIfProblems([
      ...(name === undefined
        ? ["Value null at 'policyName' failed to satisfy constraint: Member must not be null"]
        : []),
      ...problemsOf('policyName', name, policyNameRules),
      ...(document === undefined
        ? ["Value null at 'policyDocument' failed to satisfy constraint: Member must not be null"]
        : []),
      ...problemsOf('path', p['Path'], policyPathRules),
      ...problemsOf('description', p['Description'], descriptionRules(1000)),
    ])
    checkTags(tags, 'tags', POLICY_TAG_KEYS_CASE_INSENSITIVE)
    const arn = policyArn(env.accountId, path, name!)
    await env.authorize('CreatePolicy', arn, tagContext(tags))
    checkPolicyDocument('policyDocument', document!, 'managed')
    checkManagedPolicySize(document!)
    if ((await env.repo.getManagedPolicyByName(env.accountId, name!)) !== undefined) {
      throw new AwsError(
        'EntityAlreadyExists',
        `A policy called ${name!} already exists. Duplicate names are not allowed.`,
      )
    }
    if (
      (await env.repo.listManagedPolicies(env.accountId, { scope: 'Local' })).length >=
      POLICIES_PER_ACCOUNT
    ) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for PoliciesPerAccount: ${POLICIES_PER_ACCOUNT}`,
      )
    }
    await env.repo.insertManagedPolicy(
      {
        arn,
        accountId: env.accountId,
        policyName: name!,
        policyId: newUniqueId(ID_PREFIX.policy, env.accountId, env.randomBytes),
        path,
        ...(p['Description'] === undefined ? {} : { description: p['Description'] }),
        createDate: env.now,
        updateDate: env.now,
        tags,
      },
      document!,
    )
    const created = await env.repo.getManagedPolicy(arn)
    return { Policy: policyXml(created!, 'create') }
  })

const getPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => ({
    Policy: policyXml(await authorizedPolicy(env, 'GetPolicy', policyArnOf(env), false), 'get'),
  }))

const listPolicies: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const p = req.params
    const scope = enumParam('scope', p['Scope'], ['All', 'AWS', 'Local'] as const) ?? 'All'
    const onlyAttached = boolParam('OnlyAttached', p['OnlyAttached']) ?? false
    const usage = enumParam('policyUsageFilter', p['PolicyUsageFilter'], [
      'PermissionsPolicy',
      'PermissionsBoundary',
    ] as const)
    throwIfProblems(problemsOf('pathPrefix', p['PathPrefix'], policyPathRules))
    await env.authorize('ListPolicies', `arn:aws:iam::${env.accountId}:policy/`)
    let all = await env.repo.listManagedPolicies(env.accountId, {
      scope,
      onlyAttached,
      ...(p['PathPrefix'] === undefined ? {} : { pathPrefix: p['PathPrefix'] }),
    })
    // The usage filter keeps policies used that way (attached as permissions, or set as a boundary).
    if (usage === 'PermissionsPolicy') all = all.filter((x) => x.attachmentCount > 0)
    if (usage === 'PermissionsBoundary')
      all = all.filter((x) => x.permissionsBoundaryUsageCount > 0)
    const page = paginate(all, req)
    return { Policies: page.items.map((x) => policyXml(x, 'list')), ...pageFields(page) }
  })

const deletePolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const p = await authorizedPolicy(env, 'DeletePolicy', arn, true)
    if (p.attachmentCount > 0 || p.permissionsBoundaryUsageCount > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete a policy attached to entities.')
    }
    if ((await env.repo.listPolicyVersions(arn)).length > 1) {
      throw new AwsError(
        'DeleteConflict',
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
      )
    }
    await env.repo.deleteManagedPolicy(arn)
    return undefined
  })

function versionIdOf(env: IamEnv): string {
  const v = requiredParam(env.request, 'VersionId')
  throwIfProblems(problemsOf('versionId', v, versionIdRules))
  return v
}

const versionXml = (
  v: { versionId: string; document: string; isDefaultVersion: boolean; createDate: Date },
  withDocument: boolean,
) => ({
  Document: withDocument ? encodePolicyDocument(v.document) : undefined,
  VersionId: v.versionId,
  IsDefaultVersion: v.isDefaultVersion,
  CreateDate: v.createDate,
})

const getPolicyVersion: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const versionId = versionIdOf(env)
    await env.authorize('GetPolicyVersion', arn)
    // A missing policy and a missing version get the same answer: IAM looks the pair up.
    const owner = arn.split(':')[4]
    const v =
      owner === 'aws' || owner === env.accountId
        ? await env.repo.getPolicyVersion(arn, versionId)
        : undefined
    if (v === undefined) {
      throw new AwsError(
        'NoSuchEntity',
        `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
      )
    }
    return { PolicyVersion: versionXml(v, true) }
  })

const listPolicyVersions: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    await authorizedPolicy(env, 'ListPolicyVersions', arn, false)
    const page = paginate(await env.repo.listPolicyVersions(arn), req)
    return { Versions: page.items.map((v) => versionXml(v, false)), ...pageFields(page) }
  })

const createPolicyVersion: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const document = requiredParam(req, 'PolicyDocument')
    const setAsDefault = boolParam('SetAsDefault', req.params['SetAsDefault']) ?? false
    await authorizedPolicy(env, 'CreatePolicyVersion', arn, true)
    checkPolicyDocument('policyDocument', document, 'managed')
    checkManagedPolicySize(document)
    if ((await env.repo.listPolicyVersions(arn)).length >= VERSIONS_PER_POLICY) {
      throw new AwsError(
        'LimitExceeded',
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      )
    }
    const versionId = await env.repo.createPolicyVersion(arn, document, setAsDefault, env.now)
    const v = await env.repo.getPolicyVersion(arn, versionId)
    return { PolicyVersion: versionXml(v!, false) }
  })

const deletePolicyVersion: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const versionId = versionIdOf(env)
    await authorizedPolicy(env, 'DeletePolicyVersion', arn, true)
    const v = await env.repo.getPolicyVersion(arn, versionId)
    if (v === undefined) {
      throw new AwsError(
        'NoSuchEntity',
        `Policy ${arn} version ${versionId} does not exist or is not deletable.`,
      )
    }
    if (v.isDefaultVersion)
      throw new AwsError('DeleteConflict', 'Cannot delete the default version of a policy.')
    await env.repo.deletePolicyVersion(arn, versionId)
    return undefined
  })

const setDefaultPolicyVersion: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const versionId = versionIdOf(env)
    if (!arn.startsWith('arn:aws:iam::aws:policy/'))
      await env.authorize('SetDefaultPolicyVersion', arn)
    else await authorizedPolicy(env, 'SetDefaultPolicyVersion', arn, true)
    const owner = arn.split(':')[4]
    if (
      owner !== env.accountId ||
      (await env.repo.getPolicyVersion(arn, versionId)) === undefined
    ) {
      throw new AwsError(
        'NoSuchEntity',
        `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
      )
    }
    await env.repo.setDefaultPolicyVersion(arn, versionId, env.now)
    return undefined
  })

const listEntitiesForPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = policyArnOf(env)
    const filter = enumParam('entityFilter', req.params['EntityFilter'], [
      'User',
      'Role',
      'Group',
      'LocalManagedPolicy',
      'AWSManagedPolicy',
    ] as const)
    await authorizedPolicy(env, 'ListEntitiesForPolicy', arn, false)
    const entities = (await env.repo.listPolicyEntities(arn)).filter(
      (e) => e.accountId === env.accountId,
    )
    const roles = []
    const users = []
    const groups = []
    for (const e of entities) {
      if (e.type === 'group' && (filter === undefined || filter === 'Group')) {
        const g = await env.repo.getGroup(env.accountId, e.name)
        if (g !== undefined) groups.push({ GroupName: g.groupName, GroupId: g.groupId })
      }
      if (e.type === 'role' && (filter === undefined || filter === 'Role')) {
        const r = await env.repo.getRole(env.accountId, e.name)
        if (r !== undefined) roles.push({ RoleName: r.roleName, RoleId: r.roleId })
      }
      if (e.type === 'user' && (filter === undefined || filter === 'User')) {
        const u = await env.repo.getUser(env.accountId, e.name)
        if (u !== undefined) users.push({ UserName: u.userName, UserId: u.userId })
      }
    }
    return { PolicyGroups: groups, PolicyUsers: users, PolicyRoles: roles, IsTruncated: false }
  })

/** Managed policies as a taggable kind (`actions-tags.ts`); AWS managed policies cannot be tagged. */
const policyTags: TaggableKind<ManagedPolicyRecord> = {
  noun: 'Policy',
  nameOf: policyArnOf,
  authorized: (env, action, context) =>
    authorizedPolicy(env, action, policyArnOf(env), action !== 'ListPolicyTags', context),
  tags: {
    of: (p) => p.tags,
    save: (env, p, tags) => env.repo.updateManagedPolicyTags(p.arn, tags),
  },
  caseSensitiveKeys: true,
}

export const policyActions: Record<string, QueryHandler> = {
  CreatePolicy: createPolicy,
  GetPolicy: getPolicy,
  ListPolicies: listPolicies,
  DeletePolicy: deletePolicy,
  GetPolicyVersion: getPolicyVersion,
  ListPolicyVersions: listPolicyVersions,
  CreatePolicyVersion: createPolicyVersion,
  DeletePolicyVersion: deletePolicyVersion,
  SetDefaultPolicyVersion: setDefaultPolicyVersion,
  ListEntitiesForPolicy: listEntitiesForPolicy,
  ...tagActions(policyTags),
}
