/**
 * @module aws/iam/actions-principal-policies
 * The actions every IAM principal entity shares, written once over a `PrincipalKind`: inline policies
 * (Put/Get/List/Delete`<Noun>`Policy), managed attachments (Attach/Detach/ListAttached`<Noun>`Policies) and
 * tags (Tag/Untag/List`<Noun>`Tags, `actions-tags.ts`). Roles and users are kinds today; IAM groups are a
 * third kind with no new copy (IAM API reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html, …). Validation order:
 * model constraints, then authorization, then existence and quotas, as IAM answers.
 */
import { AwsError } from '../errors.ts'
import { requiredParam, type QueryHandler } from '../query/registry.ts'
import { checkInlineTotal, checkPolicyDocument, encodePolicyDocument } from './documents.ts'
import { mustGetPolicy, pageFields, paginate, withIam, type IamEnv } from './common.ts'
import type { PrincipalType, Tag } from './repo.ts'
import { tagActions } from './actions-tags.ts'
import {
  arnRules,
  checkPolicyArn,
  pathPrefixRules,
  policyNameRules,
  problemsOf,
  throwIfProblems,
} from './validate.ts'
import type { OperationContext } from '../../identity/context.ts'

/** Managed policies attached per principal (IAM User Guide, "IAM and AWS STS quotas"). */
export const MANAGED_POLICIES_PER_PRINCIPAL = 10

/** What the shared actions need to know about one entity type. */
export interface PrincipalKind<R> {
  type: PrincipalType
  /** The noun in action and member names: `Role` → `PutRolePolicy`, `RoleName`. */
  noun: 'Role' | 'User' | 'Group'
  /** Validates the entity's name member of the request and returns it. */
  nameOf(env: IamEnv): string
  /** Authorizes `iam:<action>` on the named entity (its ARN when it exists), then loads it (NoSuchEntity). */
  authorized(env: IamEnv, action: string, context?: OperationContext): Promise<R>
  name(entity: R): string
  /** The entity's tags and how to store new ones; absent for an entity without tags. */
  tags?: { of(entity: R): Tag[]; save(env: IamEnv, entity: R, tags: Tag[]): Promise<void> }
}

function policyNameOf(env: IamEnv): string {
  const name = requiredParam(env.request, 'PolicyName')
  throwIfProblems(problemsOf('policyName', name, policyNameRules))
  return name
}

function policyArnOf(env: IamEnv): string {
  const arn = requiredParam(env.request, 'PolicyArn')
  throwIfProblems(problemsOf('policyArn', arn, arnRules))
  checkPolicyArn(arn)
  return arn
}

const inlineNotFound = (type: PrincipalType, policyName: string): AwsError =>
  new AwsError('NoSuchEntity', `The ${type} policy with name ${policyName} cannot be found.`)

function inlinePolicyActions<R>(kind: PrincipalKind<R>): Record<string, QueryHandler> {
  const { type, noun } = kind
  return {
    [`Put${noun}Policy`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        kind.nameOf(env)
        const policyName = policyNameOf(env)
        const document = requiredParam(req, 'PolicyDocument')
        const name = kind.name(await kind.authorized(env, `Put${noun}Policy`))
        checkPolicyDocument('policyDocument', document, 'inline')
        const others = (await env.repo.listInlinePolicies(env.accountId, type, name))
          .filter((x) => x.policyName.toLowerCase() !== policyName.toLowerCase())
          .map((x) => x.document)
        checkInlineTotal(type, name, [...others, document])
        await env.repo.putInlinePolicy(env.accountId, type, name, policyName, document, env.now)
        return undefined
      }),
    [`Get${noun}Policy`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        kind.nameOf(env)
        const policyName = policyNameOf(env)
        const name = kind.name(await kind.authorized(env, `Get${noun}Policy`))
        const p = await env.repo.getInlinePolicy(env.accountId, type, name, policyName)
        if (p === undefined) throw inlineNotFound(type, policyName)
        return {
          [`${noun}Name`]: name,
          PolicyName: p.policyName,
          PolicyDocument: encodePolicyDocument(p.document),
        }
      }),
    [`List${noun}Policies`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        const name = kind.name(await kind.authorized(env, `List${noun}Policies`))
        const names = (await env.repo.listInlinePolicies(env.accountId, type, name)).map(
          (p) => p.policyName,
        )
        const page = paginate(names, req)
        return { PolicyNames: page.items, ...pageFields(page) }
      }),
    [`Delete${noun}Policy`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        kind.nameOf(env)
        const policyName = policyNameOf(env)
        const name = kind.name(await kind.authorized(env, `Delete${noun}Policy`))
        if (!(await env.repo.deleteInlinePolicy(env.accountId, type, name, policyName)))
          throw inlineNotFound(type, policyName)
        return undefined
      }),
  }
}

function attachmentActions<R>(kind: PrincipalKind<R>): Record<string, QueryHandler> {
  const { type, noun } = kind
  return {
    [`Attach${noun}Policy`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        kind.nameOf(env)
        const arn = policyArnOf(env)
        const entity = await kind.authorized(env, `Attach${noun}Policy`, {
          extra: { 'iam:PolicyARN': arn },
        })
        const name = kind.name(entity)
        await mustGetPolicy(env, arn)
        const attached = await env.repo.listAttachedPolicies(env.accountId, type, name)
        if (
          !attached.some((a) => a.policyArn === arn) &&
          attached.length >= MANAGED_POLICIES_PER_PRINCIPAL
        ) {
          throw new AwsError(
            'LimitExceeded',
            `Cannot exceed quota for PoliciesPer${noun}: ${MANAGED_POLICIES_PER_PRINCIPAL}`,
          )
        }
        await env.repo.attachPolicy(env.accountId, type, name, arn, env.now)
        return undefined
      }),
    [`Detach${noun}Policy`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        kind.nameOf(env)
        const arn = policyArnOf(env)
        const entity = await kind.authorized(env, `Detach${noun}Policy`, {
          extra: { 'iam:PolicyARN': arn },
        })
        if (!(await env.repo.detachPolicy(env.accountId, type, kind.name(entity), arn)))
          throw new AwsError('NoSuchEntity', `Policy ${arn} was not found.`)
        return undefined
      }),
    [`ListAttached${noun}Policies`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        const prefix = req.params['PathPrefix']
        throwIfProblems(problemsOf('pathPrefix', prefix, pathPrefixRules))
        const name = kind.name(await kind.authorized(env, `ListAttached${noun}Policies`))
        let attached = await env.repo.listAttachedPolicies(env.accountId, type, name)
        if (prefix !== undefined) {
          const kept = []
          for (const a of attached) {
            const p = await env.repo.getManagedPolicy(a.policyArn)
            if (p !== undefined && p.path.startsWith(prefix)) kept.push(a)
          }
          attached = kept
        }
        const page = paginate(attached, req)
        return {
          AttachedPolicies: page.items.map((a) => ({
            PolicyName: a.policyName,
            PolicyArn: a.policyArn,
          })),
          ...pageFields(page),
        }
      }),
  }
}

/** Every shared action of one entity kind, keyed by its IAM action name. */
export function principalPolicyActions<R>(kind: PrincipalKind<R>): Record<string, QueryHandler> {
  return {
    ...(kind.tags === undefined ? {} : tagActions({ ...kind, tags: kind.tags })),
    ...inlinePolicyActions(kind),
    ...attachmentActions(kind),
  }
}
