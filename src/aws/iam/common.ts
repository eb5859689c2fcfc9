/**
 * @module aws/iam/common
 * What every IAM action shares: the per-request environment (repo over a transaction, account, clock,
 * randomness), authorization, pagination (`Marker` / `MaxItems`), and the XML shapes of IAM entities in
 * botocore's member order.
 */
import type { AppContext } from '../../app/context.ts'
import type { Queryable } from '../../store/db.ts'
import { AwsError, validationError } from '../errors.ts'
import type { QueryRequest } from '../query/registry.ts'
import type { XmlValue } from '../xml.ts'
import { authorizeIam } from './authz.ts'
import type { OperationContext } from '../../identity/context.ts'
import { encodePolicyDocument } from './documents.ts'
import {
  createIamRepo,
  type IamRepo,
  type ManagedPolicyRecord,
  type OidcProviderRecord,
  type RoleRecord,
  type Tag,
  type UserRecord,
} from './repo.ts'
import { iamProblem, intParam } from './validate.ts'

export interface IamEnv {
  repo: IamRepo
  accountId: string
  now: Date
  randomBytes: (size: number) => Uint8Array
  request: QueryRequest
  /** Authorizes `iam:<action>` on `resource` (throws AccessDenied). */
  authorize(action: string, resource: string, context?: OperationContext): Promise<void>
}

/** Runs `fn` in one store transaction with the IAM environment of the request. */
export async function withIam<T>(
  request: QueryRequest,
  ctx: AppContext,
  fn: (env: IamEnv) => Promise<T>,
): Promise<T> {
  const accountId = request.caller?.accountId ?? ctx.settings.accountId
  const now = ctx.now()
  return ctx.db.transaction(async (tx: Queryable) => {
    const repo = createIamRepo(tx)
    const env: IamEnv = {
      repo,
      accountId,
      now,
      randomBytes: ctx.randomBytes,
      request,
      authorize: (action, resource, context) =>
        authorizeIam(ctx, {
          caller: request.caller,
          action: `iam:${action}`,
          resource,
          facts: request.facts,
          ...(context === undefined ? {} : { context }),
        }),
    }
    return fn(env)
  })
}

/** The tags a call sets, for the request-context builder (`aws:RequestTag/K`, `aws:TagKeys`). */
export function tagContext(tags: Tag[] | undefined): OperationContext {
  if (tags === undefined || tags.length === 0) return {}
  return { requestTags: tags }
}

// ---- pagination ----------------------------------------------------------------------------------------

export interface Page<T> {
  items: T[]
  isTruncated: boolean
  marker: string | undefined
}

/** Opaque markers (an offset); MaxItems 1–1000, default 100. */
export function paginate<T>(all: T[], request: QueryRequest): Page<T> {
  const max = intParam('MaxItems', request.params['MaxItems'], 1, 1000) ?? 100
  const raw = request.params['Marker']
  let start = 0
  if (raw !== undefined) {
    const decoded = /^[A-Za-z0-9_-]+$/.test(raw)
      ? Buffer.from(raw, 'base64url').toString('utf8')
      : ''
    const m = /^o:(\d{1,9})$/.exec(decoded)
    if (m === null) {
      throw validationError([iamProblem('marker', 'be a marker returned by a previous call')])
    }
    start = Number(m[1])
  }
  const items = all.slice(start, start + max)
  const next = start + max
  const isTruncated = next < all.length
  return {
    items,
    isTruncated,
    marker: isTruncated ? Buffer.from(`o:${next}`).toString('base64url') : undefined,
  }
}

/** `IsTruncated` and `Marker` (only when truncated), as AWS renders them. */
export function pageFields<T>(page: Page<T>): { IsTruncated: boolean; Marker?: string } {
  return page.marker === undefined
    ? { IsTruncated: page.isTruncated }
    : { IsTruncated: page.isTruncated, Marker: page.marker }
}

// ---- XML shapes ----------------------------------------------------------------------------------------

export const tagsXml = (tags: Tag[]): XmlValue[] =>
  tags.map((t) => ({ Key: t.key, Value: t.value }))

