/**
 * @module kube/flags
 * The flags of `podtrust webhook serve|mutate`, parsed the way the reference webhooks parse theirs (Go
 * pflag: `--name=value`, `--name value`, bare `--bool` or `--bool=false`), so their Deployment arguments
 * work unchanged, and turned into a `WebhookConfig` plus the server's own settings. One table holds every
 * flag; the usage text is generated from it. Bad values are `UsageError`s naming the flag and the form.
 */
import { isIP } from 'node:net'
import { CLUSTER_NAME_PATTERN } from '../aws/eks/validate.ts'
import { UsageError } from '../errors.ts'
import { azureAuthorityHost, defaultWebhookConfig } from '../mutation/index.ts'
import type { WebhookConfig } from '../mutation/types.ts'
import { parseGoBool, parseGoDuration } from './go-values.ts'

type FlagKind = 'string' | 'bool' | 'int' | 'duration' | 'strings'
/** `common`: changes the mutation (serve and mutate); `serve`: the server only; `mutate`: the CLI only. */
type FlagScope = 'common' | 'serve' | 'mutate' | 'ignored'

interface FlagDef {
  kind: FlagKind
  scope: FlagScope
  /** Shown in the usage text; `ignored` flags are accepted for drop-in compatibility and not listed. */
  help: string
  /** The value's placeholder in the usage text. */
  arg?: string
  /** Another name accepted for this flag (the reference webhook's). */
  alias?: string
}

const DEFAULT_TLS_CERT = '/etc/webhook/certs/tls.crt'
const DEFAULT_TLS_KEY = '/etc/webhook/certs/tls.key'

