import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertIdempotent, pod, ROLE, type RequestOptions } from './helpers.ts'

const LABEL = { 'azure.workload.identity/use': 'true' }
const GCP = {
  'podtrust.io/gcp-workload-identity-provider':
    'projects/1/locations/global/workloadIdentityPools/kube/providers/local',
}
const rich = pod(
  {
    initContainers: [{ name: 'init' }, { name: 'sidecar', restartPolicy: 'Always' }],
    containers: [
      { name: 'app', env: [{ name: 'AWS_ROLE_ARN', value: 'mine' }] },
      { name: 'skip-me' },
      {
        name: 'win',
        env: [
          { name: 'AWS_REGION', value: 'x' },
          { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
          { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'u' },
        ],
      },
    ],
    volumes: [{ name: 'data' }],
    nodeSelector: { 'kubernetes.io/os': 'windows' },
  },
  {
    labels: { ...LABEL, app: 'x' },
    annotations: {
      'eks.amazonaws.com/skip-containers': 'skip-me',
      'azure.workload.identity/skip-containers': 'skip-me',
    },
  },
)

void describe('re-admitting a mutated pod changes nothing', () => {
  const scenarios: [string, RequestOptions][] = [
    ['IRSA', {}],
    [
      'IRSA, rich pod, region + STS',
      {
        pod: rich,
        saAnnotations: {
          'eks.amazonaws.com/role-arn': ROLE,
          'eks.amazonaws.com/sts-regional-endpoints': 'true',
        },
        config: (c) => (c.aws.region = 'eu-west-1'),
      },
    ],
    ['Pod Identity, rich pod, jitter', { pod: rich, podIdentity: true, random: Math.random }],
    ['Pod Identity without labels', { podIdentity: true }],
    ['IRSA + GCP', { pod: rich, saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE } }],
    ['ConfigMap source', { saAnnotations: {}, irsaConfigMap: { '*/sa': { RoleARN: ROLE } } }],
    [
      'Azure v1.6',
      { endpoint: 'azure', pod: rich, saAnnotations: { 'azure.workload.identity/client-id': 'c' } },
    ],
    [
      'Azure v1.5',
      {
        endpoint: 'azure',
        pod: rich,
        saAnnotations: {},
        config: (c) => (c.azure.tokenLayout = 'v1.5'),
      },
    ],
    [
      'Azure, generateName',
      {
        endpoint: 'azure',
        pod: {
          metadata: { generateName: 'g-', labels: LABEL },
          spec: { containers: [{ name: 'c' }] },
        },
        saAnnotations: {},
      },
    ],
  ]
  for (const [name, options] of scenarios) {
    void it(name, () => {
      const once = assertIdempotent(options)
      assert.notDeepEqual(once, options.pod ?? pod(), 'the first admission mutated the pod')
    })
  }
})
