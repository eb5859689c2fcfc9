import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  azureAuthorityHost,
  azureVolumeName,
  type Pod,
  type Volume,
} from '../../../src/mutation/index.ts'
import {
  assertIdempotent,
  container,
  env,
  envNames,
  mutated,
  patchOf,
  pod,
  run,
  serviceAccount,
  type RequestOptions,
} from './helpers.ts'

const LABEL = { 'azure.workload.identity/use': 'true' }
const SA = {
  'azure.workload.identity/client-id': 'cid',
  'azure.workload.identity/tenant-id': 'tid',
}
const TOKEN_FILE = '/var/run/secrets/azure/wi/token/azure-identity-token'

function azure(
  options: RequestOptions & { metadata?: Pod['metadata']; spec?: Parameters<typeof pod>[0] } = {},
): RequestOptions {
  return {
    endpoint: 'azure',
    pod: options.pod ?? pod(options.spec ?? {}, { labels: LABEL, ...options.metadata }),
    saAnnotations: options.saAnnotations ?? SA,
    ...('sa' in options ? { sa: options.sa } : {}),
    config: (c) => {
      c.azure.tenantId = 'webhook-tenant'
      options.config?.(c)
    },
  }
}

function volume(p: Pod, name: string): Volume {
  const v = p.spec?.volumes?.find((x) => x.name === name)
  assert.ok(v !== undefined, `no volume ${name} in ${JSON.stringify(p.spec?.volumes)}`)
  return v
}

const NAME = azureVolumeName('app')

