/**
 * @module aws/iam/actions-oidc
 * IAM OIDC identity providers: Create/Get/List/Delete, Add/RemoveClientIDToOpenIDConnectProvider,
 * UpdateOpenIDConnectProviderThumbprint, Tag/Untag/ListOpenIDConnectProviderTags. The URL is stored without
 * `https://` exactly as given (a trailing slash kept); the STS matches `iss` against it (STS API reference,
 * AssumeRoleWithWebIdentity: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
 */
import { AwsError } from '../errors.ts'
import { memberList, requiredParam, tagList, type QueryHandler } from '../query/registry.ts'
import { oidcProviderXml, tagContext, tagsXml, withIam, type IamEnv } from './common.ts'
import { oidcProviderArn } from './ids.ts'
import type { OidcProviderRecord } from './repo.ts'
import { tagActions, type TaggableKind } from './actions-tags.ts'
import {
  arnRules,
  checkClientIds,
  checkOidcProviderArn,
  checkOidcUrl,
  checkTags,
  checkThumbprints,
  problemsOf,
  throwIfProblems,
} from './validate.ts'
import type { OperationContext } from '../../identity/context.ts'

export const OIDC_PROVIDERS_PER_ACCOUNT = 100

function providerArnOf(env: IamEnv): string {
  const arn = requiredParam(env.request, 'OpenIDConnectProviderArn')
  throwIfProblems(problemsOf('openIDConnectProviderArn', arn, arnRules))
  checkOidcProviderArn(arn)
  return arn
}

async function authorizedProvider(
  env: IamEnv,
  action: string,
  context?: OperationContext,
): Promise<OidcProviderRecord> {
  const arn = providerArnOf(env)
  await env.authorize(action, arn, context)
  const p = await env.repo.getOidcProviderByArn(arn)
  if (p === undefined || p.accountId !== env.accountId) {
    throw new AwsError('NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn}`)
  }
  return p
}

const createProvider: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const url = requiredParam(req, 'Url')
    const clientIds = memberList(req.params, 'ClientIDList') ?? []
    const thumbprints = memberList(req.params, 'ThumbprintList') ?? []
    const tags = tagList(req.params) ?? []
    const stored = checkOidcUrl(url)
    checkThumbprints(thumbprints)
    checkClientIds(clientIds)
    checkTags(tags)
    const arn = oidcProviderArn(env.accountId, stored)
    await env.authorize('CreateOpenIDConnectProvider', arn, tagContext(tags))
    if ((await env.repo.getOidcProviderByUrl(env.accountId, stored)) !== undefined) {
      throw new AwsError('EntityAlreadyExists', `Provider with url ${url} already exists.`)
    }
    if ((await env.repo.listOidcProviders(env.accountId)).length >= OIDC_PROVIDERS_PER_ACCOUNT) {
      throw new AwsError(
        'LimitExceeded',
        `Cannot exceed quota for OpenIdConnectProvidersPerAccount: ${OIDC_PROVIDERS_PER_ACCOUNT}`,
      )
    }
    await env.repo.insertOidcProvider({
      accountId: env.accountId,
      arn,
      url: stored,
      clientIds: [...new Set(clientIds)],
      thumbprints: [...new Set(thumbprints.map((t) => t.toLowerCase()))],
      createDate: env.now,
      tags,
    })
    return { OpenIDConnectProviderArn: arn, Tags: tags.length > 0 ? tagsXml(tags) : undefined }
  })

const getProvider: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) =>
    oidcProviderXml(await authorizedProvider(env, 'GetOpenIDConnectProvider')),
  )

const listProviders: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    await env.authorize('ListOpenIDConnectProviders', '*')
    const list = await env.repo.listOidcProviders(env.accountId)
    return { OpenIDConnectProviderList: list.map((p) => ({ Arn: p.arn })) }
  })

const deleteProvider: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const arn = providerArnOf(env)
    await env.authorize('DeleteOpenIDConnectProvider', arn)
    const p = await env.repo.getOidcProviderByArn(arn)
    // Documented idempotent, yet AWS answers a second delete with NoSuchEntity (recorded AWS responses;
    // https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteOpenIDConnectProvider.html).
    if (p === undefined || p.accountId !== env.accountId) {
      throw new AwsError('NoSuchEntity', `OpenId connect Provider ${arn} cannot be found.`)
    }
    await env.repo.deleteOidcProvider(arn)
    return undefined
  })

const addClientId: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const clientId = requiredParam(req, 'ClientID')
    checkClientIds([clientId])
    const p = await authorizedProvider(env, 'AddClientIDToOpenIDConnectProvider')
    if (!p.clientIds.includes(clientId)) {
      const clientIds = [...p.clientIds, clientId]
      checkClientIds(clientIds)
      await env.repo.updateOidcProvider({ ...p, clientIds })
    }
    return undefined
  })

const removeClientId: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const clientId = requiredParam(req, 'ClientID')
    checkClientIds([clientId])
    const p = await authorizedProvider(env, 'RemoveClientIDFromOpenIDConnectProvider')
    await env.repo.updateOidcProvider({
      ...p,
      clientIds: p.clientIds.filter((c) => c !== clientId),
    })
    return undefined
  })

const updateThumbprint: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const list = memberList(req.params, 'ThumbprintList')
    if (list === undefined) {
      throw new AwsError(
        'ValidationError',
        "1 validation error detected: Value null at 'thumbprintList' failed to satisfy constraint: Member must not be null",
      )
    }
    checkThumbprints(list)
    const p = await authorizedProvider(env, 'UpdateOpenIDConnectProviderThumbprint')
    await env.repo.updateOidcProvider({
      ...p,
      thumbprints: [...new Set(list.map((t) => t.toLowerCase()))],
    })
    return undefined
  })

/** OIDC providers as a taggable kind (`actions-tags.ts`). */
const providerTags: TaggableKind<OidcProviderRecord> = {
  noun: 'OpenIDConnectProvider',
  nameOf: providerArnOf,
  authorized: authorizedProvider,
  tags: {
    of: (p) => p.tags,
    save: (env, p, tags) => env.repo.updateOidcProvider({ ...p, tags }),
  },
}

export const oidcActions: Record<string, QueryHandler> = {
  CreateOpenIDConnectProvider: createProvider,
  GetOpenIDConnectProvider: getProvider,
  ListOpenIDConnectProviders: listProviders,
  DeleteOpenIDConnectProvider: deleteProvider,
  AddClientIDToOpenIDConnectProvider: addClientId,
  RemoveClientIDFromOpenIDConnectProvider: removeClientId,
  UpdateOpenIDConnectProviderThumbprint: updateThumbprint,
  ...tagActions(providerTags),
}