/** Every flag, in usage order. Defaults are the reference webhooks' (see ../mutation/types.ts). */
export const WEBHOOK_FLAGS = {
  'annotation-prefix': {
    kind: 'string',
    scope: 'common',
    arg: 'P',
    help: 'ServiceAccount and pod annotation prefix (default eks.amazonaws.com)',
  },
  'token-audience': {
    kind: 'string',
    scope: 'common',
    arg: 'AUD',
    help: 'IRSA token audience (default sts.amazonaws.com)',
  },
  'token-mount-path': {
    kind: 'string',
    scope: 'common',
    arg: 'PATH',
    help: 'IRSA token mount path (default /var/run/secrets/eks.amazonaws.com/serviceaccount)',
  },
  'token-expiration': {
    kind: 'int',
    scope: 'common',
    arg: 'SECONDS',
    help: 'IRSA token lifetime, raised to at least 600 (default 86400)',
  },
  'aws-default-region': {
    kind: 'string',
    scope: 'common',
    arg: 'REGION',
    help: 'inject AWS_DEFAULT_REGION and AWS_REGION (default none)',
  },
  'sts-regional-endpoint': {
    kind: 'bool',
    scope: 'common',
    help: 'inject AWS_STS_REGIONAL_ENDPOINTS=regional (default false)',
  },
  'compose-role-arn': {
    kind: 'bool',
    scope: 'common',
    help: 'a role-arn annotation without arn: is a role name in --aws-account-id',
  },
  'aws-account-id': {
    kind: 'string',
    scope: 'common',
    arg: 'ID',
    help: 'account of composed role ARNs (12 digits; needed by --compose-role-arn)',
  },
  'aws-partition': {
    kind: 'string',
    scope: 'common',
    arg: 'P',
    help: 'partition of composed role ARNs (default from the region, else aws)',
  },
  'watch-container-credentials-config': {
    kind: 'string',
    scope: 'common',
    arg: 'FILE',
    help: 'Pod Identity identities file {"identities":[{namespace,serviceAccount}]}, watched',
  },
  'container-credentials-audience': {
    kind: 'string',
    scope: 'common',
    arg: 'AUD',
    help: 'Pod Identity token audience (default pods.eks.amazonaws.com)',
  },
  'container-credentials-token-mount-path': {
    kind: 'string',
    scope: 'common',
    arg: 'PATH',
    help: 'Pod Identity token mount path (default /var/run/secrets/pods.eks.amazonaws.com/serviceaccount)',
  },
  'container-credentials-token-volume-name': {
    kind: 'string',
    scope: 'common',
    arg: 'NAME',
    help: 'Pod Identity token volume name (default eks-pod-identity-token)',
  },
  'container-credentials-token-path': {
    kind: 'string',
    scope: 'common',
    arg: 'PATH',
    help: 'Pod Identity token file name (default eks-pod-identity-token)',
  },
  'container-credentials-full-uri': {
    kind: 'string',
    scope: 'common',
    arg: 'URL',
    help: 'AWS_CONTAINER_CREDENTIALS_FULL_URI (default http://169.254.170.23/v1/credentials)',
  },
  'azure-tenant-id': {
    kind: 'string',
    scope: 'common',
    arg: 'ID',
    help: 'tenant when the ServiceAccount names none (default $AZURE_TENANT_ID; needed by /mutate-v1-pod)',
  },
  'azure-environment': {
    kind: 'string',
    scope: 'common',
    arg: 'ENV',
    help: 'AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud (default $AZURE_ENVIRONMENT or AzurePublicCloud)',
  },
  'azure-audience': {
    kind: 'string',
    scope: 'common',
    arg: 'AUD',
    alias: 'audience',
    help: 'Azure token audience (default api://AzureADTokenExchange; reference name --audience)',
  },
  'azure-token-layout': {
    kind: 'string',
    scope: 'common',
    arg: 'V',
    help: 'Azure token volume layout: v1.6 (default) or v1.5',
  },
  'gcp-token-mount-path': {
    kind: 'string',
    scope: 'common',
    arg: 'PATH',
    help: 'GCP token mount path (default /var/run/secrets/podtrust.io/gcp)',
  },
  'gcp-credentials-mount-path': {
    kind: 'string',
    scope: 'common',
    arg: 'PATH',
    help: 'GCP credential configuration mount path (default /etc/podtrust/gcp)',
  },
  'gcp-token-expiration': {
    kind: 'int',
    scope: 'common',
    arg: 'SECONDS',
    help: 'GCP token lifetime, at least 600 (default 3600)',
  },
  'podtrust-endpoint': {
    kind: 'string',
    scope: 'common',
    arg: 'URL',
    help: "self-hosted mode: point pods at podtrust's URL (default off)",
  },
  'podtrust-agent-url': {
    kind: 'string',
    scope: 'common',
    arg: 'URL',
    help: 'self-hosted Pod Identity agent URL (default http://169.254.170.23/v1/credentials)',
  },
  'podtrust-ca-configmap': {
    kind: 'string',
    scope: 'common',
    arg: 'NAME',
    help: "ConfigMap (key ca.crt) with podtrust's CA for pods (default podtrust-ca)",
  },
  'podtrust-cluster': {
    kind: 'string',
    scope: 'common',
    arg: 'NAME',
    help: "read Pod Identity associations of this cluster from podtrust's EKS API at --podtrust-endpoint",
  },
  'watch-config-map': {
    kind: 'bool',
    scope: 'serve',
    help: 'read ConfigMap pod-identity-webhook (data.config) in --namespace',
  },
  namespace: {
    kind: 'string',
    scope: 'serve',
    arg: 'NS',
    help: 'namespace of that ConfigMap (default eks)',
  },
  'service-account-lookup-grace-period': {
    kind: 'duration',
    scope: 'serve',
    arg: 'D',
    help: 'on a cache miss, GET the ServiceAccount for up to D (default 2s; 0 = admit unmutated)',
  },
  'resync-period': {
    kind: 'duration',
    scope: 'serve',
    arg: 'D',
    help: 'restart informer watches after D, from their resourceVersion (default 60s)',
  },
  'in-cluster': {
    kind: 'bool',
    scope: 'serve',
    help: 'accepted for compatibility: without --kubeconfig/--kube-api the in-cluster config is used',
  },
  kubeconfig: {
    kind: 'string',
    scope: 'serve',
    arg: 'FILE',
    help: 'kubeconfig file (default in-cluster)',
  },
  'kube-api': {
    kind: 'string',
    scope: 'serve',
    arg: 'URL',
    help: 'Kubernetes API server URL (overrides the kubeconfig)',
  },
  'service-accounts-dir': {
    kind: 'string',
    scope: 'serve',
    arg: 'DIR',
    help: 'ServiceAccounts from YAML files in DIR instead of the API (local use)',
  },
  port: {
    kind: 'int',
    scope: 'serve',
    arg: 'PORT',
    help: 'HTTPS port (default 443; 0 = ephemeral)',
  },
  'metrics-port': {
    kind: 'int',
    scope: 'serve',
    arg: 'PORT',
    help: 'plain HTTP /metrics port (default 9999; 0 = ephemeral)',
  },
  'tls-cert': {
    kind: 'string',
    scope: 'serve',
    arg: 'FILE',
    help: `serving certificate, reloaded on change (default ${DEFAULT_TLS_CERT})`,
  },
  'tls-key': {
    kind: 'string',
    scope: 'serve',
    arg: 'FILE',
    help: `serving key, reloaded on change (default ${DEFAULT_TLS_KEY})`,
  },
  'tls-min-version': {
    kind: 'string',
    scope: 'serve',
    arg: 'V',
    help: 'minimum TLS version: 1.2 (default) or 1.3 (VersionTLS12 style accepted)',
  },
  'tls-from-ca': {
    kind: 'bool',
    scope: 'serve',
    help: "serving certificate from podtrust's CA in --data-dir for the --dns-name names; prints the caBundle",
  },
  'data-dir': {
    kind: 'string',
    scope: 'serve',
    arg: 'DIR',
    help: 'podtrust data directory holding the CA (default $PODTRUST_HOME or ./.podtrust)',
  },
  'dns-name': {
    kind: 'strings',
    scope: 'serve',
    arg: 'NAME',
    help: 'a name (or IP) of the serving certificate, repeatable',
  },
  'log-level': {
    kind: 'string',
    scope: 'serve',
    arg: 'L',
    help: 'info (default), warn, error or silent',
  },
  pod: { kind: 'string', scope: 'mutate', arg: 'FILE', help: 'the Pod manifest (YAML or JSON)' },
  'service-account': {
    kind: 'string',
    scope: 'mutate',
    arg: 'FILE',
    help: "the pod's ServiceAccount manifest(s) (YAML, multi-document)",
  },
  endpoint: {
    kind: 'string',
    scope: 'mutate',
    arg: 'E',
    help: 'aws (/mutate) or azure (/mutate-v1-pod); default azure for pods labelled azure.workload.identity/use: "true"',
  },
  'pod-identity': {
    kind: 'bool',
    scope: 'mutate',
    help: "the pod's ServiceAccount has a Pod Identity association",
  },
  'container-credentials-config': {
    kind: 'string',
    scope: 'mutate',
    arg: 'FILE',
    help: 'read Pod Identity identities from this reference file',
  },
  patch: { kind: 'bool', scope: 'mutate', help: 'print only the JSON Patch (one JSON array)' },
  json: { kind: 'bool', scope: 'mutate', help: 'print the result as one JSON object' },
  // Reference flags accepted so existing manifests start; they change nothing here (a warning is logged).
  'service-name': { kind: 'string', scope: 'ignored', help: '' },
  'tls-secret': { kind: 'string', scope: 'ignored', help: '' },
  'tls-cipher-suites': { kind: 'string', scope: 'ignored', help: '' },
  'enable-debugging-handlers': { kind: 'bool', scope: 'ignored', help: '' },
  logtostderr: { kind: 'bool', scope: 'ignored', help: '' },
  v: { kind: 'string', scope: 'ignored', help: '' },
  'webhook-cert-dir': {
    kind: 'string',
    scope: 'serve',
    arg: 'DIR',
    help: 'reference Azure flag: --tls-cert DIR/tls.crt --tls-key DIR/tls.key',
  },
  'disable-cert-rotation': { kind: 'bool', scope: 'ignored', help: '' },
  'health-addr': { kind: 'string', scope: 'ignored', help: '' },
  'metrics-addr': { kind: 'string', scope: 'ignored', help: '' },
  'metrics-backend': { kind: 'string', scope: 'ignored', help: '' },
} as const satisfies Record<string, FlagDef>

