/**
 * @module aws/eks-auth/routes
 * `POST /clusters/{clusterName}/assume-role-for-pod-identity` (restJson1, SigV4 service `eks-auth`).
 */
import type { Context, Hono } from 'hono'
import type { RequestFacts } from '../../identity/context.ts'
import { EksAuthError } from '../eks/errors.ts'
import { jsonResponse, newRequestId, parseJsonBody } from '../eks/rest.ts'
import { type EksHttpDeps, renderError, requestForAuth } from '../eks/routes.ts'
import { requestFacts } from '../request-facts.ts'
import { type PodIdentityDeps, assumeRoleForPodIdentity } from './assume.ts'
import { readEksBody } from '../eks/rest.ts'

export interface EksAuthHttpDeps {
  /** EKS Auth's dependencies for one request (its facts feed the caller's authorization context). */
  deps: (request: RequestFacts) => PodIdentityDeps
  randomBytes: (size: number) => Uint8Array
  authenticate: EksHttpDeps['authenticate']
  log?: EksHttpDeps['log']
}

export function mountEksAuthRoutes(app: Hono, http: EksAuthHttpDeps): void {
  app.post('/clusters/:clusterName/assume-role-for-pod-identity', async (c: Context) => {
    const requestId = newRequestId(http.randomBytes)
    try {
      const text = await readEksBody(c)
      const request = requestForAuth(c, text)
      const { caller, region } = await http.authenticate(request)
      const parsed = parseJsonBody(text)
      if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) {
        throw new EksAuthError('InvalidRequestException', 'the request body is not a JSON object')
      }
      const facts = requestFacts(c, region)
      const out = await assumeRoleForPodIdentity(http.deps(facts), {
        clusterName: c.req.param('clusterName') ?? '',
        token: (parsed.value as { token?: unknown }).token,
        caller,
        sourceIp: facts.sourceIp,
        userAgent: facts.userAgent,
        requestId,
      })
      return jsonResponse(c, requestId, out)
    } catch (err) {
      return renderError(c, requestId, err, http, 'InternalServerException')
    }
  })
}