void describe('Azure admission (webhooks.md D.3)', () => {
  void it('label-gated: no label or a label other than "true" → allowed unmutated', () => {
    for (const labels of [
      undefined,
      { 'azure.workload.identity/use': 'True' },
      { 'azure.workload.identity/use': 'false' },
    ]) {
      const r = run({ ...azure(), pod: pod({}, labels === undefined ? {} : { labels }) })
      assert.equal(r.kind, 'allow', JSON.stringify(labels))
      assert.match((r as { reason: string }).reason, /azure\.workload\.identity\/use/)
    }
  })

  void it('missing ServiceAccount → deny with the reference message', () => {
    const r = run(azure({ sa: undefined }))
    assert.deepEqual(r, { kind: 'deny', message: 'serviceaccounts "sa" not found', warnings: [] })
    const noName = run({
      ...azure({ sa: undefined }),
      pod: pod({ serviceAccountName: '' }, { labels: LABEL }),
    })
    assert.equal((noName as { message: string }).message, 'serviceaccounts "default" not found')
  })

  void it('env: order, values, and only absent non-empty ones', () => {
    const p = mutated(azure())
    assert.deepEqual(container(p).env, [
      { name: 'AZURE_CLIENT_ID', value: 'cid' },
      { name: 'AZURE_TENANT_ID', value: 'tid' },
      { name: 'AZURE_FEDERATED_TOKEN_FILE', value: TOKEN_FILE },
      { name: 'AZURE_AUTHORITY_HOST', value: 'https://login.microsoftonline.com/' },
    ])
    const kept = mutated(
      azure({
        spec: { containers: [{ name: 'app', env: [{ name: 'AZURE_CLIENT_ID', value: 'mine' }] }] },
      }),
    )
    assert.equal(env(container(kept), 'AZURE_CLIENT_ID'), 'mine')
    assert.deepEqual(envNames(container(kept)), [
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_FEDERATED_TOKEN_FILE',
      'AZURE_AUTHORITY_HOST',
    ])
  })

  void it('client-id absent: the pod is still mutated (reference), with a warning', () => {
    const r = run(azure({ saAnnotations: {} }))
    assert.equal(r.kind, 'patch')
    assert.ok(r.warnings.some((w) => w.includes('AZURE_CLIENT_ID is not set')))
    const p = mutated(azure({ saAnnotations: {} }))
    assert.deepEqual(envNames(container(p)), [
      'AZURE_TENANT_ID',
      'AZURE_FEDERATED_TOKEN_FILE',
      'AZURE_AUTHORITY_HOST',
    ])
    assert.equal(env(container(p), 'AZURE_TENANT_ID'), 'webhook-tenant')
  })

  void it('tenant-id: the annotation by presence (even empty), else the webhook tenant', () => {
    const empty = mutated(azure({ saAnnotations: { 'azure.workload.identity/tenant-id': '' } }))
    assert.equal(env(container(empty), 'AZURE_TENANT_ID'), undefined)
    const fallback = mutated(azure({ saAnnotations: { 'azure.workload.identity/client-id': 'c' } }))
    assert.equal(env(container(fallback), 'AZURE_TENANT_ID'), 'webhook-tenant')
  })

  void it('expiration: pod over SA, empty = absent, default 3600, range 3600–86400 else deny', () => {
    const key = 'azure.workload.identity/service-account-token-expiration'
    const cases: { pod?: string; sa?: string; want?: number; deny?: string }[] = [
      { want: 3600 },
      { sa: '7200', want: 7200 },
      { pod: '4000', sa: '7200', want: 4000 },
      { pod: '', sa: '7200', want: 7200 },
      { pod: '86400', want: 86400 },
      {
        pod: '3599',
        deny: 'token expiration 3599 not valid. Expected value to be between 3600 and 86400',
      },
      {
        sa: '86401',
        deny: 'token expiration 86401 not valid. Expected value to be between 3600 and 86400',
      },
      { pod: '1h', deny: 'strconv.ParseInt: parsing "1h": invalid syntax' },
      {
        pod: '99999999999999999999',
        deny: 'strconv.ParseInt: parsing "99999999999999999999": value out of range',
      },
      {
        pod: '-1',
        deny: 'token expiration -1 not valid. Expected value to be between 3600 and 86400',
      },
    ]
    for (const c of cases) {
      const options = azure({
        metadata: c.pod === undefined ? {} : { annotations: { [key]: c.pod } },
        saAnnotations: { ...SA, ...(c.sa === undefined ? {} : { [key]: c.sa }) },
      })
      const r = run(options)
      if (c.deny !== undefined) {
        assert.equal(r.kind, 'deny', JSON.stringify(c))
        assert.equal((r as { message: string }).message, c.deny)
        continue
      }
      const src = (
        volume(mutated(options), NAME)['projected'] as {
          sources: { serviceAccountToken: { expirationSeconds: number } }[]
        }
      ).sources[0]
      assert.equal(src?.serviceAccountToken.expirationSeconds, c.want, JSON.stringify(c))
    }
  })

  void it('skip-containers: semicolons, trimmed, init containers too; unknown names warned', () => {
    const options = azure({
      metadata: { annotations: { 'azure.workload.identity/skip-containers': ' a ; b;nope;' } },
      spec: {
        initContainers: [{ name: 'a' }],
        containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      },
    })
    const p = mutated(options)
    assert.deepEqual(container(p, 0, true), { name: 'a' })
    assert.deepEqual(container(p, 0), { name: 'a' })
    assert.deepEqual(container(p, 1), { name: 'b' })
    assert.ok(envNames(container(p, 2)).includes('AZURE_FEDERATED_TOKEN_FILE'))
    const warnings = run(options).warnings
    assert.ok(
      warnings.some((w) => w.includes('"nope"')),
      warnings.join('|'),
    )
    assert.equal(warnings.filter((w) => w.includes('matches no container')).length, 1)
  })

  void it('mount and volume (v1.6): values, same-named mount replaced in place, same-named volume replaced', () => {
    const p = mutated(azure())
    assert.deepEqual(container(p).volumeMounts, [
      { name: NAME, mountPath: '/var/run/secrets/azure/wi', readOnly: true },
    ])
    assert.deepEqual(volume(p, NAME), {
      name: NAME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              path: 'token/azure-identity-token',
              expirationSeconds: 3600,
              audience: 'api://AzureADTokenExchange',
            },
          },
        ],
      },
    })
    const stale = mutated(
      azure({
        spec: {
          containers: [
            {
              name: 'app',
              volumeMounts: [
                { name: 'x', mountPath: '/x' },
                { name: NAME, mountPath: '/old' },
              ],
            },
          ],
          volumes: [{ name: 'v' }, { name: NAME, emptyDir: {} }],
        },
      }),
    )
    assert.deepEqual(container(stale).volumeMounts, [
      { name: 'x', mountPath: '/x' },
      { name: NAME, mountPath: '/var/run/secrets/azure/wi', readOnly: true },
    ])
    assert.deepEqual(
      stale.spec?.volumes?.map((v) => v.name),
      ['v', NAME],
    )
    assert.ok('projected' in volume(stale, NAME) && !('emptyDir' in volume(stale, NAME)))
  })

  void it('volume name from metadata.name, or generateName + " (prefix)"', () => {
    assert.equal(
      azureVolumeName('pod'),
      'azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6',
    )
    const generated = mutated(
      azure({
        pod: {
          metadata: { generateName: 'myapp-7c9d8b6f5-', labels: LABEL },
          spec: { serviceAccountName: 'sa', containers: [{ name: 'c' }] },
        },
      }),
    )
    assert.equal(
      generated.spec?.volumes?.[0]?.name,
      'azure-workload-identity-reserved-b50c818aee54beccd0c5af07517c68',
    )
    assert.equal(azureVolumeName('x'.repeat(10_000)).length, 63)
  })

  void it('re-invoked after another webhook named the pod: the injected volume is reused (no duplicate mountPath)', () => {
    const first = mutated(
      azure({
        pod: {
          metadata: { generateName: 'web-', labels: LABEL },
          spec: { serviceAccountName: 'sa', containers: [{ name: 'c' }] },
        },
      }),
    )
    first.metadata = { ...first.metadata, name: 'web-abcde' }
    const again = mutated({ ...azure(), pod: first })
    assert.equal(again.spec?.volumes?.length, 1)
    assert.equal(container(again).volumeMounts?.length, 1)
    assert.deepEqual(again, first)
  })

  void it('the v1.5 layout: name, paths, and the reference skip-if-present rules', () => {
    const v15 = (spec: Parameters<typeof pod>[0] = {}): Pod =>
      mutated(azure({ spec, config: (c) => (c.azure.tokenLayout = 'v1.5') }))
    const p = v15()
    assert.equal(
      env(container(p), 'AZURE_FEDERATED_TOKEN_FILE'),
      '/var/run/secrets/azure/tokens/azure-identity-token',
    )
    assert.deepEqual(container(p).volumeMounts, [
      { name: 'azure-identity-token', readOnly: true, mountPath: '/var/run/secrets/azure/tokens' },
    ])
    assert.deepEqual(volume(p, 'azure-identity-token')['projected'], {
      sources: [
        {
          serviceAccountToken: {
            path: 'azure-identity-token',
            expirationSeconds: 3600,
            audience: 'api://AzureADTokenExchange',
          },
        },
      ],
    })
    const existing = {
      name: 'own',
      projected: {
        sources: [{ serviceAccountToken: { path: 'azure-identity-token', audience: 'x' } }],
      },
    }
    assert.deepEqual(v15({ volumes: [existing] }).spec?.volumes, [existing])
    const mine = { name: 'azure-identity-token', mountPath: '/mine' }
    assert.deepEqual(
      container(v15({ containers: [{ name: 'app', volumeMounts: [mine] }] })).volumeMounts,
      [mine],
    )
  })

  void it('the patch is a diff: fine-grained, never a remove, empty on re-admission', () => {
    const r = run(
      azure({
        spec: {
          containers: [{ name: 'app', env: [{ name: 'X', value: '1' }] }],
          volumes: [{ name: 'v' }],
        },
      }),
    )
    const patch = patchOf(r)
    assert.deepEqual(
      patch.map((o) => `${o.op} ${o.path}`),
      [
        'add /spec/containers/0/env/1',
        'add /spec/containers/0/env/2',
        'add /spec/containers/0/env/3',
        'add /spec/containers/0/env/4',
        'add /spec/containers/0/volumeMounts',
        'add /spec/volumes/1',
      ],
    )
    const once = assertIdempotent(azure())
    assert.deepEqual(patchOf(run({ ...azure(), pod: once })), [])
  })

  void it('the proxy sidecar is not injected; the annotation gets a warning', () => {
    const options = azure({
      metadata: { annotations: { 'azure.workload.identity/inject-proxy-sidecar': 'false' } },
      spec: { hostNetwork: true },
    })
    const r = run(options)
    assert.equal(r.kind, 'patch')
    assert.ok(
      r.warnings.some((w) => w.includes('inject-proxy-sidecar') && w.includes('not supported')),
    )
    assert.deepEqual(
      mutated(options).spec?.containers?.map((c) => c.name),
      ['app'],
    )
  })

  void it('audience and authority host from the config', () => {
    const p = mutated(
      azure({
        config: (c) => {
          c.azure.audience = 'api://custom'
          c.azure.authorityHost = azureAuthorityHost('AzureUSGovernmentCloud')
        },
      }),
    )
    assert.equal(env(container(p), 'AZURE_AUTHORITY_HOST'), 'https://login.microsoftonline.us/')
    assert.match(JSON.stringify(volume(p, NAME)), /api:\/\/custom/)
    const empty = mutated(
      azure({
        config: (c) => {
          c.azure.authorityHost = ''
          c.azure.audience = ''
        },
      }),
    )
    assert.equal(env(container(empty), 'AZURE_AUTHORITY_HOST'), undefined)
    assert.match(JSON.stringify(volume(empty, NAME)), /api:\/\/AzureADTokenExchange/)
  })

  void it('typos in azure.workload.identity/* keys are warned; use-<suffix> is left alone', () => {
    const r = run(
      azure({
        metadata: {
          annotations: {
            'azure.workload.identity/skip-container': 'a',
            'azure.workload.identity/use-proxy': 'true',
            'azure.workload.identity/client-id': 'x',
          },
        },
        saAnnotations: {
          ...SA,
          'azure.workload.identity/clientid': 'c',
          'azure.workload.identity/skip-containers': 'a',
        },
      }),
    )
    const text = r.warnings.join(' | ')
    assert.match(text, /did you mean "azure\.workload\.identity\/skip-containers"/)
    assert.match(text, /did you mean "azure\.workload\.identity\/client-id"/)
    assert.match(
      text,
      /"azure\.workload\.identity\/client-id" is read on the ServiceAccount, not on the pod/,
    )
    assert.match(
      text,
      /"azure\.workload\.identity\/skip-containers" is read on the pod, not on the ServiceAccount/,
    )
    assert.doesNotMatch(text, /use-proxy/)
  })

  void it('azureAuthorityHost: table, case-insensitive, aliases, TypeError on unknown', () => {
    assert.equal(azureAuthorityHost(''), 'https://login.microsoftonline.com/')
    assert.equal(azureAuthorityHost('AZURECHINACLOUD'), 'https://login.chinacloudapi.cn/')
    assert.equal(azureAuthorityHost('AzureCloud'), 'https://login.microsoftonline.com/')
    assert.equal(azureAuthorityHost('AzureUSGovernment'), 'https://login.microsoftonline.us/')
    assert.equal(azureAuthorityHost('azuregermancloud'), 'https://login.microsoftonline.de/')
    assert.throws(
      () => azureAuthorityHost('Mars'),
      (e: unknown) => e instanceof TypeError && /unknown Azure environment 'Mars'/.test(e.message),
    )
  })

  void it('SA fixture sanity', () =>
    assert.equal(
      serviceAccount(SA).metadata.annotations?.['azure.workload.identity/client-id'],
      'cid',
    ))

  void it('/mutate warns when a pod wants Azure but lacks the label', () => {
    const annotated = run({
      pod: pod({}, { annotations: { 'azure.workload.identity/use': 'true' } }),
      saAnnotations: {},
    })
    assert.ok(
      annotated.warnings.some(
        (w) => w.includes('lacks the label') && w.includes('set as an annotation'),
      ),
      annotated.warnings.join('|'),
    )
    const viaSa = run({ saAnnotations: { 'azure.workload.identity/client-id': 'c' } })
    assert.ok(viaSa.warnings.some((w) => w.includes('lacks the label')))
    const labelled = run({
      pod: pod({}, { labels: LABEL }),
      saAnnotations: { 'azure.workload.identity/client-id': 'c' },
    })
    assert.deepEqual(labelled.warnings, [])
  })
})