export type WebhookFlagName = keyof typeof WEBHOOK_FLAGS
type RawValue = string | boolean | string[]

const ALIASES: ReadonlyMap<string, WebhookFlagName> = new Map(
  Object.entries(WEBHOOK_FLAGS).flatMap(([name, def]: [string, FlagDef]) =>
    def.alias === undefined ? [] : [[def.alias, name as WebhookFlagName] as const],
  ),
)

function flagDef(name: string): { name: WebhookFlagName; def: FlagDef } | undefined {
  const canonical = (name in WEBHOOK_FLAGS ? name : ALIASES.get(name)) as
    WebhookFlagName | undefined
  return canonical === undefined ? undefined : { name: canonical, def: WEBHOOK_FLAGS[canonical] }
}

/** The raw flag values and positionals of one invocation, before any meaning is given to them. */
export interface ParsedFlags {
  values: Partial<Record<WebhookFlagName, RawValue>>
  positionals: string[]
}

/**
 * pflag-style parsing: `--name=value`, `--name value`, `--bool`, `--bool=false` (Go's ParseBool spellings);
 * a single leading dash is accepted too (Go's std flag, used by the Azure webhook). The last value wins;
 * `strings` flags collect every value.
 */
export function parseFlags(argv: readonly string[], allowed: readonly FlagScope[]): ParsedFlags {
  const values: Partial<Record<WebhookFlagName, RawValue>> = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    const body = arg.replace(/^--?/, '')
    const eq = body.indexOf('=')
    const rawName = eq < 0 ? body : body.slice(0, eq)
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    const found = flagDef(rawName)
    if (found === undefined || !allowed.includes(found.def.scope)) {
      throw new UsageError(`unknown flag \`--${rawName}\``)
    }
    const { name, def } = found
    if (def.kind === 'bool') {
      if (inline === undefined) values[name] = true
      else {
        const b = parseGoBool(inline)
        if (b === undefined) {
          throw new UsageError(`--${name} takes a boolean, got '${inline}'`, 'use true or false')
        }
        values[name] = b
      }
      continue
    }
    let value = inline
    if (value === undefined) {
      value = argv[i + 1]
      if (value === undefined) throw new UsageError(`--${name} needs a value`)
      i++
    }
    if (def.kind === 'strings') {
      const prev = values[name]
      values[name] = [...(Array.isArray(prev) ? prev : []), value]
    } else values[name] = value
  }
  return { values, positionals }
}

