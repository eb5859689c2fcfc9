/**
 * The admission server over real HTTPS: every case of the reference's handler_http_cases.json (read in
 * place), both AdmissionReview versions, the Azure endpoint's controller-runtime answers, bounded bodies,
 * health, metrics, and that no request can take the process down.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import http from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createAdmissionHandler } from '../../../src/kube/admission-handler.ts'
import { createWebhookMetrics, type WebhookMetrics } from '../../../src/kube/metrics.ts'
import { noPodIdentities } from '../../../src/kube/pod-identity.ts'
import { startWebhookServer, type RunningWebhookServer } from '../../../src/kube/server.ts'
import { issueFromCa } from '../../../src/kube/tls.ts'
import { defaultWebhookConfig, mutate } from '../../../src/mutation/index.ts'
import type { MutationRequest } from '../../../src/mutation/types.ts'
import {
  decodeResponse,
  envOf,
  memoryServiceAccounts,
  pod,
  recordingLogger,
  review,
  serviceAccount,
} from './helpers.ts'

const casesFile = new URL(
  '../../../../shared/conformance/pod-identity-webhook/handler_http_cases.json',
  import.meta.url,
)
interface HttpCase {
  name: string
  contentType: string
  requestBody: string
  expectStatus: number
  expectBodyExact?: string
  expectResponse?: Record<string, unknown>
  setupOverride?: { serviceAccounts: unknown[] }
}
interface HttpCases {
  _setup: {
    serviceAccounts: { namespace: string; name: string; annotations: Record<string, string> }[]
  }
  cases: HttpCase[]
}
// The reference cases live in ../shared, which a stranger's clone does not have: their block then skips,
// and the tests below run against a ServiceAccount of their own (IRSA's documented annotations).
const casesMissing = existsSync(casesFile)
  ? false
  : `reference fixtures not found at ${fileURLToPath(casesFile)} (../shared is not beside this checkout)`
const cases: HttpCases =
  casesMissing === false
    ? (JSON.parse(readFileSync(casesFile, 'utf8')) as HttpCases)
    : {
        _setup: {
          serviceAccounts: [
            {
              namespace: 'default',
              name: 'default',
              annotations: {
                'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3-reader',
                'eks.amazonaws.com/token-expiration': '3600',
              },
            },
          ],
        },
        cases: [],
      }

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function request(
  port: number,
  ca: string,
  options: {
    method?: string
    path: string
    body?: string | Buffer
    contentType?: string
    agent?: https.Agent
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path,
        ca,
        ...(options.agent === undefined ? {} : { agent: options.agent }),
        headers: options.contentType === undefined ? {} : { 'content-type': options.contentType },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** README "compare patches semantically": drop null values and `"resources":{}` on both sides. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize)
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue
    if (k === 'resources' && typeof x === 'object' && Object.keys(x as object).length === 0)
      continue
    out[k] = normalize(x)
  }
  return out
}

void describe('admission server over HTTPS', () => {
  let dir: string
  let ca: string
  let server: RunningWebhookServer
  let metrics: WebhookMetrics
  const accounts = memoryServiceAccounts()
  const log = recordingLogger()
  let throwInMutate = false

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrust-webhook-http-'))
    const issued = await issueFromCa(dir, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    ca = issued.caPem
    metrics = createWebhookMetrics({ defaultMetrics: false })
    const config = defaultWebhookConfig()
    config.azure.tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
    const handle = createAdmissionHandler({
      config,
      mutate: (r: MutationRequest) => {
        if (throwInMutate) throw new Error('boom')
        return mutate(r)
      },
      serviceAccounts: accounts,
      podIdentity: noPodIdentities,
      // The reference harness: grace period 0, jitter 0.
      gracePeriodMs: 0,
      metrics,
      log,
      random: () => 0,
    })
    server = await startWebhookServer({
      port: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      tls: issued.material,
      tlsMinVersion: 'TLSv1.2',
      handle,
      metrics,
      log,
      maxBodyBytes: 64 * 1024,
    })
  })
  after(async () => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const setup = () =>
    accounts.cache.replace(
      cases._setup.serviceAccounts.map((s) => serviceAccount(s.namespace, s.name, s.annotations)),
    )

  void describe(
    'handler_http_cases.json (aws/amazon-eks-pod-identity-webhook, POST /mutate)',
    { skip: casesMissing }, // reason: the message says what is missing
    () => {
      for (const c of cases.cases) {
        void it(c.name, async () => {
          setup()
          if (c.setupOverride !== undefined) accounts.cache.replace([])
          const reply = await request(server.port, ca, {
            path: '/mutate',
            body: c.requestBody,
            contentType: c.contentType,
          })
          assert.equal(reply.status, c.expectStatus)
          if (c.expectResponse !== undefined) {
            assert.deepEqual(JSON.parse(reply.body), { response: c.expectResponse })
            return
          }
          const expected = c.expectBodyExact ?? ''
          if (c.name === 'InvalidJSON') {
            // The message is Go apimachinery's; podtrust matches its shape (and here its words too).
            const got = JSON.parse(reply.body) as { response: { status: { message: string } } }
            assert.match(
              got.response.status.message,
              /^couldn't get version\/kind; json parse error: /,
            )
          }
          const patchOf = (body: string) =>
            body.startsWith('{')
              ? (JSON.parse(body) as { response: { patch?: string } }).response.patch
              : undefined
          const expectedPatch = patchOf(expected)
          if (expectedPatch === undefined) {
            assert.equal(reply.body, expected)
            if (c.expectStatus === 415) {
              assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8')
              assert.equal(reply.headers['x-content-type-options'], 'nosniff')
            }
            return
          }
          // The envelope is byte-exact; the patch is compared as the fixture README says (Go emits
          // `"resources":{}` and struct-order fields, which are not part of the contract).
          const gotPatch = patchOf(reply.body) ?? ''
          assert.equal(
            reply.body.replace(gotPatch, 'PATCH'),
            expected.replace(expectedPatch, 'PATCH'),
          )
          const decode = (b64: string) =>
            normalize(JSON.parse(Buffer.from(b64, 'base64').toString()))
          assert.deepEqual(decode(gotPatch), decode(expectedPatch))
        })
      }
    },
  )

  void it('echoes v1 and v1beta1 (kind, apiVersion) and omits them when the request had none', async () => {
    setup()
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1', null]) {
      const reply = await request(server.port, ca, {
        path: '/mutate',
        body: review(pod('default', 'default'), {
          apiVersion,
          kind: apiVersion === null ? null : 'AdmissionReview',
        }),
        contentType: 'application/json',
      })
      const got = decodeResponse(reply.body)
      assert.equal(got.apiVersion, apiVersion ?? undefined)
      assert.equal(got.kind, apiVersion === null ? undefined : 'AdmissionReview')
      assert.equal(reply.body.startsWith(apiVersion === null ? '{"response"' : '{"kind"'), true)
      assert.equal(envOf(got.ops)['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/s3-reader')
      assert.equal(got.response.patchType, 'JSONPatch')
    }
  })

  void it('answers malformed reviews with allowed:false and a reason, never crashing', async () => {
    const bodies: [string, RegExp][] = [
      ['[1,2]', /cannot unmarshal array into Go value of type struct/],
      [
        '{"kind":"Pod","apiVersion":"v1","request":{}}',
        /no kind "Pod" is registered for version "v1"/,
      ],
      [
        '{"apiVersion":5}',
        /cannot unmarshal number into Go struct field \.apiVersion of type string/,
      ],
      ['{"request":"x"}', /cannot unmarshal string into Go struct field AdmissionReview\.request/],
      ['{"request":{"uid":"u"}}', /^unexpected end of JSON input$/],
      [
        '{"request":{"uid":"u","object":{"spec":{"containers":"app"}}}}',
        /cannot unmarshal string into Go struct field PodSpec\.spec\.containers of type \[\]v1\.Container/,
      ],
      [
        '{"request":{"uid":"u","object":{"spec":{"containers":[{"name":"a","env":[{"name":1}]}]}}}}',
        /EnvVar\.spec\.containers\.env\.name of type string/,
      ],
      [
        '{"request":{"uid":"u","object":{"metadata":{"labels":{"a":1}}}}}',
        /ObjectMeta\.metadata\.labels of type string/,
      ],
      [
        '{"request":{"uid":"u","object":{"spec":{"volumes":[7]}}}}',
        /PodSpec\.spec\.volumes of type v1\.Volume/,
      ],
      ['\u0000\u0001garbage', /json parse error/],
    ]
    const before = await metrics.registry.getSingleMetricAsString(
      'podtrust_webhook_malformed_requests_total',
    )
    for (const [body, message] of bodies) {
      const reply = await request(server.port, ca, {
        path: '/mutate',
        body,
        contentType: 'application/json',
      })
      assert.equal(reply.status, 200)
      const got = decodeResponse(reply.body)
      assert.equal(got.response.allowed, false, body)
      assert.match(got.response.status?.message ?? '', message, body)
    }
    const after = await metrics.registry.getSingleMetricAsString(
      'podtrust_webhook_malformed_requests_total',
    )
    assert.notEqual(before, after)
    assert.match(after, /endpoint="aws",reason="pod"} [4-9]/)
    // Null fields are Go's zero values, not errors.
    setup()
    const nulls = await request(server.port, ca, {
      path: '/mutate',
      contentType: 'application/json',
      body: JSON.stringify({
        request: {
          uid: 'n',
          namespace: 'default',
          object: {
            metadata: { name: 'p', labels: null },
            spec: {
              serviceAccountName: 'default',
              volumes: null,
              containers: [{ name: 'c', env: null }],
            },
          },
        },
      }),
    })
    const got = decodeResponse(nulls.body)
    assert.equal(got.response.allowed, true)
    assert.equal(got.ops[0]?.path, '/spec/volumes')
  })

  void it('follows controller-runtime on /mutate-v1-pod: 400 reviews, v1 default, Azure env', async () => {
    accounts.cache.replace([
      serviceAccount('payments', 'billing', {
        'azure.workload.identity/client-id': '6c4d3b1a-2f0e-4c9d-8b7a-5e6f7a8b9c0d',
      }),
    ])
    const wrongType = decodeResponse(
      (
        await request(server.port, ca, {
          path: '/mutate-v1-pod',
          body: '{}',
          contentType: 'text/plain',
        })
      ).body,
    )
    assert.deepEqual(wrongType.response, {
      uid: '',
      allowed: false,
      status: {
        metadata: {},
        message: 'contentType=text/plain, expected application/json',
        code: 400,
      },
    })
    assert.equal(wrongType.apiVersion, 'admission.k8s.io/v1')
    const empty = decodeResponse(
      (await request(server.port, ca, { path: '/mutate-v1-pod', contentType: 'application/json' }))
        .body,
    )
    assert.equal(empty.response.status?.message, 'request body is empty')
    assert.equal(empty.response.status?.code, 400)

    const labelled = pod('payments', 'billing', {
      metadata: { name: 'billing-0', labels: { 'azure.workload.identity/use': 'true' } },
    })
    const ok = await request(server.port, ca, {
      path: '/mutate-v1-pod',
      body: review(labelled, { apiVersion: 'admission.k8s.io/v1beta1', uid: 'az-1' }),
      contentType: 'application/json',
    })
    const got = decodeResponse(ok.body)
    assert.equal(got.apiVersion, 'admission.k8s.io/v1beta1')
    assert.equal(got.response.uid, 'az-1')
    assert.equal(got.response.allowed, true)
    assert.equal(
      got.response.status,
      undefined,
      'a patch response has no status, as PatchResponseFromRaw',
    )
    const patched = got.ops
    assert.ok(patched.length > 0)
    const noKind = decodeResponse(
      (
        await request(server.port, ca, {
          path: '/mutate-v1-pod',
          body: review(labelled, { apiVersion: null, kind: null }),
          contentType: 'application/json',
        })
      ).body,
    )
    assert.equal(noKind.kind, 'AdmissionReview')
    assert.equal(noKind.apiVersion, 'admission.k8s.io/v1')

    const missing = decodeResponse(
      (
        await request(server.port, ca, {
          path: '/mutate-v1-pod',
          body: review(
            pod('payments', 'nobody', {
              metadata: { labels: { 'azure.workload.identity/use': 'true' } },
            }),
            { uid: 'az-2' },
          ),
          contentType: 'application/json',
        })
      ).body,
    )
    assert.deepEqual(missing.response, {
      uid: 'az-2',
      allowed: false,
      status: { metadata: {}, message: 'serviceaccounts "nobody" not found', code: 400 },
    })
  })

  void it('returns the mutation warnings in the response', async () => {
    accounts.cache.replace([
      serviceAccount('default', 'default', {
        'eks.amazon.com/role-arn': 'arn:aws:iam::111122223333:role/x',
      }),
    ])
    const got = decodeResponse(
      (
        await request(server.port, ca, {
          path: '/mutate',
          body: review(pod('default', 'default')),
          contentType: 'application/json',
        })
      ).body,
    )
    assert.equal(got.response.allowed, true)
    assert.ok(
      (got.response.warnings ?? []).some((w) => w.includes('eks.amazon.com/role-arn')),
      JSON.stringify(got.response),
    )
  })

  void it('refuses bodies over the limit with 413 (a 413 review on Azure) and keeps serving', async () => {
    const big = Buffer.alloc(100 * 1024, 'a')
    const aws = await request(server.port, ca, {
      path: '/mutate',
      body: big,
      contentType: 'application/json',
    }).catch((e: unknown) => e as Error)
    if (!(aws instanceof Error)) {
      assert.equal(aws.status, 413)
      assert.equal(aws.body, 'request entity is too large; limit is 65536 bytes\n')
      assert.equal(aws.headers['connection'], 'close')
    }
    const azure = await request(server.port, ca, {
      path: '/mutate-v1-pod',
      body: big,
      contentType: 'application/json',
    }).catch((e: unknown) => e as Error)
    if (!(azure instanceof Error))
      assert.equal(decodeResponse(azure.body).response.status?.code, 413)
    assert.match(
      await metrics.registry.getSingleMetricAsString('podtrust_webhook_malformed_requests_total'),
      /endpoint="aws",reason="too_large"} 1/,
    )
    const health = await request(server.port, ca, { method: 'GET', path: '/healthz' })
    assert.deepEqual([health.status, health.body], [200, 'ok'])
  })

  void it('answers 500 when the mutation throws, so failurePolicy decides', async () => {
    setup()
    throwInMutate = true
    try {
      const reply = await request(server.port, ca, {
        path: '/mutate',
        body: review(pod('default', 'default')),
        contentType: 'application/json',
      })
      assert.deepEqual([reply.status, reply.body], [500, 'internal error\n'])
      assert.ok(
        log.lines.some((l) => l.event === 'admission.failed' && l.fields['error'] === 'boom'),
      )
    } finally {
      throwInMutate = false
    }
  })

  void it('serves /healthz, /readyz and 404 elsewhere; survives garbage on the TLS port', async () => {
    assert.deepEqual(
      (await request(server.port, ca, { method: 'GET', path: '/healthz' })).body,
      'ok',
    )
    assert.equal((await request(server.port, ca, { method: 'GET', path: '/readyz' })).status, 200)
    const nf = await request(server.port, ca, { method: 'GET', path: '/nope' })
    assert.deepEqual([nf.status, nf.body], [404, '404 page not found\n'])
    await new Promise<void>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.end('GET / HTTP/1.1\r\n\r\n\u0000\u0000'))
      s.on('close', () => resolve())
      s.on('error', () => resolve())
    })
    assert.equal((await request(server.port, ca, { method: 'GET', path: '/healthz' })).status, 200)
  })

  void it('reuses keep-alive connections for successive admissions', async () => {
    setup()
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<unknown>()
    agent.on('free', (s) => sockets.add(s))
    for (let i = 0; i < 5; i++) {
      const r = await request(server.port, ca, {
        path: '/mutate',
        body: review(pod('default', 'default')),
        contentType: 'application/json',
        agent,
      })
      assert.equal(r.status, 200)
    }
    agent.destroy()
    assert.equal(sockets.size, 1)
  })

  void it('exposes the metrics on the plain-HTTP listener, with the reference names', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.metricsPort, path: '/metrics' }, (res) => {
          let b = ''
          res.on('data', (c: Buffer) => (b += c.toString()))
          res.on('end', () => resolve(b))
        })
        .on('error', reject)
    })
    for (const name of [
      'podtrust_webhook_admissions_total{endpoint="aws",outcome="mutated"}',
      'podtrust_webhook_mutations_total{mode="irsa"}',
      'pod_identity_webhook_pod_count{method="sts_web_identity"}',
      'pod_identity_webhook_missing_sa_count',
      'podtrust_webhook_admission_duration_seconds_bucket',
      'podtrust_webhook_malformed_requests_total',
    ]) {
      assert.ok(text.includes(name), name)
    }
    assert.match(
      text,
      /podtrust_webhook_admissions_total\{endpoint="azure",outcome="denied"\} [1-9]/,
    )
  })

  void it('never logs a request body, env value or patch', () => {
    const text = log.text()
    assert.ok(!text.includes('AWS_ROLE_ARN'))
    assert.ok(!text.includes('arn:aws:iam::111122223333:role/s3-reader'))
    assert.ok(log.lines.some((l) => l.event === 'pod.mutated'))
  })
})
