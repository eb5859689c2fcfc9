/**
 * The reference ConfigMap source (`--watch-config-map`) against recorded kube-apiserver payloads: the
 * field-selected list and watch, a malformed `data.config` keeping the last good entries, deletion
 * clearing them, and the entries reaching the mutation (ConfigMap role for an unannotated ServiceAccount).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAdmissionHandler } from '../../../src/kube/admission-handler.ts'
import { parseIrsaConfig, startIrsaConfigMapSource } from '../../../src/kube/irsa-config-map.ts'
import { loadKubeConfig } from '../../../src/kube/kube-client.ts'
import { createWebhookMetrics } from '../../../src/kube/metrics.ts'
import { noPodIdentities } from '../../../src/kube/pod-identity.ts'
import { defaultWebhookConfig, mutate } from '../../../src/mutation/index.ts'
import {
  type ReplayApiServer,
  fixtureLines,
  isWatch,
  openWatch,
  sendFixture,
  startReplayApiServer,
} from '../../fixtures/kube/replay-server.ts'
import {
  decodeResponse,
  envOf,
  memoryServiceAccounts,
  pod,
  recordingLogger,
  review,
  serviceAccount,
  until,
} from './helpers.ts'

const CM_PATH = '/api/v1/namespaces/eks/configmaps'

void describe('data.config parsing', () => {
  void it('reads the reference keys, ignores unknown ones and refuses wrong types', () => {
    assert.deepEqual(
      parseIrsaConfig(
        '{"ns/sa":{"RoleARN":"arn:aws:iam::1:role/r","UseRegionalSTS":true,"TokenExpiration":3600,"Other":1},"*/x":{}}',
      ),
      {
        'ns/sa': { RoleARN: 'arn:aws:iam::1:role/r', UseRegionalSTS: true, TokenExpiration: 3600 },
        '*/x': {},
      },
    )
    for (const [text, pattern] of [
      ['{', /is not JSON/],
      ['[]', /must be an object keyed/],
      ['{"a/b":"x"}', /`a\/b` must be an object/],
      ['{"a/b":{"RoleARN":1}}', /RoleARN must be a string/],
      ['{"a/b":{"UseRegionalSTS":"true"}}', /UseRegionalSTS must be a boolean/],
      ['{"a/b":{"TokenExpiration":1.5}}', /TokenExpiration must be an integer/],
    ] as const) {
      assert.throws(() => parseIrsaConfig(text), pattern)
    }
  })
})

void describe('ConfigMap pod-identity-webhook from the Kubernetes API (recorded payloads)', () => {
  let api: ReplayApiServer
  before(async () => {
    api = await startReplayApiServer()
  })
  after(async () => api.close())

  void it('lists by field selector, follows MODIFIED (bad config kept out) and DELETED, and feeds the mutation', async () => {
    api.route('GET', CM_PATH, (req, res) => {
      if (!isWatch(req)) return sendFixture(res, 200, 'configmaps-list.json')
      openWatch(api, req, res)
    })
    const log = recordingLogger()
    const errors: unknown[] = []
    const source = await startIrsaConfigMapSource({
      kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfig }, {}),
      namespace: 'eks',
      resyncPeriodMs: 60_000,
      log,
      onError: (e) => errors.push(e),
      backoff: { initialMs: 20, maxMs: 100 },
    })
    try {
      await source.reflector.firstSync()
      assert.deepEqual(source.current(), {
        'apps/legacy': {
          RoleARN: 'arn:aws:iam::111122223333:role/legacy',
          Audience: 'sts.amazonaws.com',
          UseRegionalSTS: true,
          TokenExpiration: 3600,
        },
        '*/shared': { RoleARN: 'arn:aws:iam::111122223333:role/shared' },
      })
      const [list] = api.requests.filter((r) => r.path === CM_PATH && !isWatch(r))
      assert.deepEqual(list?.query, {
        fieldSelector: 'metadata.name=pod-identity-webhook',
        limit: '500',
      })
      const [watchReq] = await api.waitFor((r) => r.path === CM_PATH && isWatch(r))
      assert.equal(watchReq?.query['fieldSelector'], 'metadata.name=pod-identity-webhook')

      // The mutation reads the entries: an unannotated ServiceAccount gets the ConfigMap's role.
      const handle = createAdmissionHandler({
        config: defaultWebhookConfig(),
        mutate,
        serviceAccounts: memoryServiceAccounts([
          serviceAccount('apps', 'legacy'),
          serviceAccount('web', 'shared'),
        ]),
        podIdentity: noPodIdentities,
        irsaConfigMap: () => source.current(),
        gracePeriodMs: 0,
        metrics: createWebhookMetrics({ defaultMetrics: false }),
        log,
        random: () => 0,
      })
      const admit = async (ns: string, sa: string) =>
        decodeResponse((await handle('aws', 'application/json', review(pod(ns, sa)))).body)
      assert.equal(
        envOf((await admit('apps', 'legacy')).ops)['AWS_ROLE_ARN'],
        'arn:aws:iam::111122223333:role/legacy',
      )
      assert.equal(
        envOf((await admit('web', 'shared')).ops)['AWS_ROLE_ARN'],
        'arn:aws:iam::111122223333:role/shared',
      )

      const [bad, good, deleted] = fixtureLines('configmaps-watch.jsonl')
      const stream = api.watches.find((w) => !w.ended)
      assert.ok(stream)
      stream.push(bad ?? '')
      await until(() => errors.length === 1, 3000, 'the malformed config')
      assert.equal(
        source.current()?.['apps/legacy']?.RoleARN,
        'arn:aws:iam::111122223333:role/legacy',
        'last good kept',
      )
      assert.ok(log.lines.some((l) => l.event === 'configmap.invalid'))
      stream.push(good ?? '')
      await until(
        () =>
          source.current()?.['apps/legacy']?.RoleARN === 'arn:aws:iam::111122223333:role/legacy-v2',
        3000,
        'v2',
      )
      assert.equal(source.current()?.['*/shared'], undefined)
      stream.push(deleted ?? '')
      await until(() => source.current() === undefined, 3000, 'deletion')
      assert.equal((await admit('apps', 'legacy')).response.allowed, true)
      assert.deepEqual((await admit('apps', 'legacy')).ops, [])
    } finally {
      await source.close()
    }
  })
})