/** The usage lines for the flags of the given scopes, generated from the table. */
export function flagUsage(scopes: readonly FlagScope[]): string {
  const rows = Object.entries(WEBHOOK_FLAGS as Record<string, FlagDef>)
    .filter(([, d]) => scopes.includes(d.scope))
    .map(([name, d]) => [`--${name}${d.kind === 'bool' ? '' : ` ${d.arg ?? 'V'}`}`, d.help])
  const width = Math.max(...rows.map(([l]) => (l ?? '').length))
  return rows.map(([l, h]) => `  ${(l ?? '').padEnd(width)}  ${h ?? ''}`).join('\n')
}

export type TlsMinVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
export type WebhookLogLevel = 'info' | 'warn' | 'error' | 'silent'

/** Where the serving certificate comes from. */
export type TlsSource =
  | { kind: 'files'; certFile: string; keyFile: string }
  /** Issued at start by podtrust's CA in `dataDir` (undefined: the CLI's default data directory). */
  | { kind: 'ca'; dataDir: string | undefined; dnsNames: string[]; ipAddresses: string[] }

/** Where ServiceAccounts come from. */
export type ServiceAccountSourceOptions = { kind: 'files'; dir: string } | { kind: 'api' }

/** How the Kubernetes client is configured: a kubeconfig file and/or an API URL, else in-cluster. */
export interface KubeClientOptions {
  kubeconfig?: string
  apiUrl?: string
}

