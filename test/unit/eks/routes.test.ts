import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { Hono } from 'hono'
import { EksError } from '../../../src/aws/eks/errors.ts'
import { mountEksRoutes } from '../../../src/aws/eks/routes.ts'
import { mountEksAuthRoutes } from '../../../src/aws/eks-auth/routes.ts'
import type { PodIdentityDeps } from '../../../src/aws/eks-auth/assume.ts'
import { type TestStore, addCluster, openTestStore, roleArn } from './helpers.ts'

void describe('EKS / EKS Auth REST routes', () => {
  let store: TestStore
  let app: Hono
  let allow: boolean
  beforeEach(async () => {
    store = await openTestStore()
    await addCluster(store, 'c1')
    allow = true
    app = new Hono()
    const authenticate = async (req: { headers: Record<string, string> }) => {
      if (req.headers['authorization'] === undefined) {
        throw Object.assign(new EksError('UnrecognizedClientException', 'missing signature'), {})
      }
      return {
        caller: { arn: 'arn:aws:iam::111122223333:user/u', accountId: '111122223333' },
        region: 'us-east-1',
      }
    }
    mountEksAuthRoutes(app, {
      deps: () =>
        ({ getCluster: async () => undefined, region: 'us-east-1' }) as unknown as PodIdentityDeps,
      randomBytes: (n) => randomBytes(n),
      authenticate,
    })
    mountEksRoutes(app, {
      eks: () => store.deps,
      randomBytes: (n) => randomBytes(n),
      authenticate,
      authorize: async () => allow,
    })
  })
  afterEach(async () => store.close())

  const call = (method: string, path: string, body?: string, signed = true) =>
    app.request(path, {
      method,
      headers: signed
        ? { authorization: 'AWS4-HMAC-SHA256 test', 'content-type': 'application/json' }
        : {},
      ...(body === undefined ? {} : { body }),
    })

  void it('answers JSON with x-amzn-RequestId and epoch-second timestamps', async () => {
    const res = await call(
      'POST',
      '/clusters/c1/pod-identity-associations',
      JSON.stringify({ namespace: 'ns', serviceAccount: 'sa', roleArn: roleArn('app') }),
    )
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /application\/json/)
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/)
    const body = (await res.json()) as { association: { createdAt: unknown } }
    assert.equal(typeof body.association.createdAt, 'number')
  })

  void it('renders errors with the model status, x-amzn-ErrorType and {"message"}', async () => {
    const malformed = await call('POST', '/clusters/c1/pod-identity-associations', '{nope')
    assert.equal(malformed.status, 400)
    assert.equal(malformed.headers.get('x-amzn-errortype'), 'InvalidRequestException')
    assert.ok(((await malformed.json()) as { message: string }).message)
    const missing = await call('GET', '/clusters/nope')
    assert.equal(missing.status, 404)
    assert.equal(missing.headers.get('x-amzn-errortype'), 'ResourceNotFoundException')
    assert.deepEqual(await missing.json(), {
      message: 'No cluster found for name: nope.',
      clusterName: 'nope',
    })
    const unsigned = await call('GET', '/clusters', undefined, false)
    assert.equal(unsigned.status, 403)
    allow = false
    const denied = await call('GET', '/clusters')
    assert.equal(denied.status, 403)
    assert.equal(denied.headers.get('x-amzn-errortype'), 'AccessDeniedException')
    // Authorization before existence: an unauthorized caller cannot probe cluster names.
    assert.equal((await call('GET', '/clusters/nope')).status, 403)
    assert.equal(
      (await call('GET', '/clusters/c1/pod-identity-associations?maxResults=500')).status,
      403,
    )
    allow = true
    const badMax = await call('GET', '/clusters/c1/pod-identity-associations?maxResults=500')
    assert.equal(badMax.status, 400)
    assert.equal(badMax.headers.get('x-amzn-errortype'), 'InvalidParameterException')
  })

  void it('bodies over 64 KiB are refused with InvalidRequestException on EKS and EKS Auth', async () => {
    const big = JSON.stringify({ token: 'x'.repeat(70 * 1024) })
    for (const path of [
      '/clusters/c1/assume-role-for-pod-identity',
      '/clusters/c1/pod-identity-associations',
    ]) {
      const res = await call('POST', path, big)
      assert.equal(res.status, 400, path)
      assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidRequestException')
      assert.match(((await res.json()) as { message: string }).message, /exceeds 65536 bytes/)
    }
  })

  void it('EKS Auth: rejects malformed bodies and reports EKS Auth codes', async () => {
    const notJson = await call('POST', '/clusters/c1/assume-role-for-pod-identity', 'x')
    assert.equal(notJson.status, 400)
    assert.equal(notJson.headers.get('x-amzn-errortype'), 'InvalidRequestException')
    const noToken = await call('POST', '/clusters/c1/assume-role-for-pod-identity', '{}')
    assert.equal(noToken.headers.get('x-amzn-errortype'), 'InvalidParameterException')
    const notFound = await call(
      'POST',
      '/clusters/zz/assume-role-for-pod-identity',
      '{"token":"a.b.c"}',
    )
    assert.equal(notFound.status, 404)
    assert.equal(notFound.headers.get('x-amzn-errortype'), 'ResourceNotFoundException')
    // An unexpected failure is a generic 500 without internals.
    const broken = new Hono()
    mountEksAuthRoutes(broken, {
      deps: () =>
        ({
          getCluster: async () => {
            throw new Error('db exploded at /secret/path')
          },
        }) as unknown as PodIdentityDeps,
      randomBytes: (n) => randomBytes(n),
      authenticate: async () => ({
        caller: { arn: 'a', accountId: '111122223333' },
        region: 'us-east-1',
      }),
    })
    const res = await broken.request('/clusters/c1/assume-role-for-pod-identity', {
      method: 'POST',
      body: '{"token":"a.b.c"}',
    })
    assert.equal(res.status, 500)
    assert.equal(res.headers.get('x-amzn-errortype'), 'InternalServerException')
    assert.doesNotMatch(await res.text(), /secret/)
  })
})
