/**
 * @module aws/eks/routes
 * The EKS REST routes (restJson1, `eks` 2017-11-01) for registered clusters and pod identity associations.
 * Every request is SigV4-authenticated, then authorized as `eks:<Operation>` when an authorizer is wired.
 */
import type { Context, Hono } from 'hono'
import { EksError } from './errors.ts'
import { isStoreUnavailable } from '../../store/errors.ts'
import { asExposable, errorResponse, jsonResponse, newRequestId, parseJsonBody } from './rest.ts'
import {
  type EksDeps,
  createAssociation,
  deleteAssociation,
  describeAssociation,
  describeCluster,
  listAssociations,
  listClusters,
  getClusterOrThrow,
  updateAssociation,
} from './service.ts'
import { associationArn, clusterArn } from './ids.ts'
import { readEksBody } from './rest.ts'
import type { RequestContextInput, RequestFacts } from '../../identity/context.ts'
import { requestFacts } from '../request-facts.ts'

export interface HttpRequestForAuth {
  method: string
  url: string
  headers: Record<string, string>
  body: string
}

/** What the operation adds to the caller's request context besides the request facts. */
export type OperationContext = Omit<RequestContextInput, 'caller' | 'now' | 'principalTags'>

/** An authenticated principal (the STS engineer's `Caller`, structurally). */
export interface AuthenticatedCaller {
  arn: string
  accountId: string
  userId?: string
  accessKeyId?: string
  type?: string
}

export interface EksHttpDeps {
  eks: () => EksDeps
  randomBytes: (size: number) => Uint8Array
  /**
   * SigV4 verification: the caller and the credential scope's (validated) Region; throws an error with an
   * AWS `code` + `status` when the signature is bad.
   */
  authenticate(
    request: HttpRequestForAuth,
  ): Promise<{ caller: AuthenticatedCaller; region: string }>
  /**
   * IAM authorization of `action` on `resource` for the caller, with the request's context (facts, request
   * tags, `iam:PassedToService`); absent: every authenticated caller may.
   */
  authorize?(
    caller: AuthenticatedCaller,
    action: string,
    resource: string,
    context: OperationContext,
  ): Promise<boolean>
  log?: (event: string, fields: Record<string, unknown>) => void
}

export function requestForAuth(c: Context, body: string): HttpRequestForAuth {
  const headers: Record<string, string> = {}
  c.req.raw.headers.forEach((v, k) => {
    headers[k] = v
  })
  return { method: c.req.method, url: c.req.url, headers, body }
}

/** `tags` of a request body (`{"k": "v"}`) as request tags; anything else: none (validation answers it). */
function bodyTags(body: unknown): { key: string; value: string }[] {
  const tags = (body as { tags?: unknown } | null)?.tags
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) return []
  return Object.entries(tags as Record<string, unknown>)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([key, value]) => ({ key, value }))
}

type ResourceOf = (c: Context, deps: EksDeps) => Promise<string>
type RunOperation = (c: Context, body: unknown, deps: EksDeps) => Promise<unknown>

/**
 * The dependencies for one request: with an authorizer, `canPassRole` is bound to the caller. EKS passes an
 * association's role to the Pod Identity service principal, so the caller needs iam:PassRole with
 * iam:PassedToService = pods.eks.amazonaws.com
 * (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html).
 */
function depsFor(http: EksHttpDeps, caller: AuthenticatedCaller, facts: RequestFacts): EksDeps {
  const base = http.eks()
  const authorize = http.authorize
  if (authorize === undefined) return base
  return {
    ...base,
    canPassRole: async (roleArn) => ({
      allowed: await authorize(caller, 'iam:PassRole', roleArn, {
        ...facts,
        passedToService: 'pods.eks.amazonaws.com',
      }),
      callerArn: caller.arn,
    }),
  }
}

/** `eks:<action>` on the resource, with the request's facts and the tags it sets (aws:RequestTag/*, aws:TagKeys). */
async function authorizeOperation(
  http: EksHttpDeps,
  caller: AuthenticatedCaller,
  action: string,
  arn: string,
  context: OperationContext,
): Promise<void> {
  if (http.authorize === undefined) return
  if (!(await http.authorize(caller, `eks:${action}`, arn, context)))
    throw new EksError(
      'AccessDeniedException',
      `User: ${caller.arn} is not authorized to perform: eks:${action} on resource: ${arn}`,
    )
}

/** One EKS operation: authenticate, parse, authorize (before existence), run, answer. */
function operation(http: EksHttpDeps, action: string, resource: ResourceOf, run: RunOperation) {
  return async (c: Context) => {
    const requestId = newRequestId(http.randomBytes)
    try {
      const text = await readEksBody(c)
      const { caller, region } = await http.authenticate(requestForAuth(c, text))
      const parsed = parseJsonBody(text)
      if (!parsed.ok)
        throw new EksError('InvalidRequestException', 'the request body is not valid JSON')
      const facts = requestFacts(c, region)
      const deps = depsFor(http, caller, facts)
      if (http.authorize !== undefined) {
        const requestTags = bodyTags(parsed.value)
        await authorizeOperation(http, caller, action, await resource(c, deps), {
          ...facts,
          ...(requestTags.length > 0 ? { requestTags } : {}),
        })
      }
      return jsonResponse(c, requestId, await run(c, parsed.value, deps))
    } catch (err) {
      return renderError(c, requestId, err, http)
    }
  }
}

