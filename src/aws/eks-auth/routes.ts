/**
 * @module aws/eks-auth/routes
 * `POST /clusters/{clusterName}/assume-role-for-pod-identity` (restJson1, SigV4 service `eks-auth`).
 */
import type { Context, Hono } from 'hono'
import { EksAuthError } from '../eks/errors.ts'
import { jsonResponse, newRequestId, parseJsonBody } from '../eks/rest.ts'
import { type EksHttpDeps, renderError, requestForAuth } from '../eks/routes.ts'
import { type PodIdentityDeps, assumeRoleForPodIdentity } from './assume.ts'
import { readEksBody } from '../eks/rest.ts'

export interface EksAuthHttpDeps {
  deps: () => PodIdentityDeps
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
      const caller = await http.authenticate(request)
      const parsed = parseJsonBody(text)
      if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) {
        throw new EksAuthError('InvalidRequestException', 'the request body is not a JSON object')
      }
      const out = await assumeRoleForPodIdentity(http.deps(), {
        clusterName: c.req.param('clusterName') ?? '',
        token: (parsed.value as { token?: unknown }).token,
        caller,
        sourceIp: request.sourceIp,
        userAgent: request.headers['user-agent'] ?? '',
        requestId,
      })
      return jsonResponse(c, requestId, out)
    } catch (err) {
      return renderError(c, requestId, err, http, 'InternalServerException')
    }
  })
}
