/**
 * @module aws/iam/actions-simulate
 * IAM's policy simulator API (IAM API reference: SimulatePrincipalPolicy, SimulateCustomPolicy) over the policy
 * engine's simulation entry point (`simulate`, never the run-time `authorize`): each action is evaluated against
 * each resource (default `*`, "any resource"), with the principal's own policies (a user's include its groups')
 * or the given ones, an optional permissions boundary, resource policy and context entries. Decisions are AWS's
 * `allowed` / `explicitDeny` / `implicitDeny`.
 */
import {
  compilePolicy,
  simulate,
  type AuthorizationResult,
  type CompiledPolicy,
  type PolicyType,
} from '../../policy/index.ts'
import { AwsError } from '../errors.ts'
import { memberList, requiredParam, structList, type QueryHandler } from '../query/registry.ts'
import type { XmlValue } from '../xml.ts'
import { checkPolicyDocument } from './documents.ts'
import { pageFields, paginate, withIam, type IamEnv } from './common.ts'
import type { PolicyDocumentRef } from './repo.ts'
import { arnRules, problemsOf, rules, throwIfProblems } from './validate.ts'

interface Source {
  policy: CompiledPolicy
  /** AWS's SourcePolicyId and SourcePolicyType of MatchedStatements. */
  sourceId: string
  sourceType: string
}

const DECISION = {
  Allowed: 'allowed',
  ExplicitlyDenied: 'explicitDeny',
  ImplicitlyDenied: 'implicitDeny',
} as const

function inputPolicies(env: IamEnv, member: string, type: PolicyType): Source[] {
  const docs = memberList(env.request.params, member) ?? []
  return docs.map((doc, i) => {
    checkPolicyDocument(
      `${member.charAt(0).toLowerCase()}${member.slice(1)}`,
      doc,
      type === 'boundary' ? 'inline' : type,
    )
    const id = `${member}.${i + 1}`
    return { policy: compilePolicy(doc, { id, type }), sourceId: id, sourceType: 'IAM Policy' }
  })
}

function stored(ref: PolicyDocumentRef, type: PolicyType): Source {
  const inline = /^(role|user|group)\/[^/]+\/inline\/(.+)$/.exec(ref.id)
  const policy = compilePolicy(ref.document, { id: ref.id, type })
  if (inline !== null) return { policy, sourceId: inline[2]!, sourceType: inline[1]! }
  const name = ref.id.slice(ref.id.lastIndexOf('/') + 1)
  const sourceType = ref.id.startsWith('arn:aws:iam::aws:') ? 'aws-managed' : 'user-managed'
  return { policy, sourceId: name, sourceType }
}

/** `ContextEntries.member.N.{ContextKeyName, ContextKeyType, ContextKeyValues.member.M}`. */
function contextEntries(env: IamEnv): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const e of structList(env.request.params, 'ContextEntries') ?? []) {
    const name = e['ContextKeyName']
    if (name === undefined) continue
    const values = Object.entries(e)
      .filter(([k]) => k.startsWith('ContextKeyValues.member.'))
      .sort((a, b) => Number(a[0].split('.').pop()) - Number(b[0].split('.').pop()))
      .map(([, v]) => v)
    const type = e['ContextKeyType'] ?? 'string'
    out[name] = type.endsWith('List') ? values : (values[0] ?? '')
  }
  return out
}

interface Question {
  principal: string
  identity: Source[]
  boundary: Source[]
  resourcePolicy: Source | undefined
  resourceOwner: string | undefined
}

