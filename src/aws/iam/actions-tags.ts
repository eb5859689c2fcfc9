/**
 * @module aws/iam/actions-tags
 * Tag`<Noun>`, Untag`<Noun>` and List`<Noun>`Tags, written once for every taggable IAM entity (roles, users,
 * managed policies, OIDC providers; IAM API reference, e.g.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagRole.html). Tag keys compare case-insensitively
 * (managed policies: case-sensitively);
 * a tag request is authorized with `aws:RequestTag/*` and `aws:TagKeys`, an untag request with `aws:TagKeys`
 * (Service Authorization Reference, IAM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 */
import { memberList, tagList, type QueryHandler } from '../query/registry.ts'
import type { OperationContext } from '../../identity/context.ts'
import { pageFields, paginate, tagContext, tagsXml, withIam, type IamEnv } from './common.ts'
import type { Tag } from './repo.ts'
import { checkTagKeys, checkTags, mergeTags, removeTags, sortedTags } from './validate.ts'

/** A taggable entity type: how to name, authorize and load one, and how to store its tags. */
export interface TaggableKind<R> {
  /** The noun in the action names: `Role` → `TagRole`, `ListRoleTags`. */
  noun: string
  /** Validates the request member naming the entity and returns it. */
  nameOf(env: IamEnv): string
  /** Authorizes `iam:<action>` on the named entity, then loads it (NoSuchEntity when absent). */
  authorized(env: IamEnv, action: string, context?: OperationContext): Promise<R>
  tags: { of(entity: R): Tag[]; save(env: IamEnv, entity: R, tags: Tag[]): Promise<void> }
  /** Managed-policy tag keys are case-sensitive (`Team` and `team` are two tags); the others' are not. */
  caseSensitiveKeys?: boolean
}

export function tagActions<R>(kind: TaggableKind<R>): Record<string, QueryHandler> {
  const { noun, tags } = kind
  const insensitive = kind.caseSensitiveKeys !== true
  return {
    [`Tag${noun}`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        const requested = tagList(req.params) ?? []
        kind.nameOf(env)
        checkTags(requested, 'tags', insensitive)
        const entity = await kind.authorized(env, `Tag${noun}`, tagContext(requested))
        await tags.save(env, entity, mergeTags(tags.of(entity), requested, insensitive))
        return undefined
      }),
    [`Untag${noun}`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        const keys = memberList(req.params, 'TagKeys') ?? []
        checkTagKeys(keys)
        const entity = await kind.authorized(env, `Untag${noun}`, { tagKeys: keys })
        await tags.save(env, entity, removeTags(tags.of(entity), keys, insensitive))
        return undefined
      }),
    [`List${noun}Tags`]: (req, ctx) =>
      withIam(req, ctx, async (env) => {
        const entity = await kind.authorized(env, `List${noun}Tags`)
        const page = paginate(sortedTags(tags.of(entity)), req)
        return { Tags: tagsXml(page.items), ...pageFields(page) }
      }),
  }
}
