import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type {
  Container,
  JsonPatchOperation,
  Volume,
  WebhookConfig,
} from '../../../src/mutation/index.ts'
import {
  container,
  env,
  envNames,
  mutated,
  ops,
  patchOf,
  pod,
  ROLE,
  run,
  serviceAccount,
  TOKEN_FILE,
} from './helpers.ts'

const IRSA_VOLUME = {
  name: 'aws-iam-token',
  projected: {
    sources: [
      {
        serviceAccountToken: {
          audience: 'sts.amazonaws.com',
          expirationSeconds: 86400,
          path: 'token',
        },
      },
    ],
  },
}

function tokenSource(volumes: Volume[] | undefined, name: string): Record<string, unknown> {
  const v = volumes?.find((x) => x.name === name)
  assert.ok(v !== undefined, `no volume ${name}`)
  return (v['projected'] as { sources: { serviceAccountToken: Record<string, unknown> }[] })
    .sources[0]?.serviceAccountToken as Record<string, unknown>
}

void describe('IRSA patch shape (webhooks.md A.7)', () => {
  const cases: {
    name: string
    spec: Parameters<typeof pod>[0]
    labels?: Record<string, string>
    podIdentity?: boolean
    want: string[]
  }[] = [
    {
      name: 'no volumes: /spec/volumes created',
      spec: {},
      want: ['add /spec/volumes', 'add /spec/containers'],
    },
    {
      name: 'existing volumes: prepended at /spec/volumes/0',
      spec: { volumes: [{ name: 'data' }] },
      want: ['add /spec/volumes/0', 'add /spec/containers'],
    },
    {
      name: 'empty volume list counts as present',
      spec: { volumes: [] },
      want: ['add /spec/volumes/0', 'add /spec/containers'],
    },
    {
      name: 'init containers: whole /spec/initContainers last',
      spec: { initContainers: [{ name: 'init' }] },
      want: ['add /spec/volumes', 'add /spec/containers', 'add /spec/initContainers'],
    },
    {
      name: 'a volume with the same name (any type) is not added again',
      spec: { volumes: [{ name: 'aws-iam-token', emptyDir: {} }] },
      want: ['add /spec/containers'],
    },
    {
      name: 'Pod Identity without labels: /metadata/labels first',
      spec: {},
      podIdentity: true,
      want: ['add /metadata/labels', 'add /spec/volumes', 'add /spec/containers'],
    },
    {
      name: 'Pod Identity with labels: the escaped label key',
      spec: {},
      labels: { app: 'x' },
      podIdentity: true,
      want: [
        'add /metadata/labels/eks.amazonaws.com~1pod-identity',
        'add /spec/volumes',
        'add /spec/containers',
      ],
    },
  ]
  for (const c of cases) {
    void it(c.name, () => {
      const result = run({
        pod: pod(c.spec, c.labels === undefined ? {} : { labels: c.labels }),
        podIdentity: c.podIdentity ?? false,
      })
      assert.deepEqual(ops(patchOf(result)), c.want)
    })
  }

  void it('the volume value is the reference projection', () => {
    const patch = patchOf(run())
    assert.deepEqual(patch[0], { op: 'add', path: '/spec/volumes', value: [IRSA_VOLUME] })
    const prepended = patchOf(run({ pod: pod({ volumes: [{ name: 'd' }] }) }))
    assert.deepEqual(prepended[0], { op: 'add', path: '/spec/volumes/0', value: IRSA_VOLUME })
  })

  void it('an unchanged pod still gets the containers op (the reference never returns an empty patch)', () => {
    const already = mutated()
    const again = patchOf(run({ pod: already }))
    assert.deepEqual(ops(again), ['add /spec/containers'])
    assert.deepEqual((again[0] as JsonPatchOperation).value, already.spec?.containers)
  })

  void it('the role, audience and label values', () => {
    const p = mutated({ podIdentity: true, pod: pod({}, { labels: { a: 'b' } }) })
    assert.deepEqual(p.metadata?.labels, { a: 'b', 'eks.amazonaws.com/pod-identity': 'enabled' })
    assert.deepEqual(
      tokenSource(
        mutated({
          saAnnotations: {
            'eks.amazonaws.com/role-arn': ROLE,
            'eks.amazonaws.com/audience': 'custom',
          },
        }).spec?.volumes,
        'aws-iam-token',
      )['audience'],
      'custom',
    )
  })

  void it('an empty audience annotation leaves audience out (API server default audiences)', () => {
    const src = tokenSource(
      mutated({
        saAnnotations: { 'eks.amazonaws.com/role-arn': ROLE, 'eks.amazonaws.com/audience': '' },
      }).spec?.volumes,
      'aws-iam-token',
    )
    assert.equal('audience' in src, false)
  })
})

