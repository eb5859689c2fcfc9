import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_GCP_TOKEN_FILE } from '../../../src/mutation/index.ts'
import {
  assertIdempotent,
  container,
  env,
  envNames,
  mutated,
  ops,
  patchOf,
  pod,
  ROLE,
  run,
} from './helpers.ts'

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/kube/providers/local'
const GCP = {
  'iam.gke.io/gcp-service-account': 'app@demo-project.iam.gserviceaccount.com',
  'podtrust.io/gcp-workload-identity-provider': PROVIDER,
}

const TOKEN_VOLUME = {
  name: 'podtrust-gcp-token',
  projected: {
    sources: [
      {
        serviceAccountToken: {
          audience: `//iam.googleapis.com/${PROVIDER}`,
          expirationSeconds: 3600,
          path: 'token',
        },
      },
    ],
  },
}
const CREDENTIALS_VOLUME = (name: string): unknown => ({
  name: 'podtrust-gcp-credentials',
  configMap: {
    name,
    items: [{ key: 'credential-configuration.json', path: 'credential-configuration.json' }],
  },
})

void describe('GCP (podtrust design)', () => {
  void it('a GCP-only ServiceAccount gets the token, the credential config, and GOOGLE_APPLICATION_CREDENTIALS', () => {
    const r = run({ saAnnotations: GCP })
    assert.equal(r.kind, 'patch')
    assert.deepEqual((r as { modes: string[] }).modes, ['gcp'])
    assert.deepEqual(patchOf(r), [
      {
        op: 'add',
        path: '/spec/volumes',
        value: [TOKEN_VOLUME, CREDENTIALS_VOLUME('podtrust-gcp-sa')],
      },
      {
        op: 'add',
        path: '/spec/containers',
        value: [
          {
            name: 'app',
            image: 'img',
            env: [
              {
                name: 'GOOGLE_APPLICATION_CREDENTIALS',
                value: '/etc/podtrust/gcp/credential-configuration.json',
              },
            ],
            volumeMounts: [
              {
                name: 'podtrust-gcp-token',
                readOnly: true,
                mountPath: '/var/run/secrets/podtrust.io/gcp',
              },
              { name: 'podtrust-gcp-credentials', readOnly: true, mountPath: '/etc/podtrust/gcp' },
            ],
          },
        ],
      },
    ])
    assert.deepEqual(r.warnings, [])
    // The credential config's credential_source.file (written by `podtrust gcp cred-config --configmap`) is
    // the token file the webhook mounts.
    assert.equal(DEFAULT_GCP_TOKEN_FILE, '/var/run/secrets/podtrust.io/gcp/token')
  })

  void it('combined with IRSA in one patch: AWS first (reference shape), GCP volumes appended', () => {
    const r = run({
      saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE },
      pod: pod({ volumes: [{ name: 'data' }] }),
    })
    assert.deepEqual((r as { modes: string[] }).modes, ['irsa', 'gcp'])
    assert.deepEqual(ops(patchOf(r)), [
      'add /spec/volumes/0',
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /spec/containers',
    ])
    const p = mutated({
      saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE },
      pod: pod({ volumes: [{ name: 'data' }] }),
    })
    assert.deepEqual(
      p.spec?.volumes?.map((v) => v.name),
      ['aws-iam-token', 'data', 'podtrust-gcp-token', 'podtrust-gcp-credentials'],
    )
    assert.deepEqual(envNames(container(p)), [
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'GOOGLE_APPLICATION_CREDENTIALS',
    ])
    const fresh = run({ saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE } })
    assert.deepEqual(ops(patchOf(fresh)), [
      'add /spec/volumes',
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /spec/containers',
    ])
  })

  void it('with Pod Identity too', () => {
    const r = run({ saAnnotations: GCP, podIdentity: true })
    assert.deepEqual((r as { modes: string[] }).modes, ['pod-identity', 'gcp'])
    assert.equal(ops(patchOf(r))[0], 'add /metadata/labels')
  })

  void it('project, ConfigMap name annotation, mount-path and expiration settings', () => {
    const p = mutated({
      saAnnotations: {
        ...GCP,
        'podtrust.io/gcp-project': 'demo-project',
        'podtrust.io/gcp-credential-configmap': 'shared-cred',
      },
      config: (c) => {
        c.gcp.tokenMountPath = '/t'
        c.gcp.credentialsMountPath = '/c/'
        c.gcp.tokenExpiration = 60
      },
    })
    assert.equal(env(container(p), 'GOOGLE_CLOUD_PROJECT'), 'demo-project')
    assert.equal(
      env(container(p), 'GOOGLE_APPLICATION_CREDENTIALS'),
      '/c/credential-configuration.json',
    )
    assert.deepEqual(p.spec?.volumes?.[1], CREDENTIALS_VOLUME('shared-cred'))
    assert.equal(
      JSON.stringify(p.spec?.volumes?.[0]).includes('"expirationSeconds":600'),
      true,
      'clamped to 600',
    )
    assert.deepEqual(
      container(p).volumeMounts?.map((m) => m.mountPath),
      ['/t', '/c/'],
    )
  })

  void it('accepts the //iam.googleapis.com/ form of the provider', () => {
    const p = mutated({
      saAnnotations: {
        'podtrust.io/gcp-workload-identity-provider': `//iam.googleapis.com/${PROVIDER}`,
      },
    })
    assert.deepEqual(p.spec?.volumes?.[0], TOKEN_VOLUME)
  })

  void it("never overwrites the pod's own values", () => {
    const own = [
      { name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/mine.json' },
      { name: 'GOOGLE_CLOUD_PROJECT', value: 'mine' },
    ]
    const p = mutated({
      saAnnotations: { ...GCP, 'podtrust.io/gcp-project': 'demo-project' },
      pod: pod({ containers: [{ name: 'app', env: own }] }),
    })
    assert.deepEqual(container(p).env, own)
  })

  void it('wrong annotations: a warning and no GCP wiring', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'podtrust.io/gcp-workload-identity-provider': 'kube/local' }, /is not a provider name/],
      [{ ...GCP, 'podtrust.io/gcp-credential-configmap': 'Bad_Name' }, /not a valid object name/],
      [
        { 'podtrust.io/gcp-workload-identity-providr': PROVIDER },
        /did you mean "podtrust\.io\/gcp-workload-identity-provider"/,
      ],
      [
        { 'iam.gke.io/gcp-service-acount': 'x@y' },
        /did you mean "iam\.gke\.io\/gcp-service-account"/,
      ],
    ]
    for (const [annotations, warning] of cases) {
      const r = run({ saAnnotations: annotations })
      assert.equal(r.kind, 'allow', JSON.stringify(annotations))
      assert.ok(
        r.warnings.some((w) => warning.test(w)),
        r.warnings.join(' | '),
      )
    }
    const badProject = run({
      saAnnotations: { ...GCP, 'podtrust.io/gcp-project': 'Not A Project' },
    })
    assert.equal(badProject.kind, 'patch')
    assert.ok(badProject.warnings.some((w) => w.includes('GOOGLE_CLOUD_PROJECT not set')))
    const badEmail = run({ saAnnotations: { ...GCP, 'iam.gke.io/gcp-service-account': 'nobody' } })
    assert.ok(badEmail.warnings.some((w) => w.includes('not a service account email')))
    assert.equal(
      run({ saAnnotations: { 'iam.gke.io/gcp-service-account': 'a@b' } }).kind,
      'allow',
      'GKE-only annotation: nothing',
    )
    assert.equal(run({ saAnnotations: { 'podtrust.io/other-feature': 'x' } }).warnings.length, 0)
  })

  void it('skip-containers (the /mutate annotation) and Windows paths apply', () => {
    const p = mutated({
      saAnnotations: GCP,
      pod: pod(
        {
          nodeSelector: { 'kubernetes.io/os': 'windows' },
          containers: [{ name: 'app' }, { name: 'side' }],
        },
        { annotations: { 'eks.amazonaws.com/skip-containers': 'side' } },
      ),
    })
    assert.equal(
      env(container(p), 'GOOGLE_APPLICATION_CREDENTIALS'),
      'C:\\etc\\podtrust\\gcp\\credential-configuration.json',
    )
    assert.deepEqual(container(p, 1), { name: 'side' })
  })

  void it('idempotent, alone and with IRSA', () => {
    assertIdempotent({ saAnnotations: GCP })
    const once = assertIdempotent({
      saAnnotations: { ...GCP, 'eks.amazonaws.com/role-arn': ROLE },
      pod: pod({ initContainers: [{ name: 'i' }] }),
    })
    assert.equal(once.spec?.volumes?.length, 3)
  })
})
