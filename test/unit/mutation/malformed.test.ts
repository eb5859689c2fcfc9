import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  defaultWebhookConfig,
  mutate,
  type MutationRequest,
  type Pod,
} from '../../../src/mutation/index.ts'
import { mutated, pod, request, ROLE, run } from './helpers.ts'

const LABEL = { 'azure.workload.identity/use': 'true' }

function both(p: unknown): { aws: ReturnType<typeof mutate>; azure: ReturnType<typeof mutate> } {
  return {
    aws: run({ pod: p as Pod }),
    azure: run({ endpoint: 'azure', pod: p as Pod, saAnnotations: {} }),
  }
}

void describe('malformed input never throws and gets a clear answer', () => {
  const typeErrors: [string, unknown, RegExp][] = [
    ['pod is a string', 'invalid', /pod is a string, not an object/],
    ['pod is a list', [], /pod is a list/],
    ['metadata is a string', { metadata: 'x', spec: {} }, /metadata is a string/],
    ['name is a number', { metadata: { name: 5 }, spec: {} }, /metadata\.name is not a string/],
    [
      'annotation value is a number',
      { metadata: { annotations: { 'eks.amazonaws.com/token-expiration': 3600 } }, spec: {} },
      /metadata\.annotations\["eks\.amazonaws\.com\/token-expiration"\] is not a string/,
    ],
    [
      'labels is a list',
      { metadata: { labels: ['a'] }, spec: {} },
      /metadata\.labels is a list, not a map of strings/,
    ],
    ['spec is a list', { spec: [] }, /spec is a list/],
    [
      'containers is an object',
      { spec: { containers: { name: 'a' } } },
      /spec\.containers is an object, not a list/,
    ],
    ['container is a string', { spec: { containers: ['a'] } }, /spec\.containers\[0\] is a string/],
    [
      'container name is a number',
      { spec: { containers: [{ name: 1 }] } },
      /spec\.containers\[0\]\.name is not a string/,
    ],
    [
      'env is an object',
      { spec: { containers: [{ name: 'a', env: { A: '1' } }] } },
      /spec\.containers\[0\]\.env is an object/,
    ],
    [
      'env entry is null',
      { spec: { containers: [{ name: 'a', env: [null] }] } },
      /spec\.containers\[0\]\.env\[0\] is null/,
    ],
    [
      'mountPath is a number',
      { spec: { initContainers: [{ name: 'a', volumeMounts: [{ name: 'v', mountPath: 1 }] }] } },
      /spec\.initContainers\[0\]\.volumeMounts\[0\]\.mountPath is not a string/,
    ],
    [
      'volumes is a string',
      { spec: { containers: [], volumes: 'x' } },
      /spec\.volumes is a string/,
    ],
    [
      'nodeSelector value is a bool',
      { spec: { nodeSelector: { 'kubernetes.io/os': true } } },
      /spec\.nodeSelector/,
    ],
    [
      'serviceAccountName is an object',
      { spec: { serviceAccountName: {} } },
      /spec\.serviceAccountName is not a string/,
    ],
  ]
  for (const [name, p, message] of typeErrors) {
    void it(`${name}: denied on both endpoints (the references' Go decoding rejects it)`, () => {
      const { aws, azure } = both(p)
      assert.equal(aws.kind, 'deny')
      assert.equal(azure.kind, 'deny')
      assert.match((aws as { message: string }).message, message)
      assert.match(
        (azure as { message: string }).message,
        /^couldn't get version\/kind; json parse error: /,
      )
    })
  }

  void it('missing spec or containers: allowed on /mutate, denied on /mutate-v1-pod', () => {
    const cases: [Pod, string][] = [
      [{ metadata: { name: 'p', labels: LABEL } }, 'pod has no spec'],
      [{ metadata: { name: 'p', labels: LABEL }, spec: {} }, 'pod has no spec.containers'],
      [
        { metadata: { name: 'p', labels: LABEL }, spec: { containers: null as unknown as [] } },
        'pod has no spec.containers',
      ],
    ]
    for (const [p, reason] of cases) {
      const { aws, azure } = both(p)
      assert.deepEqual(aws, { kind: 'allow', reason, warnings: [] })
      assert.deepEqual(azure, { kind: 'deny', message: reason, warnings: [] })
    }
    const nullPod = mutate({ ...request(), pod: null as unknown as Pod })
    assert.deepEqual(nullPod, {
      kind: 'deny',
      message: 'cannot decode pod: pod is null, not an object',
      warnings: [],
    })
  })

  void it('no metadata at all is fine (Pod Identity adds it with the label)', () => {
    const bare: Pod = { spec: { containers: [{ name: 'a' }] } }
    assert.equal(run({ pod: bare }).kind, 'patch')
    const p = mutated({ pod: bare, podIdentity: true })
    assert.deepEqual(p.metadata, { labels: { 'eks.amazonaws.com/pod-identity': 'enabled' } })
  })

  void it('a non-string ServiceAccount annotation is ignored with a warning', () => {
    const sa = {
      metadata: {
        name: 'sa',
        namespace: 'ns',
        annotations: {
          'eks.amazonaws.com/role-arn': ROLE,
          'eks.amazonaws.com/audience': 7 as unknown as string,
        },
      },
    }
    const r = run({ sa })
    assert.equal(r.kind, 'patch')
    assert.ok(r.warnings.some((w) => w.includes('"eks.amazonaws.com/audience" is not a string')))
  })

  void it('huge values stay bounded', () => {
    const huge = 'x'.repeat(300_000)
    const r = run({
      pod: pod(
        {},
        {
          annotations: {
            'eks.amazonaws.com/token-expiration': huge,
            'eks.amazonaws.com/skip-containers': huge,
            [`eks.amazonaws.com/${huge}`]: 'x',
          },
        },
      ),
    })
    assert.equal(r.kind, 'patch')
    assert.ok(r.warnings.length <= 16)
    for (const w of r.warnings) assert.ok(w.length <= 256, w.slice(0, 100))
    const azure = run({
      endpoint: 'azure',
      pod: pod(
        {},
        {
          labels: LABEL,
          annotations: { 'azure.workload.identity/service-account-token-expiration': huge },
        },
      ),
      saAnnotations: {},
    })
    assert.equal(azure.kind, 'deny')
    assert.ok((azure as { message: string }).message.length < 300)
    const many = run({
      pod: pod({ containers: Array.from({ length: 2000 }, (_, i) => ({ name: `c${i}` })) }),
    })
    assert.equal(many.kind, 'patch')
  })

  void it('an unknown endpoint or a throwing random source', () => {
    const bad = mutate({ ...request(), endpoint: 'nope' as 'aws' })
    assert.equal(bad.kind, 'allow')
    assert.match((bad as { reason: string }).reason, /unknown endpoint/)
    const throwing = mutate({
      ...request({ podIdentity: true }),
      random: () => {
        throw new Error('rng down')
      },
    })
    assert.deepEqual(throwing, {
      kind: 'allow',
      reason: 'internal mutation error: rng down',
      warnings: [],
    })
    assert.equal(mutate(undefined as unknown as MutationRequest).kind, 'allow')
  })

  void it('an internal error is fail-closed on Azure', () => {
    const cyclic: Record<string, unknown> = { name: 'a' }
    cyclic['self'] = cyclic
    const r = run({
      endpoint: 'azure',
      pod: pod({ containers: [cyclic as { name: string }] }, { labels: LABEL }),
      saAnnotations: {},
    })
    assert.equal(r.kind, 'deny')
    assert.match((r as { message: string }).message, /^internal mutation error/)
  })

  void it('property: arbitrary JSON pods and annotations never throw, on either endpoint', () => {
    const annotationKey = fc.oneof(
      fc.constantFrom(
        'eks.amazonaws.com/role-arn',
        'eks.amazonaws.com/skip-containers',
        'eks.amazonaws.com/token-expiration',
        'azure.workload.identity/skip-containers',
        'azure.workload.identity/service-account-token-expiration',
        'azure.workload.identity/use',
      ),
      fc.string(),
    )
    const stringMap = fc.dictionary(annotationKey, fc.string())
    const containerArb = fc.record(
      {
        name: fc.string(),
        env: fc.option(
          fc.array(
            fc.record({
              name: fc.constantFrom('AWS_ROLE_ARN', 'AWS_REGION', 'AZURE_CLIENT_ID', 'X'),
              value: fc.string(),
            }),
          ),
          { nil: undefined },
        ),
      },
      { requiredKeys: ['name'] },
    )
    const podArb = fc.oneof(
      fc.jsonValue(),
      fc.record({
        metadata: fc.option(
          fc.record(
            { name: fc.string(), labels: stringMap, annotations: stringMap },
            { requiredKeys: [] },
          ),
          { nil: undefined },
        ),
        spec: fc.option(
          fc.record(
            {
              serviceAccountName: fc.string(),
              containers: fc.array(containerArb, { maxLength: 4 }),
              initContainers: fc.array(containerArb, { maxLength: 2 }),
              volumes: fc.array(fc.record({ name: fc.string() }), { maxLength: 3 }),
              nodeSelector: stringMap,
            },
            { requiredKeys: [] },
          ),
          { nil: undefined },
        ),
      }),
    )
    fc.assert(
      fc.property(
        podArb,
        stringMap,
        fc.boolean(),
        fc.constantFrom<'aws' | 'azure'>('aws', 'azure'),
        (p, saAnnotations, podIdentity, endpoint) => {
          const result = mutate({
            endpoint,
            pod: p as Pod,
            namespace: 'ns',
            serviceAccount: {
              metadata: { name: 'sa', namespace: 'ns', annotations: saAnnotations },
            },
            podIdentity,
            config: defaultWebhookConfig(),
            random: () => 0.5,
          })
          assert.ok(['patch', 'allow', 'deny'].includes(result.kind))
          if (result.kind !== 'patch')
            assert.ok((result.kind === 'allow' ? result.reason : result.message).length > 0)
          assert.equal(
            JSON.stringify(result).includes('internal mutation error'),
            false,
            JSON.stringify(result),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})
