/**
 * The Kubernetes API ServiceAccount source against recorded kube-apiserver 1.30 payloads replayed over
 * HTTPS (test/fixtures/kube): paginated list, watch events, bookmarks, 410 Gone → relist, an expired
 * continue token, 403 on list, the direct GET (200 / 404) within the grace period, deduplicated, and the
 * reference's main pain point: a pod admitted right after its ServiceAccount was created is mutated.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { KubeConfig } from '@kubernetes/client-node'
import { createAdmissionHandler } from '../../../src/kube/admission-handler.ts'
import { loadKubeConfig } from '../../../src/kube/kube-client.ts'
import { createWebhookMetrics } from '../../../src/kube/metrics.ts'
import { noPodIdentities } from '../../../src/kube/pod-identity.ts'
import { relevantKeys } from '../../../src/kube/service-accounts.ts'
import { startApiServiceAccountSource } from '../../../src/kube/service-accounts-api.ts'
import { defaultWebhookConfig, mutate } from '../../../src/mutation/index.ts'
import {
  type ReplayApiServer,
  fixtureJson,
  fixtureLines,
  isWatch,
  openWatch,
  send,
  sendFixture,
  startReplayApiServer,
} from '../../fixtures/kube/replay-server.ts'
import { decodeResponse, envOf, pod, recordingLogger, review, until } from './helpers.ts'

const SA_PATH = '/api/v1/serviceaccounts'
const FRESH_PATH = '/api/v1/namespaces/apps/serviceaccounts/fresh'
const keep = relevantKeys('eks.amazonaws.com')
const fast = { initialMs: 20, maxMs: 100 }
const page1 = fixtureJson<{ metadata: { continue: string } }>('serviceaccounts-list-page1.json')

async function source(
  api: ReplayApiServer,
  extra: { pageSize?: number; log?: ReturnType<typeof recordingLogger> } = {},
) {
  const kubeConfig: KubeConfig = await loadKubeConfig({ kubeconfig: api.kubeconfig }, {})
  const log = extra.log ?? recordingLogger()
  const errors: unknown[] = []
  const s = await startApiServiceAccountSource({
    kubeConfig,
    keep,
    resyncPeriodMs: 60_000,
    log,
    backoff: fast,
    onError: (e) => errors.push(e),
    ...(extra.pageSize === undefined ? {} : { pageSize: extra.pageSize }),
  })
  return { s, log, errors }
}

void describe('ServiceAccounts from the Kubernetes API (recorded payloads)', () => {
  let api: ReplayApiServer
  before(async () => {
    api = await startReplayApiServer()
  })
  after(async () => api.close())

  void it('lists page by page with limit/continue and strips each ServiceAccount', async () => {
    api.requests.length = 0
    api.watches.length = 0
    api.route('GET', SA_PATH, (req, res) => {
      if (isWatch(req)) return void openWatch(api, req, res)
      if (req.query['continue'] === undefined)
        return sendFixture(res, 200, 'serviceaccounts-list-page1.json')
      if (req.query['continue'] === page1.metadata.continue)
        return sendFixture(res, 200, 'serviceaccounts-list-page2.json')
      send(res, 400, '{}')
    })
    const { s } = await source(api, { pageSize: 2 })
    try {
      await s.reflector.firstSync()
      assert.equal(s.size(), 4)
      assert.deepEqual(s.get('apps', 's3-reader'), {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: 's3-reader',
          namespace: 'apps',
          resourceVersion: '480112',
          // kubectl's last-applied-configuration and managedFields are not kept.
          annotations: {
            'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3-reader',
            'eks.amazonaws.com/token-expiration': '3600',
          },
        },
      })
      assert.deepEqual(s.get('payments', 'billing')?.metadata.labels, {
        'azure.workload.identity/use': 'true',
      })
      const lists = api.requests.filter((r) => r.path === SA_PATH && !isWatch(r))
      assert.deepEqual(
        lists.map((r) => r.query),
        [{ limit: '2' }, { limit: '2', continue: page1.metadata.continue }],
      )
      const [watch] = await api.waitFor((r) => r.path === SA_PATH && isWatch(r))
      assert.deepEqual(watch?.query, {
        watch: 'true',
        allowWatchBookmarks: 'true',
        resourceVersion: '482901',
        timeoutSeconds: '60',
      })
      assert.equal(watch?.authorization, `Bearer ${api.token}`)
    } finally {
      await s.close()
    }
  })

  void it('applies ADDED/MODIFIED/DELETED/BOOKMARK, relists after a 410 ERROR event, then watches on', async () => {
    api.requests.length = 0
    api.watches.length = 0
    let lists = 0
    api.route('GET', SA_PATH, (req, res) => {
      if (!isWatch(req)) {
        lists++
        return sendFixture(
          res,
          200,
          lists === 1 ? 'serviceaccounts-list.json' : 'serviceaccounts-relist.json',
        )
      }
      const rv = req.query['resourceVersion']
      if (rv === '482901')
        return void openWatch(api, req, res, fixtureLines('serviceaccounts-watch.jsonl'))
      if (rv === '483100')
        return openWatch(api, req, res, fixtureLines('serviceaccounts-watch-expired.jsonl')).end()
      openWatch(api, req, res)
    })
    const { s, log } = await source(api)
    try {
      await until(() => s.reflector.resourceVersion === '483100', 5000, 'the bookmark')
      assert.equal(
        s.get('apps', 'batch')?.metadata.annotations?.['eks.amazonaws.com/role-arn'],
        'arn:aws:iam::111122223333:role/batch',
      )
      assert.equal(
        s.get('apps', 's3-reader')?.metadata.annotations?.['eks.amazonaws.com/role-arn'],
        'arn:aws:iam::111122223333:role/s3-reader-v2',
      )
      assert.equal(s.get('apps', 's3-reader')?.metadata.resourceVersion, '482977')
      assert.equal(s.get('payments', 'billing'), undefined)
      assert.equal(s.size(), 4)
      // The apiserver ends the watch (timeoutSeconds): the client resumes from the bookmark's version,
      // is told 410 Gone, relists and watches from the new list's version.
      api.watches.find((w) => w.req.query['resourceVersion'] === '482901')?.end()
      await api.waitFor((r) => isWatch(r) && r.query['resourceVersion'] === '483950')
      assert.equal(lists, 2)
      assert.equal(
        s.get('apps', 'batch'),
        undefined,
        'deleted during the gap: gone after the relist',
      )
      assert.equal(s.get('apps', 'late')?.metadata.resourceVersion, '483890')
      assert.ok(log.lines.some((l) => l.event === 'kube.watch_expired'))
      assert.equal(
        api.requests
          .filter((r) => isWatch(r))
          .map((r) => r.query['resourceVersion'])
          .join(','),
        '482901,483100,483950',
      )
    } finally {
      await s.close()
    }
  })

  void it('relists when the watch request itself is answered 410 Gone', async () => {
    api.requests.length = 0
    api.watches.length = 0
    let lists = 0
    api.route('GET', SA_PATH, (req, res) => {
      if (!isWatch(req)) {
        lists++
        return sendFixture(
          res,
          200,
          lists === 1 ? 'serviceaccounts-list.json' : 'serviceaccounts-relist.json',
        )
      }
      if (req.query['resourceVersion'] === '482901') {
        return send(
          res,
          410,
          '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 482901 (483912)","reason":"Expired","code":410}\n',
        )
      }
      openWatch(api, req, res)
    })
    const { s } = await source(api)
    try {
      await api.waitFor((r) => isWatch(r) && r.query['resourceVersion'] === '483950')
      assert.equal(lists, 2)
      assert.equal(s.get('apps', 'late')?.metadata.resourceVersion, '483890')
    } finally {
      await s.close()
    }
  })

  void it('restarts a list whose continue token expired (410 Status)', async () => {
    api.requests.length = 0
    api.watches.length = 0
    let continues = 0
    api.route('GET', SA_PATH, (req, res) => {
      if (isWatch(req)) return void openWatch(api, req, res)
      if (req.query['continue'] === undefined)
        return sendFixture(res, 200, 'serviceaccounts-list-page1.json')
      continues++
      if (continues === 1) return sendFixture(res, 410, 'status-continue-expired.json')
      sendFixture(res, 200, 'serviceaccounts-list-page2.json')
    })
    const { s } = await source(api, { pageSize: 2 })
    try {
      await s.reflector.firstSync()
      assert.equal(s.size(), 4)
      const lists = api.requests
        .filter((r) => !isWatch(r))
        .map((r) => (r.query['continue'] === undefined ? 'first' : 'next'))
      assert.deepEqual(lists, ['first', 'next', 'first', 'next'])
    } finally {
      await s.close()
    }
  })

  void it('keeps retrying a forbidden list (RBAC) with backoff, and syncs once it is allowed', async () => {
    api.requests.length = 0
    api.watches.length = 0
    let allowed = false
    api.route('GET', SA_PATH, (req, res) => {
      if (isWatch(req)) return void openWatch(api, req, res)
      if (!allowed) return sendFixture(res, 403, 'status-forbidden-list.json')
      sendFixture(res, 200, 'serviceaccounts-list.json')
    })
    const { s, log, errors } = await source(api)
    try {
      await api.waitFor((r) => !isWatch(r), 3)
      assert.equal(s.synced(), false)
      assert.ok(errors.length >= 2)
      const failed = log.lines.find((l) => l.event === 'kube.list_failed')
      assert.equal(failed?.fields['status'], 403)
      allowed = true
      await s.reflector.firstSync()
      assert.equal(s.size(), 4)
      assert.ok(!log.text().includes(api.token), 'the bearer token is never logged')
    } finally {
      await s.close()
    }
  })

  void describe('a pod admitted right after its ServiceAccount was created', () => {
    const config = defaultWebhookConfig()
    function handler(s: Awaited<ReturnType<typeof source>>['s'], gracePeriodMs: number) {
      const metrics = createWebhookMetrics({ defaultMetrics: false })
      const handle = createAdmissionHandler({
        config,
        mutate,
        serviceAccounts: s,
        podIdentity: noPodIdentities,
        gracePeriodMs,
        metrics,
        log: recordingLogger(),
        random: () => 0,
      })
      return { handle, metrics }
    }
    const admit = async (h: ReturnType<typeof handler>, uid = 'u-1') => {
      const answer = await h.handle(
        'aws',
        'application/json',
        review(pod('apps', 'fresh'), { uid }),
      )
      return decodeResponse(answer.body)
    }

    void it('misses the cache, GETs the ServiceAccount (200) and mutates the pod', async () => {
      api.requests.length = 0
      api.watches.length = 0
      api.route('GET', SA_PATH, (req, res) =>
        isWatch(req)
          ? void openWatch(api, req, res)
          : sendFixture(res, 200, 'serviceaccounts-list.json'),
      )
      api.route('GET', FRESH_PATH, (_req, res) => {
        // The apiserver takes a moment: concurrent admissions share the one GET.
        setTimeout(() => sendFixture(res, 200, 'serviceaccount-get-fresh.json'), 150)
      })
      const { s } = await source(api)
      try {
        await s.reflector.firstSync()
        assert.equal(s.get('apps', 'fresh'), undefined)
        const h = handler(s, 2000)
        const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => admit(h, `u-${i}`)))
        for (const [i, a] of answers.entries()) {
          assert.equal(a.response.uid, `u-${i + 1}`)
          assert.equal(a.response.allowed, true)
          assert.equal(envOf(a.ops)['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/fresh')
        }
        const gets = api.requests.filter((r) => r.path === FRESH_PATH)
        assert.equal(gets.length, 1, 'one GET for five pods of the same ServiceAccount')
        assert.deepEqual(gets[0]?.query, {})
        assert.equal(
          s.get('apps', 'fresh')?.metadata.resourceVersion,
          '483977',
          'the GET result is cached',
        )
        const metrics = await h.metrics.registry.getSingleMetricAsString(
          'podtrust_webhook_service_account_cache_misses_total',
        )
        assert.match(metrics, /found="true"} 5/)
      } finally {
        await s.close()
      }
    })

    void it('takes it from the watch when the GET said 404 moments before', async () => {
      api.requests.length = 0
      api.watches.length = 0
      api.route('GET', SA_PATH, (req, res) =>
        isWatch(req)
          ? void openWatch(api, req, res)
          : sendFixture(res, 200, 'serviceaccounts-list.json'),
      )
      api.route('GET', FRESH_PATH, (_req, res) =>
        sendFixture(res, 404, 'serviceaccount-get-notfound.json'),
      )
      const { s } = await source(api)
      try {
        await s.reflector.firstSync()
        const watch = (await api.waitFor((r) => isWatch(r))).at(0)
        assert.ok(watch)
        const h = handler(s, 2000)
        const pending = admit(h)
        await api.waitFor((r) => r.path === FRESH_PATH)
        await new Promise((r) => setTimeout(r, 100))
        const stream = api.watches.find((w) => !w.ended)
        stream?.push({ type: 'ADDED', object: fixtureJson('serviceaccount-get-fresh.json') })
        const a = await pending
        assert.equal(envOf(a.ops)['AWS_ROLE_ARN'], 'arn:aws:iam::111122223333:role/fresh')
      } finally {
        await s.close()
      }
    })

    void it('admits unmutated when the ServiceAccount stays unknown (fail-open), counting the miss', async () => {
      api.requests.length = 0
      api.watches.length = 0
      api.route('GET', SA_PATH, (req, res) =>
        isWatch(req)
          ? void openWatch(api, req, res)
          : sendFixture(res, 200, 'serviceaccounts-list.json'),
      )
      api.route('GET', FRESH_PATH, (_req, res) =>
        sendFixture(res, 404, 'serviceaccount-get-notfound.json'),
      )
      const { s } = await source(api)
      try {
        await s.reflector.firstSync()
        const h = handler(s, 300)
        const started = performance.now()
        const a = await admit(h)
        assert.ok(performance.now() - started < 1500)
        assert.deepEqual(a.response, { uid: 'u-1', allowed: true })
        assert.match(
          await h.metrics.registry.getSingleMetricAsString('pod_identity_webhook_missing_sa_count'),
          / 1$/m,
        )
      } finally {
        await s.close()
      }
    })

    void it('with a grace period of 0 does not call the API at all (the reference default)', async () => {
      api.requests.length = 0
      api.watches.length = 0
      api.route('GET', SA_PATH, (req, res) =>
        isWatch(req)
          ? void openWatch(api, req, res)
          : sendFixture(res, 200, 'serviceaccounts-list.json'),
      )
      api.route('GET', FRESH_PATH, (_req, res) =>
        sendFixture(res, 200, 'serviceaccount-get-fresh.json'),
      )
      const { s } = await source(api)
      try {
        await s.reflector.firstSync()
        const a = await admit(handler(s, 0))
        assert.deepEqual(a.response, { uid: 'u-1', allowed: true })
        assert.equal(api.requests.filter((r) => r.path === FRESH_PATH).length, 0)
      } finally {
        await s.close()
      }
    })
  })
})