export function boundaryXml(arn: string | undefined): XmlValue {
  // Real IAM responses say "Policy" although the model's enum names `PermissionsBoundaryPolicy` (recorded
  // AWS responses; IAM API reference, AttachedPermissionsBoundary:
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachedPermissionsBoundary.html).
  return arn === undefined
    ? undefined
    : { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: arn }
}

/**
 * Role shapes differ per action: CreateRole omits MaxSessionDuration and RoleLastUsed, UpdateRoleDescription
 * RoleLastUsed (AWS CLI reference, update-role-description output), ListRoles tags.
 */
export function roleXml(
  r: RoleRecord,
  view: 'create' | 'get' | 'update' | 'list',
): { [name: string]: XmlValue } {
  return {
    Path: r.path,
    RoleName: r.roleName,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: r.createDate,
    AssumeRolePolicyDocument: encodePolicyDocument(r.assumeRolePolicyDocument),
    Description: r.description,
    MaxSessionDuration: view === 'create' ? undefined : r.maxSessionDuration,
    PermissionsBoundary: view === 'list' ? undefined : boundaryXml(r.permissionsBoundaryArn),
    Tags: view !== 'list' && r.tags.length > 0 ? tagsXml(r.tags) : undefined,
    RoleLastUsed:
      view !== 'get'
        ? undefined
        : r.roleLastUsed === undefined
          ? {}
          : { LastUsedDate: r.roleLastUsed.lastUsedDate, Region: r.roleLastUsed.region },
  }
}

export function userXml(u: UserRecord, view: 'get' | 'list'): { [name: string]: XmlValue } {
  return {
    Path: u.path,
    UserName: u.userName,
    UserId: u.userId,
    Arn: u.arn,
    CreateDate: u.createDate,
    PermissionsBoundary: view === 'list' ? undefined : boundaryXml(u.permissionsBoundaryArn),
    Tags: view !== 'list' && u.tags.length > 0 ? tagsXml(u.tags) : undefined,
  }
}

/**
 * Policy shapes per action: GetPolicy carries Description and always `Tags` (empty when none); CreatePolicy
 * omits Description and has Tags only when some were given; ListPolicies has neither.
 */
export function policyXml(
  p: ManagedPolicyRecord,
  view: 'create' | 'get' | 'list',
): { [name: string]: XmlValue } {
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: p.attachmentCount,
    PermissionsBoundaryUsageCount: p.permissionsBoundaryUsageCount,
    IsAttachable: p.isAttachable,
    Description: view === 'get' ? p.description : undefined,
    CreateDate: p.createDate,
    UpdateDate: p.updateDate,
    Tags: view === 'get' || (view === 'create' && p.tags.length > 0) ? tagsXml(p.tags) : undefined,
  }
}

export function oidcProviderXml(p: OidcProviderRecord): { [name: string]: XmlValue } {
  return {
    Url: p.url,
    ClientIDList: p.clientIds,
    ThumbprintList: p.thumbprints,
    CreateDate: p.createDate,
    Tags: tagsXml(p.tags),
  }
}

// ---- lookups with AWS's NoSuchEntity wording -----------------------------------------------------------

export async function mustGetRole(env: IamEnv, roleName: string): Promise<RoleRecord> {
  const role = await env.repo.getRole(env.accountId, roleName)
  if (role === undefined)
    throw new AwsError('NoSuchEntity', `The role with name ${roleName} cannot be found.`)
  return role
}

export async function mustGetUser(env: IamEnv, userName: string): Promise<UserRecord> {
  const user = await env.repo.getUser(env.accountId, userName)
  if (user === undefined)
    throw new AwsError('NoSuchEntity', `The user with name ${userName} cannot be found.`)
  return user
}

/** A managed policy visible to the account: its own, or AWS managed. */
export async function mustGetPolicy(env: IamEnv, arn: string): Promise<ManagedPolicyRecord> {
  const p = await env.repo.getManagedPolicy(arn)
  if (p === undefined || (p.accountId !== 'aws' && p.accountId !== env.accountId)) {
    throw new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`)
  }
  return p
}

export const roleResource = (env: IamEnv, name: string, existing?: RoleRecord): string =>
  existing?.arn ?? `arn:aws:iam::${env.accountId}:role/${name}`
export const userResource = (env: IamEnv, name: string, existing?: UserRecord): string =>
  existing?.arn ?? `arn:aws:iam::${env.accountId}:user/${name}`