function evaluate(env: IamEnv, q: Question): XmlValue[] {
  const actions = memberList(env.request.params, 'ActionNames') ?? []
  if (actions.length === 0) {
    throw new AwsError(
      'ValidationError',
      "1 validation error detected: Value at 'actionNames' failed to satisfy constraint: Member must not be null",
    )
  }
  const resources = memberList(env.request.params, 'ResourceArns') ?? []
  throwIfProblems(
    resources.flatMap((r, i) =>
      problemsOf(`resourceArns.${i + 1}.member`, r, [rules.length(1, 2048)]),
    ),
  )
  const context = contextEntries(env)
  const sources = new Map<string, Source>()
  for (const s of [
    ...q.identity,
    ...q.boundary,
    ...(q.resourcePolicy === undefined ? [] : [q.resourcePolicy]),
  ]) {
    sources.set(s.policy.id, s)
  }
  const out: XmlValue[] = []
  for (const action of actions) {
    for (const resource of resources.length === 0 ? ['*'] : resources) {
      const result: AuthorizationResult = simulate({
        principal: q.principal,
        action,
        resource,
        ...(q.resourceOwner === undefined ? {} : { resourceAccount: q.resourceOwner }),
        context,
        identityPolicies: q.identity.map((s) => s.policy),
        ...(q.boundary.length === 0
          ? {}
          : { permissionBoundaries: q.boundary.map((s) => s.policy) }),
        ...(q.resourcePolicy === undefined ? {} : { resourcePolicy: q.resourcePolicy.policy }),
      })
      out.push({
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: DECISION[result.decision],
        MatchedStatements: result.matched
          .filter(
            (m) =>
              (m.effect === 'Allow') === (result.decision === 'Allowed') || m.effect === 'Deny',
          )
          .map((m) => ({
            SourcePolicyId: sources.get(m.policyId)?.sourceId ?? m.policyId,
            SourcePolicyType: sources.get(m.policyId)?.sourceType ?? 'IAM Policy',
          })),
        MissingContextValues: [],
        ...(q.boundary.length === 0
          ? {}
          : {
              PermissionsBoundaryDecisionDetail: {
                AllowedByPermissionsBoundary: !result.blockedBy.includes('pb'),
              },
            }),
      })
    }
  }
  return out
}

function resourcePolicyOf(env: IamEnv): Source | undefined {
  const doc = env.request.params['ResourcePolicy']
  if (doc === undefined) return undefined
  checkPolicyDocument('resourcePolicy', doc, 'resource')
  return {
    policy: compilePolicy(doc, { id: 'ResourcePolicy', type: 'resource' }),
    sourceId: 'ResourcePolicy',
    sourceType: 'resource',
  }
}

const simulateCustomPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    if (memberList(req.params, 'PolicyInputList') === undefined) {
      throw new AwsError(
        'ValidationError',
        "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
      )
    }
    const callerArn = req.params['CallerArn']
    throwIfProblems(problemsOf('callerArn', callerArn, arnRules))
    await env.authorize('SimulateCustomPolicy', '*')
    const identity = inputPolicies(env, 'PolicyInputList', 'identity')
    const boundary = inputPolicies(env, 'PermissionsBoundaryPolicyInputList', 'boundary')
    const page = paginate(
      evaluate(env, {
        principal: callerArn ?? `arn:aws:iam::${env.accountId}:user/SimulatedUser`,
        identity,
        boundary,
        resourcePolicy: resourcePolicyOf(env),
        resourceOwner: req.params['ResourceOwner']?.split(':')[4] ?? req.params['ResourceOwner'],
      }),
      req,
    )
    return { EvaluationResults: page.items, ...pageFields(page) }
  })

/** The stored policies (and boundary) of the user, role or group `source` names; a user's include its groups'. */
async function principalDocuments(
  env: IamEnv,
  source: string,
): Promise<{ docs: PolicyDocumentRef[]; boundaryArn: string | undefined }> {
  const m = /^arn:aws:iam::(\d{12}):(user|role|group)\/(?:.*\/)?([^/]+)$/.exec(source)
  if (m === null || m[1] !== env.accountId) {
    throw new AwsError(
      'InvalidInput',
      `Invalid Entity Arn: ${source} does not clearly define entity type and name.`,
    )
  }
  const kind = m[2] as 'user' | 'role' | 'group'
  const name = m[3]!
  let docs: PolicyDocumentRef[]
  let boundaryArn: string | undefined
  if (kind === 'user') {
    const u = await env.repo.getUser(env.accountId, name)
    if (u === undefined)
      throw new AwsError('NoSuchEntity', `The user with name ${name} cannot be found.`)
    docs = await env.repo.getUserPolicyDocuments(env.accountId, u.userName)
    boundaryArn = u.permissionsBoundaryArn
  } else if (kind === 'role') {
    const r = await env.repo.getRole(env.accountId, name)
    if (r === undefined)
      throw new AwsError('NoSuchEntity', `The role with name ${name} cannot be found.`)
    docs = await env.repo.getRolePolicyDocuments(env.accountId, r.roleName)
    boundaryArn = r.permissionsBoundaryArn
  } else {
    const g = await env.repo.getGroup(env.accountId, name)
    if (g === undefined)
      throw new AwsError('NoSuchEntity', `The group with name ${name} cannot be found.`)
    docs = await env.repo.principalPolicyDocuments(env.accountId, 'group', g.groupName)
  }
  return { docs, boundaryArn }
}

const simulatePrincipalPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const source = requiredParam(req, 'PolicySourceArn')
    throwIfProblems(problemsOf('policySourceArn', source, arnRules))
    await env.authorize('SimulatePrincipalPolicy', source)
    const { docs, boundaryArn } = await principalDocuments(env, source)
    const identity = [
      ...docs.map((d) => stored(d, d.kind === 'inline' ? 'inline' : 'managed')),
      ...inputPolicies(env, 'PolicyInputList', 'identity'),
    ]
    let boundary = inputPolicies(env, 'PermissionsBoundaryPolicyInputList', 'boundary')
    if (boundary.length === 0 && boundaryArn !== undefined) {
      const doc = await env.repo.getManagedPolicyDocument(boundaryArn)
      if (doc !== undefined)
        boundary = [stored({ id: boundaryArn, document: doc, kind: 'managed' }, 'boundary')]
    }
    const page = paginate(
      evaluate(env, {
        principal: req.params['CallerArn'] ?? source,
        identity,
        boundary,
        resourcePolicy: resourcePolicyOf(env),
        resourceOwner: req.params['ResourceOwner']?.split(':')[4] ?? req.params['ResourceOwner'],
      }),
      req,
    )
    return { EvaluationResults: page.items, ...pageFields(page) }
  })

/**
 * The context keys a set of policies references (IAM API reference, GetContextKeysForCustomPolicy: "all of the
 * context keys referenced in the input policies"): condition keys and policy variables, as written, each once.
 */
function contextKeysOf(documents: string[]): string[] {
  const seen = new Map<string, string>()
  const add = (k: string) => {
    const key = k.trim()
    if (key !== '' && !['*', '?', '$'].includes(key) && !seen.has(key.toLowerCase()))
      seen.set(key.toLowerCase(), key)
  }
  for (const doc of documents) {
    const model = compilePolicy(doc, { id: 'keys' }).model
    for (const st of model.statements) {
      for (const c of st.conditions) {
        add(c.key)
        for (const v of c.values) for (const m of v.matchAll(/\$\{([^},]+)[^}]*\}/g)) add(m[1]!)
      }
      for (const r of [...(st.resource ?? []), ...(st.notResource ?? [])])
        for (const m of r.matchAll(/\$\{([^},]+)[^}]*\}/g)) add(m[1]!)
    }
  }
  return [...seen.values()]
}

const getContextKeysForCustomPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const docs = memberList(req.params, 'PolicyInputList')
    if (docs === undefined) {
      throw new AwsError(
        'ValidationError',
        "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
      )
    }
    await env.authorize('GetContextKeysForCustomPolicy', '*')
    docs.forEach((d, i) => checkPolicyDocument(`policyInputList.${i + 1}.member`, d, 'inline'))
    return { ContextKeyNames: contextKeysOf(docs) }
  })

const getContextKeysForPrincipalPolicy: QueryHandler = (req, ctx) =>
  withIam(req, ctx, async (env) => {
    const source = requiredParam(req, 'PolicySourceArn')
    throwIfProblems(problemsOf('policySourceArn', source, arnRules))
    await env.authorize('GetContextKeysForPrincipalPolicy', source)
    const docs = (await principalDocuments(env, source)).docs.map((d) => d.document)
    const extra = memberList(req.params, 'PolicyInputList') ?? []
    extra.forEach((d, i) => checkPolicyDocument(`policyInputList.${i + 1}.member`, d, 'inline'))
    return { ContextKeyNames: contextKeysOf([...docs, ...extra]) }
  })

export const simulateActions: Record<string, QueryHandler> = {
  GetContextKeysForCustomPolicy: getContextKeysForCustomPolicy,
  GetContextKeysForPrincipalPolicy: getContextKeysForPrincipalPolicy,
  SimulatePrincipalPolicy: simulatePrincipalPolicy,
  SimulateCustomPolicy: simulateCustomPolicy,
}
