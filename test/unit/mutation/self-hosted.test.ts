import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { WebhookConfig } from '../../../src/mutation/index.ts'
import {
  assertIdempotent,
  container,
  env,
  envNames,
  mutated,
  patchOf,
  pod,
  ROLE,
  run,
  type RequestOptions,
} from './helpers.ts'

const HTTPS = 'https://podtrust.podtrust-system.svc:8443'
const CA_VOLUME = {
  name: 'podtrust-ca',
  configMap: { name: 'podtrust-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
}
const CA_MOUNT = { name: 'podtrust-ca', readOnly: true, mountPath: '/etc/podtrust/ca' }
const GCP = {
  'podtrust.io/gcp-workload-identity-provider':
    'projects/1/locations/global/workloadIdentityPools/kube/providers/local',
}

const selfHosted =
  (endpoint: string, extra: Partial<NonNullable<WebhookConfig['selfHosted']>> = {}) =>
  (c: WebhookConfig): void => {
    c.selfHosted = { endpoint, caConfigMap: 'podtrust-ca', ...extra }
  }

void describe('self-hosted mode', () => {
  void it('off by default: the patch is exactly the reference one', () => {
    const base: RequestOptions = {
      pod: pod({ initContainers: [{ name: 'i' }] }),
      config: (c) => (c.aws.region = 'eu-west-1'),
    }
    assert.deepEqual(
      patchOf(run(base)),
      patchOf(
        run({
          ...base,
          config: (c) => {
            c.aws.region = 'eu-west-1'
            delete c.selfHosted
          },
        }),
      ),
    )
    assert.equal(JSON.stringify(patchOf(run(base))).includes('podtrust'), false)
  })

  void it('IRSA: AWS_ENDPOINT_URL_STS, and for https AWS_CA_BUNDLE + the CA volume', () => {
    const p = mutated({ config: selfHosted(`${HTTPS}/`) })
    const c = container(p)
    assert.deepEqual(envNames(c), [
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_ENDPOINT_URL_STS',
      'AWS_CA_BUNDLE',
    ])
    assert.equal(env(c, 'AWS_ENDPOINT_URL_STS'), HTTPS)
    assert.equal(env(c, 'AWS_CA_BUNDLE'), '/etc/podtrust/ca/ca.crt')
    assert.deepEqual(c.volumeMounts?.[1], CA_MOUNT)
    assert.deepEqual(
      p.spec?.volumes?.map((v) => v.name),
      ['aws-iam-token', 'podtrust-ca'],
    )
    assert.deepEqual(p.spec?.volumes?.[1], CA_VOLUME)
    const plain = mutated({ config: selfHosted('http://podtrust:7070') })
    assert.deepEqual(envNames(container(plain)), [
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_ENDPOINT_URL_STS',
    ])
    assert.deepEqual(
      plain.spec?.volumes?.map((v) => v.name),
      ['aws-iam-token'],
    )
  })

  void it('Pod Identity: the agent URL (default the AWS one), CA for an https agent', () => {
    const dflt = mutated({ podIdentity: true, config: selfHosted(HTTPS) })
    assert.equal(
      env(container(dflt), 'AWS_CONTAINER_CREDENTIALS_FULL_URI'),
      'http://169.254.170.23/v1/credentials',
    )
    assert.equal(envNames(container(dflt)).includes('AWS_ENDPOINT_URL_STS'), false)
    const agent = mutated({
      podIdentity: true,
      config: selfHosted(HTTPS, { agentUrl: 'https://agent.local:8443/v1/credentials' }),
    })
    assert.equal(
      env(container(agent), 'AWS_CONTAINER_CREDENTIALS_FULL_URI'),
      'https://agent.local:8443/v1/credentials',
    )
    assert.equal(env(container(agent), 'AWS_CA_BUNDLE'), '/etc/podtrust/ca/ca.crt')
    assert.deepEqual(
      agent.spec?.volumes?.map((v) => v.name),
      ['eks-pod-identity-token', 'podtrust-ca'],
    )
  })

  void it('Azure: authority host = endpoint + "/", CA-trust variables and volume', () => {
    const p = mutated({
      endpoint: 'azure',
      pod: pod({}, { labels: { 'azure.workload.identity/use': 'true' } }),
      saAnnotations: {
        'azure.workload.identity/client-id': 'c',
        'azure.workload.identity/tenant-id': 't',
      },
      config: selfHosted(HTTPS, { caConfigMap: 'my-ca' }),
    })
    const c = container(p)
    assert.equal(env(c, 'AZURE_AUTHORITY_HOST'), `${HTTPS}/`)
    for (const name of ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE'])
      assert.equal(env(c, name), '/etc/podtrust/ca/ca.crt', name)
    assert.ok(
      c.volumeMounts?.some((m) => m.name === 'podtrust-ca' && m.mountPath === '/etc/podtrust/ca'),
    )
    const ca = p.spec?.volumes?.find((v) => v.name === 'podtrust-ca')
    assert.deepEqual(ca, { ...CA_VOLUME, configMap: { ...CA_VOLUME.configMap, name: 'my-ca' } })
  })

  void it('GCP: CA-trust variables for an https endpoint', () => {
    const p = mutated({ saAnnotations: GCP, config: selfHosted(HTTPS) })
    assert.equal(env(container(p), 'NODE_EXTRA_CA_CERTS'), '/etc/podtrust/ca/ca.crt')
    assert.deepEqual(
      p.spec?.volumes?.map((v) => v.name),
      ['podtrust-gcp-token', 'podtrust-gcp-credentials', 'podtrust-ca'],
    )
    const both = mutated({
      saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE },
      config: selfHosted(HTTPS),
    })
    assert.equal(both.spec?.volumes?.filter((v) => v.name === 'podtrust-ca').length, 1)
  })

  void it('never overrides what the pod sets', () => {
    const own = [
      { name: 'AWS_ENDPOINT_URL_STS', value: 'https://sts.eu-west-1.amazonaws.com' },
      { name: 'AWS_CA_BUNDLE', value: '/mine.pem' },
    ]
    const p = mutated({
      pod: pod({ containers: [{ name: 'app', env: own }] }),
      config: selfHosted(HTTPS),
    })
    assert.deepEqual(
      container(p).env?.filter((e) => own.some((o) => o.name === e.name)),
      own,
    )
    const azure = mutated({
      endpoint: 'azure',
      pod: pod(
        {
          containers: [
            {
              name: 'app',
              env: [
                { name: 'AZURE_AUTHORITY_HOST', value: 'https://login.microsoftonline.com/' },
                { name: 'SSL_CERT_FILE', value: '/x' },
              ],
            },
          ],
        },
        { labels: { 'azure.workload.identity/use': 'true' } },
      ),
      saAnnotations: {},
      config: selfHosted(HTTPS),
    })
    assert.equal(
      env(container(azure), 'AZURE_AUTHORITY_HOST'),
      'https://login.microsoftonline.com/',
    )
    assert.equal(env(container(azure), 'SSL_CERT_FILE'), '/x')
  })

  void it('Windows: CA path converted', () => {
    const p = mutated({
      pod: pod({ nodeSelector: { 'kubernetes.io/os': 'windows' } }),
      config: selfHosted(HTTPS),
    })
    assert.equal(env(container(p), 'AWS_CA_BUNDLE'), 'C:\\etc\\podtrust\\ca\\ca.crt')
  })

  void it('a bad endpoint: warned, nothing added, pod still mutated', () => {
    for (const endpoint of ['not a url', 'ftp://x']) {
      const r = run({ config: selfHosted(endpoint) })
      assert.equal(r.kind, 'patch')
      assert.ok(
        r.warnings.some((w) => w.includes('self-hosted endpoint')),
        endpoint,
      )
      assert.equal(JSON.stringify(patchOf(r)).includes('AWS_ENDPOINT_URL_STS'), false)
    }
  })

  void it('idempotent on every path', () => {
    assertIdempotent({ config: selfHosted(HTTPS) })
    assertIdempotent({
      podIdentity: true,
      config: selfHosted(HTTPS, { agentUrl: 'https://a/v1/credentials' }),
    })
    assertIdempotent({ saAnnotations: GCP, config: selfHosted(HTTPS) })
    assertIdempotent({
      endpoint: 'azure',
      pod: pod({}, { labels: { 'azure.workload.identity/use': 'true' } }),
      saAnnotations: {},
      config: selfHosted(HTTPS),
    })
  })
})