/** Everything `podtrust webhook serve` needs, from its flags and environment. */
export interface WebhookServeOptions {
  config: WebhookConfig
  port: number
  metricsPort: number
  tls: TlsSource
  tlsMinVersion: TlsMinVersion
  serviceAccounts: ServiceAccountSourceOptions
  kube: KubeClientOptions
  /** Cache-miss wait (and direct GET) for a ServiceAccount, in milliseconds. */
  gracePeriodMs: number
  /** Informer watch restart period, in milliseconds. */
  resyncPeriodMs: number
  /** The reference ConfigMap source: namespace of ConfigMap `pod-identity-webhook`, when enabled. */
  configMapNamespace: string | undefined
  /** The reference Pod Identity file, when given. */
  containerCredentialsConfig: string | undefined
  /** podtrust's EKS API as the Pod Identity source, when `--podtrust-cluster` is given. */
  podtrustAssociations: { endpoint: string; cluster: string; region: string } | undefined
  logLevel: WebhookLogLevel
  /** Reference flags given that podtrust accepts and ignores (logged once at start). */
  ignoredFlags: string[]
}

/** What `podtrust webhook mutate` needs besides the shared configuration. */
export interface WebhookMutateOptions {
  config: WebhookConfig
  podFile: string
  serviceAccountFile: string | undefined
  endpoint: 'aws' | 'azure' | undefined
  podIdentity: boolean
  containerCredentialsConfig: string | undefined
  output: 'default' | 'patch' | 'json'
  /** True when neither `--azure-tenant-id` nor AZURE_TENANT_ID gave a tenant. */
  tenantMissing: boolean
}

const str = (v: RawValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined)
const bool = (v: RawValue | undefined): boolean | undefined =>
  typeof v === 'boolean' ? v : undefined

function intValue(name: string, v: RawValue | undefined): number | undefined {
  const s = str(v)
  if (s === undefined) return undefined
  if (!/^-?\d{1,15}$/.test(s)) throw new UsageError(`--${name} takes a whole number, got '${s}'`)
  return Number(s)
}

function portValue(name: string, v: RawValue | undefined, fallback: number): number {
  const n = intValue(name, v)
  if (n === undefined) return fallback
  if (n < 0 || n > 65535) throw new UsageError(`--${name} '${n}' is not a port`, 'use 0-65535')
  return n
}

function durationValue(name: string, v: RawValue | undefined, fallbackMs: number): number {
  const s = str(v)
  if (s === undefined) return fallbackMs
  const ms = parseGoDuration(s)
  if (ms === undefined) {
    throw new UsageError(
      `--${name} '${s}' is not a duration`,
      'write it as Go does: 500ms, 2s, 1m30s (or 0)',
    )
  }
  return ms
}