void describe('IRSA env (A.5)', () => {
  const envCases: {
    name: string
    env?: { name: string; value: string }[]
    region?: string
    sts?: string
    want: string[]
    untouched?: boolean
  }[] = [
    { name: 'base: role + token file', want: ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'] },
    {
      name: 'region: DEFAULT_REGION then REGION before the pair',
      region: 'eu-west-1',
      want: ['AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'STS first',
      region: 'eu-west-1',
      sts: 'true',
      want: [
        'AWS_STS_REGIONAL_ENDPOINTS',
        'AWS_DEFAULT_REGION',
        'AWS_REGION',
        'AWS_ROLE_ARN',
        'AWS_WEB_IDENTITY_TOKEN_FILE',
      ],
    },
    {
      name: 'one region variable blocks both',
      region: 'eu-west-1',
      env: [{ name: 'AWS_DEFAULT_REGION', value: 'x' }],
      want: ['AWS_DEFAULT_REGION', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'a pre-set AWS_ROLE_ARN blocks the token file too (rawPodSkip)',
      region: 'us-west-2',
      env: [{ name: 'AWS_ROLE_ARN', value: 'mine' }],
      want: ['AWS_ROLE_ARN', 'AWS_DEFAULT_REGION', 'AWS_REGION'],
    },
    {
      name: 'a pre-set token file blocks the role too',
      env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/mine' }],
      want: ['AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'existing env kept first and never overwritten',
      sts: 'true',
      env: [
        { name: 'X', value: '1' },
        { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'legacy' },
      ],
      want: ['X', 'AWS_STS_REGIONAL_ENDPOINTS', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    },
    {
      name: 'early exit: pair + region + STS present leaves the container untouched, even without config',
      env: [
        { name: 'AWS_ROLE_ARN', value: 'r' },
        { name: 'AWS_REGION', value: 'x' },
        { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
      ],
      want: ['AWS_ROLE_ARN', 'AWS_REGION', 'AWS_STS_REGIONAL_ENDPOINTS'],
      untouched: true,
    },
  ]
  for (const c of envCases) {
    void it(c.name, () => {
      const annotations: Record<string, string> = { 'eks.amazonaws.com/role-arn': ROLE }
      if (c.sts !== undefined) annotations['eks.amazonaws.com/sts-regional-endpoints'] = c.sts
      const input = pod({
        containers: [{ name: 'app', ...(c.env === undefined ? {} : { env: c.env }) }],
      })
      const p = mutated({
        pod: input,
        saAnnotations: annotations,
        config: (cfg) => (cfg.aws.region = c.region ?? ''),
      })
      const out = container(p)
      assert.deepEqual(envNames(out), c.want)
      for (const e of c.env ?? []) assert.equal(env(out, e.name), e.value)
      if (c.untouched === true) assert.deepEqual(out, input.spec?.containers?.[0])
      else
        assert.deepEqual(out.volumeMounts, [
          {
            name: 'aws-iam-token',
            readOnly: true,
            mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
          },
        ])
    })
  }

  void it('values: role, token file, both region variables, regional', () => {
    const p = mutated({
      saAnnotations: {
        'eks.amazonaws.com/role-arn': ROLE,
        'eks.amazonaws.com/sts-regional-endpoints': '1',
      },
      config: (c) => (c.aws.region = 'cn-north-1'),
    })
    const c = container(p)
    assert.equal(env(c, 'AWS_ROLE_ARN'), ROLE)
    assert.equal(env(c, 'AWS_WEB_IDENTITY_TOKEN_FILE'), TOKEN_FILE)
    assert.equal(env(c, 'AWS_REGION'), 'cn-north-1')
    assert.equal(env(c, 'AWS_DEFAULT_REGION'), 'cn-north-1')
    assert.equal(env(c, 'AWS_STS_REGIONAL_ENDPOINTS'), 'regional')
  })

  void it('sts-regional-endpoints: ParseBool over the flag; invalid keeps the flag and warns', () => {
    const cases: [string, boolean, boolean][] = [
      ['false', true, false],
      ['T', false, true],
      ['yes', true, true],
      ['yes', false, false],
    ]
    for (const [value, flag, want] of cases) {
      const result = run({
        saAnnotations: {
          'eks.amazonaws.com/role-arn': ROLE,
          'eks.amazonaws.com/sts-regional-endpoints': value,
        },
        config: (c) => (c.aws.regionalSts = flag),
      })
      const p = mutated({
        saAnnotations: {
          'eks.amazonaws.com/role-arn': ROLE,
          'eks.amazonaws.com/sts-regional-endpoints': value,
        },
        config: (c) => (c.aws.regionalSts = flag),
      })
      assert.equal(
        envNames(container(p)).includes('AWS_STS_REGIONAL_ENDPOINTS'),
        want,
        `${value} flag=${flag}`,
      )
      assert.equal(
        result.warnings.some((w) => w.includes('is not a boolean')),
        value === 'yes',
      )
    }
  })

  void it('a same-named mount at another path is kept; no second mount', () => {
    const mine = { name: 'aws-iam-token', mountPath: '/elsewhere' }
    const p = mutated({ pod: pod({ containers: [{ name: 'app', volumeMounts: [mine] }] }) })
    assert.deepEqual(container(p).volumeMounts, [mine])
  })

  void it('init containers and native sidecars are mutated like containers', () => {
    const p = mutated({
      pod: pod({
        initContainers: [{ name: 'init' }, { name: 'sidecar', restartPolicy: 'Always' }],
      }),
    })
    for (const i of [0, 1])
      assert.deepEqual(envNames(container(p, i, true)), [
        'AWS_ROLE_ARN',
        'AWS_WEB_IDENTITY_TOKEN_FILE',
      ])
    assert.equal(container(p, 1, true)['restartPolicy'], 'Always')
  })

  void it('unrelated container fields round-trip', () => {
    const c: Container = {
      name: 'app',
      image: 'i',
      readinessProbe: { grpc: { port: 5000 } },
      securityContext: { runAsNonRoot: true },
      custom: [1, { a: null }],
    }
    const out = container(mutated({ pod: pod({ containers: [c] }) }))
    delete out.env
    delete out.volumeMounts
    assert.deepEqual(out, c)
  })

  void it('--annotation-prefix and --token-mount-path / --token-audience flags', () => {
    const p = mutated({
      saAnnotations: { 'example.com/role-arn': ROLE },
      config: (c) => {
        c.aws.annotationPrefix = 'example.com'
        c.aws.tokenMountPath = '/run/aws/'
        c.aws.tokenAudience = 'my-aud'
      },
    })
    assert.equal(env(container(p), 'AWS_WEB_IDENTITY_TOKEN_FILE'), '/run/aws/token')
    assert.equal(container(p).volumeMounts?.[0]?.mountPath, '/run/aws/')
    assert.equal(tokenSource(p.spec?.volumes, 'aws-iam-token')['audience'], 'my-aud')
    assert.equal(
      run({
        saAnnotations: { 'eks.amazonaws.com/role-arn': ROLE },
        config: (c) => (c.aws.annotationPrefix = 'example.com'),
      }).kind,
      'allow',
    )
  })
})

void describe('skip-containers (one CSV record, not trimmed)', () => {
  const containers = [{ name: 'a' }, { name: 'b' }, { name: ' b' }, { name: 'c,d' }]
  const cases: [string, string[]][] = [
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    ['a, b', ['a', ' b']],
    ['"c,d"', ['c,d']],
    ['a\nb', ['a']],
    ['a"b', []],
    ['"a', []],
    ['', []],
  ]
  for (const [annotation, skipped] of cases) {
    void it(JSON.stringify(annotation), () => {
      const input = pod(
        { initContainers: [{ name: 'a' }], containers },
        { annotations: { 'eks.amazonaws.com/skip-containers': annotation } },
      )
      const p = mutated({ pod: input })
      const all = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]
      const untouched = [...new Set(all.filter((c) => c.env === undefined).map((c) => c.name))]
      assert.deepEqual(untouched.sort(), [...skipped].sort())
    })
  }

  void it('warns for entries matching no container, with a hint about spaces', () => {
    const r = run({
      pod: pod({}, { annotations: { 'eks.amazonaws.com/skip-containers': 'app, sidecar' } }),
    })
    assert.ok(
      r.warnings.some((w) => w.includes('" sidecar"') && w.includes('matches no container')),
      r.warnings.join('|'),
    )
    const r2 = run({
      pod: pod(
        { containers: [{ name: 'app' }, { name: 'x' }] },
        { annotations: { 'eks.amazonaws.com/skip-containers': 'app, x' } },
      ),
    })
    assert.ok(r2.warnings.some((w) => w.includes('not trimmed')))
    const bad = run({
      pod: pod({}, { annotations: { 'eks.amazonaws.com/skip-containers': 'a"b' } }),
    })
    assert.ok(bad.warnings.some((w) => w.includes('not a valid comma-separated list')))
  })

  void it('skip-containers on the ServiceAccount does nothing, and says so', () => {
    const r = run({
      saAnnotations: {
        'eks.amazonaws.com/role-arn': ROLE,
        'eks.amazonaws.com/skip-containers': 'app',
      },
    })
    assert.deepEqual(
      envNames(
        container(
          mutated({
            saAnnotations: {
              'eks.amazonaws.com/role-arn': ROLE,
              'eks.amazonaws.com/skip-containers': 'app',
            },
          }),
        ),
      ),
      ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    )
    assert.ok(r.warnings.some((w) => w.includes('is read on the pod, not on the ServiceAccount')))
  })
})

void describe('Windows (A.8)', () => {
  for (const key of ['kubernetes.io/os', 'beta.kubernetes.io/os']) {
    void it(key, () => {
      const p = mutated({
        pod: pod({ nodeSelector: { [key]: 'windows' }, initContainers: [{ name: 'i' }] }),
      })
      const want = 'C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token'
      assert.equal(env(container(p), 'AWS_WEB_IDENTITY_TOKEN_FILE'), want)
      assert.equal(env(container(p, 0, true), 'AWS_WEB_IDENTITY_TOKEN_FILE'), want)
      assert.equal(
        container(p).volumeMounts?.[0]?.mountPath,
        '/var/run/secrets/eks.amazonaws.com/serviceaccount',
      )
    })
  }
  void it('Pod Identity token file too; linux stays POSIX', () => {
    const p = mutated({
      podIdentity: true,
      pod: pod({ nodeSelector: { 'kubernetes.io/os': 'windows' } }),
    })
    assert.equal(
      env(container(p), 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'),
      'C:\\var\\run\\secrets\\pods.eks.amazonaws.com\\serviceaccount\\eks-pod-identity-token',
    )
    assert.equal(
      env(
        container(mutated({ pod: pod({ nodeSelector: { 'kubernetes.io/os': 'linux' } }) })),
        'AWS_WEB_IDENTITY_TOKEN_FILE',
      ),
      TOKEN_FILE,
    )
  })
})

void describe('token expiration (A.6)', () => {
  const cases: {
    name: string
    pod?: string
    sa?: string
    flag?: number
    want: number
    warn?: RegExp
  }[] = [
    { name: 'flag default', want: 86400 },
    { name: 'flag', flag: 7200, want: 7200 },
    { name: 'flag below 600 is clamped', flag: 60, want: 600 },
    { name: 'SA over flag', sa: '5000', flag: 7200, want: 5000 },
    { name: 'pod over SA', pod: '3600', sa: '5000', want: 3600 },
    { name: 'pod "0" clamped to 600', pod: '0', want: 600, warn: /raised to the minimum 600/ },
    { name: 'SA 100 clamped to 600', sa: '100', want: 600, warn: /raised to the minimum 600/ },
    { name: 'negative clamped', pod: '-5', want: 600 },
    { name: 'no upper bound', pod: '172800', want: 172800 },
    {
      name: 'invalid pod value keeps the SA value',
      pod: '1h',
      sa: '5000',
      want: 5000,
      warn: /not an integer/,
    },
    {
      name: 'invalid SA value keeps the flag',
      sa: 'soon',
      flag: 7200,
      want: 7200,
      warn: /not an integer/,
    },
    {
      name: 'out-of-int64 value ignored',
      pod: '99999999999999999999',
      want: 86400,
      warn: /not an integer/,
    },
    { name: 'beyond 2^53 ignored', pod: '9007199254740993', want: 86400, warn: /too large/ },
    { name: 'explicit plus sign', pod: '+4000', want: 4000 },
  ]
  for (const c of cases) {
    void it(c.name, () => {
      const sa: Record<string, string> = { 'eks.amazonaws.com/role-arn': ROLE }
      if (c.sa !== undefined) sa['eks.amazonaws.com/token-expiration'] = c.sa
      const options = {
        pod: pod(
          {},
          c.pod === undefined
            ? {}
            : { annotations: { 'eks.amazonaws.com/token-expiration': c.pod } },
        ),
        saAnnotations: sa,
        config: (cfg: WebhookConfig) => {
          if (c.flag !== undefined) cfg.aws.tokenExpiration = c.flag
        },
      }
      assert.equal(
        tokenSource(mutated(options).spec?.volumes, 'aws-iam-token')['expirationSeconds'],
        c.want,
      )
      if (c.warn !== undefined)
        assert.ok(
          run(options).warnings.some((w) => c.warn?.test(w)),
          run(options).warnings.join('|'),
        )
    })
  }
})

void describe('Pod Identity (A.3–A.4)', () => {
  void it('wins over role-arn: only the container-credentials pair', () => {
    const p = mutated({ podIdentity: true, config: (c) => (c.aws.region = 'eu-west-1') })
    const c = container(p)
    assert.deepEqual(envNames(c), [
      'AWS_DEFAULT_REGION',
      'AWS_REGION',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    ])
    assert.equal(
      env(c, 'AWS_CONTAINER_CREDENTIALS_FULL_URI'),
      'http://169.254.170.23/v1/credentials',
    )
    assert.equal(
      env(c, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'),
      '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    )
    assert.deepEqual(c.volumeMounts, [
      {
        name: 'eks-pod-identity-token',
        readOnly: true,
        mountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
      },
    ])
    const src = tokenSource(p.spec?.volumes, 'eks-pod-identity-token')
    assert.deepEqual(src, {
      audience: 'pods.eks.amazonaws.com',
      expirationSeconds: 79200,
      path: 'eks-pod-identity-token',
    })
    assert.equal(
      p.spec?.volumes?.some((v) => v.name === 'aws-iam-token'),
      false,
    )
  })

  void it('the SA audience annotation is ignored in this mode', () => {
    const p = mutated({ podIdentity: true, saAnnotations: { 'eks.amazonaws.com/audience': 'x' } })
    assert.equal(
      tokenSource(p.spec?.volumes, 'eks-pod-identity-token')['audience'],
      'pods.eks.amazonaws.com',
    )
  })

  void it('no ServiceAccount needed; then STS off and 86400 (jittered)', () => {
    const result = run({
      podIdentity: true,
      sa: undefined,
      config: (c) => (c.aws.regionalSts = true),
    })
    assert.equal(result.kind, 'patch')
    const p = mutated({
      podIdentity: true,
      sa: undefined,
      config: (c) => (c.aws.regionalSts = true),
    })
    assert.equal(envNames(container(p)).includes('AWS_STS_REGIONAL_ENDPOINTS'), false)
    assert.equal(tokenSource(p.spec?.volumes, 'eks-pod-identity-token')['expirationSeconds'], 79200)
  })

  void it('jitter: 79200 + floor(random × 7201), only for exactly 86400', () => {
    const exp = (
      random: () => number,
      extra: Partial<{ pod: string; sa: string; flag: number }> = {},
    ): unknown =>
      tokenSource(
        mutated({
          podIdentity: true,
          random,
          pod: pod(
            {},
            extra.pod === undefined
              ? {}
              : { annotations: { 'eks.amazonaws.com/token-expiration': extra.pod } },
          ),
          saAnnotations:
            extra.sa === undefined ? {} : { 'eks.amazonaws.com/token-expiration': extra.sa },
          config: (c) => {
            if (extra.flag !== undefined) c.aws.tokenExpiration = extra.flag
          },
        }).spec?.volumes,
        'eks-pod-identity-token',
      )['expirationSeconds']
    assert.equal(
      exp(() => 0),
      79200,
    )
    assert.equal(
      exp(() => 0.5),
      79200 + 3600,
    )
    assert.equal(
      exp(() => 0.999999999),
      86400,
    )
    assert.equal(
      exp(() => Number.NaN),
      79200,
    )
    assert.equal(
      exp(() => 7),
      86400,
    )
    assert.equal(
      exp(() => 0.5, { sa: '10000' }),
      10000,
    )
    assert.equal(
      exp(() => 0.5, { pod: '86400' }),
      79200 + 3600,
    )
    assert.equal(
      exp(() => 0.5, { pod: '86399' }),
      86399,
    )
    assert.equal(
      exp(() => 0.5, { flag: 3600 }),
      3600,
    )
    // IRSA never jitters.
    assert.equal(
      tokenSource(mutated({ random: () => 0.5 }).spec?.volumes, 'aws-iam-token')[
        'expirationSeconds'
      ],
      86400,
    )
  })

  void it('container-credentials flags', () => {
    const p = mutated({
      podIdentity: true,
      config: (c) =>
        (c.aws.containerCredentials = {
          audience: 'a',
          mountPath: '/m',
          volumeName: 'v',
          tokenPath: 't',
          fullUri: 'http://[fd00:ec2::23]/v1/credentials',
        }),
    })
    assert.equal(
      env(container(p), 'AWS_CONTAINER_CREDENTIALS_FULL_URI'),
      'http://[fd00:ec2::23]/v1/credentials',
    )
    assert.equal(env(container(p), 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'), '/m/t')
    assert.deepEqual(tokenSource(p.spec?.volumes, 'v'), {
      audience: 'a',
      expirationSeconds: 79200,
      path: 't',
    })
  })
})

void describe('role ARN sources', () => {
  void it('no role: allowed unmutated with the reason', () => {
    const r = run({ saAnnotations: {} })
    assert.equal(r.kind, 'allow')
    assert.match((r as { reason: string }).reason, /ns\/sa has no eks\.amazonaws\.com\/role-arn/)
  })

  void it('ServiceAccount not found: allowed (fail-open)', () => {
    const r = run({ sa: undefined })
    assert.equal(r.kind, 'allow')
    assert.match((r as { reason: string }).reason, /not found; admitted unmutated/)
  })

  void it('--compose-role-arn turns a name into an ARN, leaves ARNs alone', () => {
    const compose = (value: string): string | undefined =>
      env(
        container(
          mutated({
            saAnnotations: { 'eks.amazonaws.com/role-arn': value },
            config: (c) =>
              (c.aws.composeRoleArn = { partition: 'aws-cn', accountId: '123456789012' }),
          }),
        ),
        'AWS_ROLE_ARN',
      )
    assert.equal(compose('reader'), 'arn:aws-cn:iam::123456789012:role/reader')
    assert.equal(compose(ROLE), ROLE)
    assert.equal(
      env(
        container(mutated({ saAnnotations: { 'eks.amazonaws.com/role-arn': 'reader' } })),
        'AWS_ROLE_ARN',
      ),
      'reader',
    )
  })

  void it('a role-arn that is not a role ARN is used but warned about', () => {
    for (const value of [
      'reader',
      'arn:aws:iam::1234:role/x',
      'arn:aws:iam::111122223333:user/x',
    ]) {
      const r = run({ saAnnotations: { 'eks.amazonaws.com/role-arn': value } })
      assert.equal(r.kind, 'patch')
      assert.ok(
        r.warnings.some((w) => w.includes('is not an IAM role ARN')),
        value,
      )
    }
    assert.deepEqual(run().warnings, [])
    const huge = run({
      saAnnotations: {
        'eks.amazonaws.com/role-arn': `arn:aws:iam::111122223333:role/${'x'.repeat(5000)}`,
      },
    })
    assert.equal(huge.kind, 'allow')
    assert.ok(huge.warnings.some((w) => w.includes('longer than 2048')))
    assert.ok(huge.warnings.every((w) => w.length <= 256))
  })

  void it('ConfigMap source: ns/sa, then */sa, only when the SA has no role', () => {
    const map = {
      'ns/sa': {
        RoleARN: 'arn:aws:iam::111122223333:role/exact',
        UseRegionalSTS: true,
        TokenExpiration: 0,
      },
      '*/sa': {
        RoleARN: 'arn:aws:iam::111122223333:role/star',
        Audience: 'aud',
        TokenExpiration: 4000,
      },
      '*/other': { RoleARN: 'arn:aws:iam::111122223333:role/other-star' },
    }
    const exact = mutated({
      saAnnotations: {},
      irsaConfigMap: map,
      config: (c) => (c.aws.tokenExpiration = 5000),
    })
    assert.equal(env(container(exact), 'AWS_ROLE_ARN'), 'arn:aws:iam::111122223333:role/exact')
    assert.equal(env(container(exact), 'AWS_STS_REGIONAL_ENDPOINTS'), 'regional')
    const src = tokenSource(exact.spec?.volumes, 'aws-iam-token')
    assert.equal(src['expirationSeconds'], 5000, 'TokenExpiration 0 means the flag')
    assert.equal('audience' in src, false, 'a ConfigMap audience is not defaulted')
    const star = mutated({ saAnnotations: {}, irsaConfigMap: { '*/sa': map['*/sa'] } })
    assert.equal(env(container(star), 'AWS_ROLE_ARN'), 'arn:aws:iam::111122223333:role/star')
    assert.equal(tokenSource(star.spec?.volumes, 'aws-iam-token')['audience'], 'aud')
    const annotated = mutated({ irsaConfigMap: map })
    assert.equal(env(container(annotated), 'AWS_ROLE_ARN'), ROLE, 'the SA annotation wins')
    const missingSa = mutated({ sa: undefined, irsaConfigMap: map })
    assert.equal(env(container(missingSa), 'AWS_ROLE_ARN'), 'arn:aws:iam::111122223333:role/exact')
    assert.equal(
      run({ saAnnotations: {}, irsaConfigMap: { 'test-*/sa': map['*/sa'] } }).kind,
      'allow',
      '* is not a glob',
    )
    assert.equal(
      run({ saAnnotations: {}, irsaConfigMap: { 'ns/sa': { RoleARN: '' } } }).kind,
      'allow',
    )
  })

  void it('Pod Identity reads STS and expiration from the ConfigMap when the SA is missing', () => {
    const p = mutated({
      podIdentity: true,
      sa: undefined,
      irsaConfigMap: { '*/sa': { UseRegionalSTS: true, TokenExpiration: 5000 } },
    })
    assert.equal(env(container(p), 'AWS_STS_REGIONAL_ENDPOINTS'), 'regional')
    assert.equal(tokenSource(p.spec?.volumes, 'eks-pod-identity-token')['expirationSeconds'], 5000)
  })
})

void describe('annotation typo warnings', () => {
  const cases: {
    sa?: Record<string, string>
    pod?: Record<string, string>
    want: RegExp | undefined
  }[] = [
    {
      sa: { 'eks.amazonaws.com/rolearn': ROLE },
      want: /did you mean "eks\.amazonaws\.com\/role-arn"/,
    },
    {
      sa: { 'eks.amazonaws.com/role_arn': ROLE },
      want: /did you mean "eks\.amazonaws\.com\/role-arn"/,
    },
    { sa: { 'eks.amazon.com/role-arn': ROLE }, want: /not read \(domain "eks\.amazon\.com"\)/ },
    {
      sa: { 'eks.amazonaws.com/token-expiry': '1' },
      want: /did you mean "eks\.amazonaws\.com\/token-expiration"/,
    },
    {
      sa: { 'eks.amazonaws.com/audiences': 'a' },
      want: /did you mean "eks\.amazonaws\.com\/audience"/,
    },
    {
      pod: { 'eks.amazonaws.com/skip-container': 'a' },
      want: /did you mean "eks\.amazonaws\.com\/skip-containers"/,
    },
    {
      pod: { 'eks.amazonaws.com/role-arn': ROLE },
      want: /is read on the ServiceAccount, not on the pod/,
    },
    { sa: { 'iam.amazonaws.com/role': 'x' }, want: undefined },
    { sa: { 'eks.amazonaws.com/something-else': 'x' }, want: undefined },
    { pod: { 'pods.eks.amazonaws.com/anything': 'x' }, want: undefined },
  ]
  for (const c of cases) {
    void it(JSON.stringify(c.sa ?? c.pod), () => {
      const r = run({
        pod: pod({}, c.pod === undefined ? {} : { annotations: c.pod }),
        saAnnotations: { 'eks.amazonaws.com/role-arn': ROLE, ...c.sa },
      })
      if (c.want === undefined) assert.deepEqual(r.warnings, [])
      else
        assert.ok(
          r.warnings.some((w) => c.want?.test(w)),
          r.warnings.join(' | '),
        )
    })
  }
  void it('warnings also come with an unmutated pod (the typo is why)', () => {
    const r = run({ saAnnotations: { 'eks.amazonaws.com/rolearn': ROLE } })
    assert.equal(r.kind, 'allow')
    assert.equal(r.warnings.length, 1)
  })
  void it('the SA annotation fixture from serviceAccount() is well-formed', () => {
    assert.equal(serviceAccount().metadata.namespace, 'ns')
  })
})
