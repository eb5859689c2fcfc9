/**
 * `podtrust webhook serve|mutate` flags: the reference defaults, Go/pflag syntax (reference Deployment
 * arguments work unchanged), and every kind of bad value refused with a UsageError naming the flag.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UsageError } from '../../../src/errors.ts'
import { parseGoBool, parseGoDuration } from '../../../src/kube/go-values.ts'
import {
  parseFlags,
  parseMutateFlags,
  parseServeFlags,
  partitionOfRegion,
} from '../../../src/kube/flags.ts'
import { defaultWebhookConfig } from '../../../src/mutation/index.ts'

const usage = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UsageError, `expected UsageError, got ${String(e)}`)
  assert.match(e.message, pattern)
  return true
}
const serve = (...argv: string[]) => parseServeFlags(argv, {})

void describe('Go flag values', () => {
  void it('parses strconv.ParseBool spellings only', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true)
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false)
    for (const bad of ['yes', 'on', 'tRuE', '', ' true', '2'])
      assert.equal(parseGoBool(bad), undefined)
  })

  void it('parses time.ParseDuration forms and refuses the rest', () => {
    const ok: [string, number][] = [
      ['0', 0],
      ['2s', 2000],
      ['100ms', 100],
      ['1m30s', 90_000],
      ['1.5h', 5_400_000],
      ['250us', 0.25],
      ['500µs', 0.5],
      ['+3s', 3000],
      ['.5s', 500],
    ]
    for (const [text, ms] of ok) assert.equal(parseGoDuration(text), ms, text)
    for (const bad of ['2', '-1s', '1d', 's', '', '1s2', '1 s', 'Infinitys', '2S', '1e3s']) {
      assert.equal(parseGoDuration(bad), undefined, bad)
    }
  })
})

void describe('webhook serve flags', () => {
  void it('has the reference defaults (and podtrust grace period 2s)', () => {
    const o = serve()
    assert.deepEqual(o.config, defaultWebhookConfig())
    assert.equal(o.port, 443)
    assert.equal(o.metricsPort, 9999)
    assert.deepEqual(o.tls, {
      kind: 'files',
      certFile: '/etc/webhook/certs/tls.crt',
      keyFile: '/etc/webhook/certs/tls.key',
    })
    assert.equal(o.tlsMinVersion, 'TLSv1.2')
    assert.deepEqual(o.serviceAccounts, { kind: 'api' })
    assert.equal(o.gracePeriodMs, 2000)
    assert.equal(o.resyncPeriodMs, 60_000)
    assert.equal(o.configMapNamespace, undefined)
    assert.equal(o.containerCredentialsConfig, undefined)
    assert.equal(o.podtrustAssociations, undefined)
    assert.deepEqual(o.ignoredFlags, [])
  })

  void it('accepts the reference Deployment arguments verbatim', () => {
    // deploy/deployment-base.yaml of aws/amazon-eks-pod-identity-webhook, plus common additions.
    const o = serve(
      '--in-cluster=false',
      '--namespace=kube-system',
      '--service-name=pod-identity-webhook',
      '--annotation-prefix=eks.amazonaws.com',
      '--token-audience=sts.amazonaws.com',
      '--logtostderr',
      '--watch-config-map=true',
      '--sts-regional-endpoint=true',
      '--aws-default-region',
      'eu-west-1',
      '--token-expiration=300',
      '--service-account-lookup-grace-period=250ms',
      '--resync-period',
      '5m',
      '-v=2',
      '--port=8443',
      '--tls-min-version=VersionTLS13',
    )
    assert.equal(o.configMapNamespace, 'kube-system')
    assert.equal(o.config.aws.regionalSts, true)
    assert.equal(o.config.aws.region, 'eu-west-1')
    assert.equal(o.config.aws.tokenExpiration, 600, 'clamped up to 600 as the reference')
    assert.equal(o.gracePeriodMs, 250)
    assert.equal(o.resyncPeriodMs, 300_000)
    assert.equal(o.port, 8443)
    assert.equal(o.tlsMinVersion, 'TLSv1.3')
    assert.deepEqual(o.ignoredFlags.sort(), ['logtostderr', 'service-name', 'v'])
  })

  void it('maps every mutation flag into WebhookConfig', () => {
    const o = parseServeFlags(
      [
        '--annotation-prefix',
        'example.com',
        '--token-audience',
        'aud',
        '--token-mount-path',
        '/var/run/t',
        '--compose-role-arn',
        '--aws-account-id',
        '123456789012',
        '--aws-default-region',
        'cn-north-1',
        '--container-credentials-audience',
        'pods',
        '--container-credentials-token-mount-path',
        '/var/run/pi',
        '--container-credentials-token-volume-name',
        'pi-token',
        '--container-credentials-token-path',
        'tok',
        '--container-credentials-full-uri',
        'http://[fd00:ec2::23]/v1/credentials',
        '--azure-environment',
        'AzureChinaCloud',
        '--audience',
        'api://custom',
        '--azure-token-layout',
        'v1.5',
        '--gcp-token-mount-path',
        '/g',
        '--gcp-credentials-mount-path',
        '/c',
        '--gcp-token-expiration',
        '7200',
        '--podtrust-endpoint',
        'https://podtrust.podtrust-system.svc:8443',
        '--podtrust-agent-url',
        'http://169.254.170.23/v1/credentials',
        '--podtrust-ca-configmap',
        'my-ca',
        '--podtrust-cluster',
        'prod-1',
        '--watch-container-credentials-config',
        '/etc/pi/config.json',
      ],
      { AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
    )
    const { aws, azure, gcp, selfHosted } = o.config
    assert.equal(aws.annotationPrefix, 'example.com')
    assert.equal(aws.tokenAudience, 'aud')
    assert.equal(aws.tokenMountPath, '/var/run/t')
    assert.deepEqual(aws.composeRoleArn, { partition: 'aws-cn', accountId: '123456789012' })
    assert.deepEqual(aws.containerCredentials, {
      audience: 'pods',
      mountPath: '/var/run/pi',
      volumeName: 'pi-token',
      tokenPath: 'tok',
      fullUri: 'http://[fd00:ec2::23]/v1/credentials',
    })
    assert.deepEqual(azure, {
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      authorityHost: 'https://login.chinacloudapi.cn/',
      audience: 'api://custom',
      tokenLayout: 'v1.5',
    })
    assert.deepEqual(gcp, {
      tokenMountPath: '/g',
      credentialsMountPath: '/c',
      tokenExpiration: 7200,
    })
    assert.deepEqual(selfHosted, {
      endpoint: 'https://podtrust.podtrust-system.svc:8443',
      agentUrl: 'http://169.254.170.23/v1/credentials',
      caConfigMap: 'my-ca',
    })
    assert.deepEqual(o.podtrustAssociations, {
      endpoint: 'https://podtrust.podtrust-system.svc:8443',
      cluster: 'prod-1',
      region: 'cn-north-1',
    })
    assert.equal(o.containerCredentialsConfig, '/etc/pi/config.json')
  })

  void it('reads the tenant and environment from the Azure webhook environment variables', () => {
    const o = parseServeFlags([], {
      AZURE_TENANT_ID: 't-1',
      AZURE_ENVIRONMENT: 'AzureUSGovernmentCloud',
    })
    assert.equal(o.config.azure.tenantId, 't-1')
    assert.equal(o.config.azure.authorityHost, 'https://login.microsoftonline.us/')
    assert.equal(
      parseServeFlags(['--azure-tenant-id', 'flag'], { AZURE_TENANT_ID: 'env' }).config.azure
        .tenantId,
      'flag',
    )
  })

  void it('builds the TLS source: files, --webhook-cert-dir, or podtrust CA with names and IPs', () => {
    assert.deepEqual(serve('--tls-cert', '/a.crt', '--tls-key', '/a.key').tls, {
      kind: 'files',
      certFile: '/a.crt',
      keyFile: '/a.key',
    })
    assert.deepEqual(serve('--webhook-cert-dir=/certs').tls, {
      kind: 'files',
      certFile: '/certs/tls.crt',
      keyFile: '/certs/tls.key',
    })
    assert.deepEqual(
      serve(
        '--tls-from-ca',
        '--data-dir',
        '/d',
        '--dns-name',
        'hook.ns.svc',
        '--dns-name=127.0.0.1',
        '--dns-name',
        '::1',
      ).tls,
      { kind: 'ca', dataDir: '/d', dnsNames: ['hook.ns.svc'], ipAddresses: ['127.0.0.1', '::1'] },
    )
    assert.deepEqual(serve('--service-accounts-dir', './sa').serviceAccounts, {
      kind: 'files',
      dir: './sa',
    })
    assert.deepEqual(serve('--kubeconfig', '/k', '--kube-api', 'https://10.0.0.1:6443').kube, {
      kubeconfig: '/k',
      apiUrl: 'https://10.0.0.1:6443',
    })
  })

  void it('derives the partition from the region as the reference does', () => {
    const cases: [string, string][] = [
      ['cn-northwest-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
      ['us-iso-east-1', 'aws-iso'],
      ['us-isob-east-1', 'aws-iso-b'],
      ['eusc-de-east-1', 'aws-eusc'],
      ['eu-west-1', 'aws'],
      ['', 'aws'],
    ]
    for (const [region, partition] of cases) assert.equal(partitionOfRegion(region), partition)
  })

  void it('refuses malformed values, naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--service-account-lookup-grace-period=2'], /grace-period '2' is not a duration/],
      [['--service-account-lookup-grace-period', '-1s'], /is not a duration/],
      [['--resync-period=1d'], /--resync-period '1d' is not a duration/],
      [['--sts-regional-endpoint=yes'], /--sts-regional-endpoint takes a boolean, got 'yes'/],
      [['--watch-config-map=on'], /--watch-config-map takes a boolean/],
      [['--azure-token-layout', 'v2'], /--azure-token-layout 'v2' is not a layout/],
      [
        ['--azure-environment', 'AzureMoon'],
        /--azure-environment 'AzureMoon' is not an Azure environment/,
      ],
      [
        ['--podtrust-endpoint', 'podtrust:8443'],
        /--podtrust-endpoint 'podtrust:8443' must be an http\(s\) URL/,
      ],
      [['--podtrust-endpoint', 'not a url'], /is not a URL/],
      [['--podtrust-agent-url', 'ftp://x'], /need --podtrust-endpoint|must be an http\(s\) URL/],
      [['--container-credentials-full-uri='], /--container-credentials-full-uri must not be empty/],
      [['--kube-api', 'localhost:6443'], /--kube-api 'localhost:6443' must be an http\(s\) URL/],
      [['--port', '70000'], /--port '70000' is not a port/],
      [['--metrics-port', 'http'], /--metrics-port takes a whole number/],
      [['--token-expiration', '1h'], /--token-expiration takes a whole number/],
      [['--gcp-token-expiration', '60'], /at least 600/],
      [['--tls-min-version', 'TLS1.4'], /--tls-min-version 'TLS1.4' is not a TLS version/],
      [['--aws-account-id', '1234'], /12 digits/],
      [['--compose-role-arn'], /--compose-role-arn needs --aws-account-id/],
      [['--aws-default-region', 'eu west'], /contains whitespace/],
      [['--podtrust-cluster', 'prod'], /--podtrust-cluster needs --podtrust-endpoint/],
      [
        ['--podtrust-endpoint', 'https://p', '--podtrust-cluster', 'bad name'],
        /is not a cluster name/,
      ],
      [
        ['--podtrust-endpoint', 'https://p', '--podtrust-ca-configmap', 'Bad_Name'],
        /is not a ConfigMap name/,
      ],
      [['--container-credentials-token-volume-name', 'Vol_1'], /is not a volume name/],
      [['--token-mount-path', 'relative/path'], /must be an absolute path/],
      [['--annotation-prefix', 'eks.amazonaws.com/'], /must be a DNS prefix/],
      [['--token-audience='], /--token-audience must not be empty/],
      [['--tls-from-ca'], /--tls-from-ca needs at least one --dns-name/],
      [['--tls-from-ca', '--dns-name', 'a', '--tls-cert', '/x'], /alternatives/],
      [['--dns-name', 'a'], /apply to --tls-from-ca/],
      [['--tls-from-ca', '--dns-name', 'bad name!'], /--dns-name 'bad name!' is not a DNS name/],
      [['--namespace', 'Kube_System'], /is not a namespace name/],
      [['--log-level', 'loud'], /--log-level 'loud' is not a level/],
      [['--nope'], /unknown flag `--nope`/],
      [['--pod', 'x.yaml'], /unknown flag `--pod`/],
      [['--port'], /--port needs a value/],
      [['extra'], /unexpected argument 'extra'/],
    ]
    for (const [argv, pattern] of bad)
      assert.throws(() => parseServeFlags(argv, {}), usage(pattern), argv.join(' '))
  })

  void it('parses --name value, --name=value, single dash and -- like pflag', () => {
    const { values, positionals } = parseFlags(
      ['-port=1', '--namespace', 'ns', '--dns-name=a', '--dns-name', 'b', '--', '--port=2'],
      ['serve'],
    )
    assert.deepEqual(values, { port: '1', namespace: 'ns', 'dns-name': ['a', 'b'] })
    assert.deepEqual(positionals, ['--port=2'])
    assert.deepEqual(parseFlags(['--in-cluster', '--in-cluster=false'], ['serve']).values, {
      'in-cluster': false,
    })
  })
})

void describe('webhook mutate flags', () => {
  void it('needs --pod and reads its own flags', () => {
    assert.throws(() => parseMutateFlags([], {}), usage(/--pod is required/))
    const o = parseMutateFlags(
      [
        '--pod',
        'p.yaml',
        '--service-account',
        's.yaml',
        '--endpoint',
        'azure',
        '--pod-identity',
        '--patch',
      ],
      {},
    )
    assert.equal(o.podFile, 'p.yaml')
    assert.equal(o.serviceAccountFile, 's.yaml')
    assert.equal(o.endpoint, 'azure')
    assert.equal(o.podIdentity, true)
    assert.equal(o.output, 'patch')
    assert.equal(o.tenantMissing, true)
    assert.equal(
      parseMutateFlags(['--pod', 'p', '--json'], { AZURE_TENANT_ID: 't' }).tenantMissing,
      false,
    )
  })

  void it('accepts the server flags (validated, no effect) and refuses bad ones the same way', () => {
    const o = parseMutateFlags(
      ['--pod', 'p', '--port=8443', '--watch-config-map', '--aws-default-region=us-west-2'],
      {},
    )
    assert.equal(o.config.aws.region, 'us-west-2')
    assert.throws(
      () => parseMutateFlags(['--pod', 'p', '--resync-period=soon'], {}),
      usage(/is not a duration/),
    )
    assert.throws(
      () => parseMutateFlags(['--pod', 'p', '--endpoint', 'gcp'], {}),
      usage(/--endpoint 'gcp' is not an endpoint/),
    )
    assert.throws(
      () => parseMutateFlags(['--pod', 'p', '--patch', '--json'], {}),
      usage(/alternatives/),
    )
    assert.throws(
      () => parseMutateFlags(['--pod', 'p', '--patch=maybe'], {}),
      usage(/--patch takes a boolean/),
    )
  })
})