function urlValue(name: string, v: RawValue | undefined): string | undefined {
  const s = str(v)
  if (s === undefined) return undefined
  let url: URL
  try {
    url = new URL(s)
  } catch {
    throw new UsageError(`--${name} '${s}' is not a URL`, 'an http:// or https:// URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--${name} '${s}' must be an http(s) URL`)
  }
  return s
}

function absolutePath(name: string, v: RawValue | undefined): string | undefined {
  const s = str(v)
  if (s === undefined) return undefined
  if (!s.startsWith('/')) throw new UsageError(`--${name} '${s}' must be an absolute path`)
  return s
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS1123_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** The reference's partition from a region prefix (used by --compose-role-arn). */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  if (region.startsWith('us-isob-')) return 'aws-iso-b'
  if (region.startsWith('us-iso-')) return 'aws-iso'
  if (region.startsWith('eusc-')) return 'aws-eusc'
  return 'aws'
}

const TLS_VERSIONS: Readonly<Record<string, TlsMinVersion>> = {
  '1.0': 'TLSv1',
  '1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3',
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
}

/** The mutation's configuration from the shared flags (and AZURE_TENANT_ID / AZURE_ENVIRONMENT). */
export function mutationConfigFrom(
  values: ParsedFlags['values'],
  env: NodeJS.ProcessEnv,
): WebhookConfig {
  const config = defaultWebhookConfig()
  const { aws, azure, gcp } = config
  const cc = aws.containerCredentials
  const set = (name: WebhookFlagName, apply: (s: string) => void) => {
    const s = str(values[name])
    if (s === undefined) return
    if (s === '') throw new UsageError(`--${name} must not be empty`)
    apply(s)
  }
  set('annotation-prefix', (s) => {
    if (s.includes('/') || /\s/.test(s)) {
      throw new UsageError(`--annotation-prefix '${s}' must be a DNS prefix like eks.amazonaws.com`)
    }
    aws.annotationPrefix = s
  })
  set('token-audience', (s) => (aws.tokenAudience = s))
  aws.tokenMountPath =
    absolutePath('token-mount-path', values['token-mount-path']) ?? aws.tokenMountPath
  const exp = intValue('token-expiration', values['token-expiration'])
  // The reference clamps the flag up to 600 rather than refusing it (pkg/validation.go).
  if (exp !== undefined) aws.tokenExpiration = Math.max(600, exp)
  // Taken verbatim, as the reference does (its own test fixtures use region "seattle").
  const region = str(values['aws-default-region'])
  if (region !== undefined && /\s/.test(region)) {
    throw new UsageError(`--aws-default-region '${region}' contains whitespace`)
  }
  if (region !== undefined) aws.region = region
  aws.regionalSts = bool(values['sts-regional-endpoint']) ?? aws.regionalSts
  const accountId = str(values['aws-account-id'])
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--aws-account-id must be 12 digits, got '${accountId}'`)
  }
  const partition = str(values['aws-partition'])
  if (partition !== undefined && !/^aws(-[a-z]+)*$/.test(partition)) {
    throw new UsageError(
      `--aws-partition '${partition}' is not a partition`,
      'e.g. aws, aws-cn, aws-us-gov',
    )
  }
  if (bool(values['compose-role-arn']) === true) {
    if (accountId === undefined) {
      throw new UsageError(
        '--compose-role-arn needs --aws-account-id',
        'podtrust does not read the account from IMDS',
      )
    }
    aws.composeRoleArn = { partition: partition ?? partitionOfRegion(aws.region), accountId }
  }
  set('container-credentials-audience', (s) => (cc.audience = s))
  cc.mountPath =
    absolutePath(
      'container-credentials-token-mount-path',
      values['container-credentials-token-mount-path'],
    ) ?? cc.mountPath
  set('container-credentials-token-volume-name', (s) => {
    if (!DNS1123_LABEL.test(s)) {
      throw new UsageError(
        `--container-credentials-token-volume-name '${s}' is not a volume name (DNS-1123 label)`,
      )
    }
    cc.volumeName = s
  })
  set('container-credentials-token-path', (s) => (cc.tokenPath = s))
  // Verbatim too: the reference does not parse it (EKS IPv6 clusters use http://[fd00:ec2::23]/…).
  set('container-credentials-full-uri', (u) => (cc.fullUri = u))

  const tenant = str(values['azure-tenant-id']) ?? env['AZURE_TENANT_ID']
  if (tenant !== undefined) azure.tenantId = tenant
  const environment = str(values['azure-environment']) ?? env['AZURE_ENVIRONMENT']
  if (environment !== undefined && environment !== '') {
    try {
      azure.authorityHost = azureAuthorityHost(environment)
    } catch {
      throw new UsageError(
        `--azure-environment '${environment}' is not an Azure environment`,
        'AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud or AzureGermanCloud',
      )
    }
  }
  set('azure-audience', (s) => (azure.audience = s))
  const layout = str(values['azure-token-layout'])
  if (layout !== undefined) {
    if (layout !== 'v1.5' && layout !== 'v1.6') {
      throw new UsageError(`--azure-token-layout '${layout}' is not a layout`, 'use v1.5 or v1.6')
    }
    azure.tokenLayout = layout
  }
  gcp.tokenMountPath =
    absolutePath('gcp-token-mount-path', values['gcp-token-mount-path']) ?? gcp.tokenMountPath
  gcp.credentialsMountPath =
    absolutePath('gcp-credentials-mount-path', values['gcp-credentials-mount-path']) ??
    gcp.credentialsMountPath
  const gcpExp = intValue('gcp-token-expiration', values['gcp-token-expiration'])
  if (gcpExp !== undefined) {
    if (gcpExp < 600) {
      throw new UsageError(`--gcp-token-expiration must be at least 600 seconds, got ${gcpExp}`)
    }
    gcp.tokenExpiration = gcpExp
  }

  const endpoint = urlValue('podtrust-endpoint', values['podtrust-endpoint'])
  const agentUrl = urlValue('podtrust-agent-url', values['podtrust-agent-url'])
  const caConfigMap = str(values['podtrust-ca-configmap'])
  if (caConfigMap !== undefined && !DNS1123_SUBDOMAIN.test(caConfigMap)) {
    throw new UsageError(`--podtrust-ca-configmap '${caConfigMap}' is not a ConfigMap name`)
  }
  if (endpoint === undefined && (agentUrl !== undefined || caConfigMap !== undefined)) {
    throw new UsageError(
      '--podtrust-agent-url and --podtrust-ca-configmap need --podtrust-endpoint',
    )
  }
  if (endpoint !== undefined) {
    config.selfHosted = {
      endpoint,
      ...(agentUrl === undefined ? {} : { agentUrl }),
      caConfigMap: caConfigMap ?? 'podtrust-ca',
    }
  }
  const cluster = str(values['podtrust-cluster'])
  if (cluster !== undefined) {
    if (endpoint === undefined) throw new UsageError('--podtrust-cluster needs --podtrust-endpoint')
    if (!CLUSTER_NAME_PATTERN.test(cluster)) {
      throw new UsageError(`--podtrust-cluster '${cluster}' is not a cluster name`)
    }
  }
  return config
}

/** `podtrust webhook serve` flags → options. */
export function parseServeFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): WebhookServeOptions {
  const { values, positionals } = parseFlags(argv, ['common', 'serve', 'ignored'])
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`)
  return serveOptionsFrom(values, env)
}