export function mountEksRoutes(app: Hono, http: EksHttpDeps): void {
  const op = (action: string, resource: ResourceOf, run: RunOperation) =>
    operation(http, action, resource, run)

  // Authorization comes before existence, as in AWS: an unknown cluster is authorized against the ARN it
  // would have in the server's account and region, so callers without access learn nothing about it.
  const clusterOf = async (c: Context, deps: EksDeps) => {
    const name = c.req.param('name') ?? ''
    const row = await deps.repo.getCluster(name)
    if (row !== undefined) return getClusterOrThrow(deps, name)
    return { name, region: deps.defaults.region, accountId: deps.defaults.accountId }
  }
  const clusterArnOf = async (c: Context, deps: EksDeps) => {
    const cl = await clusterOf(c, deps)
    return clusterArn(cl.region, cl.accountId, cl.name)
  }
  const associationArnOf = async (c: Context, deps: EksDeps) => {
    const cl = await clusterOf(c, deps)
    return associationArn(cl.region, cl.accountId, cl.name, c.req.param('associationId') ?? '')
  }
  const allClusters = async (_c: Context, deps: EksDeps) =>
    `arn:aws:eks:${deps.defaults.region}:${deps.defaults.accountId}:cluster/*`
  const q = (c: Context, name: string): string | undefined => c.req.query(name)
  const defined = <T extends Record<string, string | undefined>>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
      [K in keyof T]?: string
    }

  app.get(
    '/clusters',
    op('ListClusters', allClusters, (c, _b, deps) =>
      listClusters(deps, defined({ maxResults: q(c, 'maxResults'), nextToken: q(c, 'nextToken') })),
    ),
  )
  app.get(
    '/clusters/:name',
    op('DescribeCluster', clusterArnOf, (c, _b, deps) =>
      describeCluster(deps, c.req.param('name') ?? ''),
    ),
  )
  app.post(
    '/clusters/:name/pod-identity-associations',
    op('CreatePodIdentityAssociation', clusterArnOf, (c, body, deps) =>
      createAssociation(deps, c.req.param('name') ?? '', body),
    ),
  )
  app.get(
    '/clusters/:name/pod-identity-associations',
    op('ListPodIdentityAssociations', clusterArnOf, (c, _b, deps) =>
      listAssociations(
        deps,
        c.req.param('name') ?? '',
        defined({
          namespace: q(c, 'namespace'),
          serviceAccount: q(c, 'serviceAccount'),
          maxResults: q(c, 'maxResults'),
          nextToken: q(c, 'nextToken'),
        }),
      ),
    ),
  )
  app.get(
    '/clusters/:name/pod-identity-associations/:associationId',
    op('DescribePodIdentityAssociation', associationArnOf, (c, _b, deps) =>
      describeAssociation(deps, c.req.param('name') ?? '', c.req.param('associationId') ?? ''),
    ),
  )
  app.post(
    '/clusters/:name/pod-identity-associations/:associationId',
    op('UpdatePodIdentityAssociation', associationArnOf, (c, body, deps) =>
      updateAssociation(deps, c.req.param('name') ?? '', c.req.param('associationId') ?? '', body),
    ),
  )
  app.delete(
    '/clusters/:name/pod-identity-associations/:associationId',
    op('DeletePodIdentityAssociation', associationArnOf, (c, _b, deps) =>
      deleteAssociation(deps, c.req.param('name') ?? '', c.req.param('associationId') ?? ''),
    ),
  )
}

export function renderError(
  c: Context,
  requestId: string,
  err: unknown,
  http: { log?: (event: string, fields: Record<string, unknown>) => void },
  internalCode = 'ServerException',
): Response {
  if (isStoreUnavailable(err)) {
    http.log?.('eks.request.store_unavailable', { requestId })
    return errorResponse(c, requestId, {
      code: 'ServiceUnavailableException',
      status: 503,
      message: 'The service is temporarily unavailable. Try again.',
    })
  }
  const exposed = asExposable(err)
  if (exposed !== undefined && exposed.status < 500) {
    const extra: Record<string, string> = {}
    if (err instanceof EksError && err.clusterName !== undefined)
      extra['clusterName'] = err.clusterName
    return errorResponse(c, requestId, exposed, extra)
  }
  if (exposed !== undefined && exposed.status >= 500) {
    http.log?.('eks.request.failed', { requestId, code: exposed.code, error: exposed.message })
    return errorResponse(c, requestId, {
      code: exposed.code,
      status: exposed.status,
      message: exposed.message,
    })
  }
  http.log?.('eks.request.error', {
    requestId,
    error: err instanceof Error ? err.message : String(err),
  })
  return errorResponse(c, requestId, {
    code: internalCode,
    status: 500,
    message: 'An internal error occurred',
  })
}