function serveOptionsFrom(
  values: ParsedFlags['values'],
  env: NodeJS.ProcessEnv,
): WebhookServeOptions {
  const config = mutationConfigFrom(values, env)

  const certDir = str(values['webhook-cert-dir'])
  const certFile =
    str(values['tls-cert']) ?? (certDir === undefined ? undefined : `${certDir}/tls.crt`)
  const keyFile =
    str(values['tls-key']) ?? (certDir === undefined ? undefined : `${certDir}/tls.key`)
  const dnsNames = (values['dns-name'] as string[] | undefined) ?? []
  let tls: TlsSource
  if (bool(values['tls-from-ca']) === true) {
    if (certFile !== undefined || keyFile !== undefined) {
      throw new UsageError(
        '--tls-from-ca and --tls-cert/--tls-key are alternatives',
        'give one of them',
      )
    }
    if (dnsNames.length === 0) {
      throw new UsageError(
        '--tls-from-ca needs at least one --dns-name',
        'the Service name, e.g. --dns-name podtrust-webhook.podtrust-system.svc',
      )
    }
    const names: string[] = []
    const ips: string[] = []
    for (const n of dnsNames) {
      if (isIP(n) !== 0) ips.push(n)
      else if (DNS_NAME.test(n)) names.push(n)
      else throw new UsageError(`--dns-name '${n}' is not a DNS name or IP address`)
    }
    tls = { kind: 'ca', dataDir: str(values['data-dir']), dnsNames: names, ipAddresses: ips }
  } else {
    if (dnsNames.length > 0 || values['data-dir'] !== undefined) {
      throw new UsageError('--dns-name and --data-dir apply to --tls-from-ca')
    }
    tls = {
      kind: 'files',
      certFile: certFile ?? DEFAULT_TLS_CERT,
      keyFile: keyFile ?? DEFAULT_TLS_KEY,
    }
  }
  const minVersionText = str(values['tls-min-version']) ?? '1.2'
  const tlsMinVersion = TLS_VERSIONS[minVersionText]
  if (tlsMinVersion === undefined) {
    throw new UsageError(
      `--tls-min-version '${minVersionText}' is not a TLS version`,
      'use 1.2 or 1.3',
    )
  }

  const dir = str(values['service-accounts-dir'])
  const kubeconfig = str(values['kubeconfig'])
  const apiUrl = urlValue('kube-api', values['kube-api'])
  if (dir !== undefined && dir === '')
    throw new UsageError('--service-accounts-dir must not be empty')
  const namespace = str(values['namespace']) ?? 'eks'
  if (!DNS1123_LABEL.test(namespace))
    throw new UsageError(`--namespace '${namespace}' is not a namespace name`)
  const watchConfigMap = bool(values['watch-config-map']) === true

  const cluster = str(values['podtrust-cluster'])
  const levelText = str(values['log-level']) ?? 'info'
  // The Azure webhook's levels (debug, trace, all) are more verbose than info: podtrust logs at info.
  const logLevel = (
    {
      info: 'info',
      warn: 'warn',
      error: 'error',
      silent: 'silent',
      debug: 'info',
      trace: 'info',
      all: 'info',
    } as const
  )[levelText as 'info']
  if (logLevel === undefined) {
    throw new UsageError(`--log-level '${levelText}' is not a level`, 'info, warn, error or silent')
  }
  const ignoredFlags = Object.keys(values).filter(
    (k) => (WEBHOOK_FLAGS[k as WebhookFlagName] as FlagDef).scope === 'ignored',
  )
  return {
    config,
    port: portValue('port', values['port'], 443),
    metricsPort: portValue('metrics-port', values['metrics-port'], 9999),
    tls,
    tlsMinVersion,
    serviceAccounts: dir === undefined ? { kind: 'api' } : { kind: 'files', dir },
    kube: {
      ...(kubeconfig === undefined ? {} : { kubeconfig }),
      ...(apiUrl === undefined ? {} : { apiUrl }),
    },
    gracePeriodMs: durationValue(
      'service-account-lookup-grace-period',
      values['service-account-lookup-grace-period'],
      2000,
    ),
    resyncPeriodMs: durationValue('resync-period', values['resync-period'], 60_000),
    configMapNamespace: watchConfigMap ? namespace : undefined,
    containerCredentialsConfig: nonEmpty(str(values['watch-container-credentials-config'])),
    podtrustAssociations:
      cluster === undefined || config.selfHosted === undefined
        ? undefined
        : {
            endpoint: config.selfHosted.endpoint,
            cluster,
            region:
              config.aws.region || env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1',
          },
    logLevel,
    ignoredFlags,
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

/** `podtrust webhook mutate` flags → options. Serve-only flags are accepted (and validated) but change nothing. */
export function parseMutateFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): WebhookMutateOptions {
  const { values, positionals } = parseFlags(argv, ['common', 'serve', 'mutate', 'ignored'])
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`)
  // The server's flags are validated too, so a command line copied from a Deployment fails the same way.
  const { config } = serveOptionsFrom(values, env)
  const podFile = str(values['pod'])
  if (podFile === undefined || podFile === '')
    throw new UsageError('--pod is required', 'a Pod manifest file')
  const endpoint = str(values['endpoint'])
  if (endpoint !== undefined && endpoint !== 'aws' && endpoint !== 'azure') {
    throw new UsageError(
      `--endpoint '${endpoint}' is not an endpoint`,
      'use aws (/mutate) or azure (/mutate-v1-pod)',
    )
  }
  if (values['patch'] === true && values['json'] === true) {
    throw new UsageError('--patch and --json are alternatives')
  }
  const tenant = str(values['azure-tenant-id']) ?? env['AZURE_TENANT_ID']
  return {
    config,
    podFile,
    serviceAccountFile: nonEmpty(str(values['service-account'])),
    endpoint,
    podIdentity: bool(values['pod-identity']) === true,
    containerCredentialsConfig: nonEmpty(
      str(values['container-credentials-config']) ??
        str(values['watch-container-credentials-config']),
    ),
    output: values['patch'] === true ? 'patch' : values['json'] === true ? 'json' : 'default',
    tenantMissing: tenant === undefined || tenant === '',
  }
}
