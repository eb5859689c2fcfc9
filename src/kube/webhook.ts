/**
 * @module kube/webhook
 * Starts the whole webhook from its options: metrics, the ServiceAccount source (API informer or files),
 * the reference ConfigMap source, the Pod Identity sources (file, podtrust's EKS API), the serving
 * certificate (files, reloaded; or podtrust's CA) and the listeners. `podtrust webhook serve` calls this.
 *
 * @example
 * const hook = await startWebhook(parseServeFlags(argv, process.env), { env: process.env, log, dataDir })
 * // hook.port, hook.metricsPort, hook.caBundle (with --tls-from-ca); await hook.close()
 */
import { randomBytes } from 'node:crypto'
import type { KubeConfig } from '@kubernetes/client-node'
import { standardCredentials } from '../aws/credentials.ts'
import { mutate as defaultMutate } from '../mutation/index.ts'
import type { MutationRequest, MutationResult } from '../mutation/types.ts'
import { createAdmissionHandler } from './admission-handler.ts'
import type { WebhookServeOptions } from './flags.ts'
import { startIrsaConfigMapSource, type IrsaConfigMapSource } from './irsa-config-map.ts'
import { loadKubeConfig } from './kube-client.ts'
import { errorText, type WebhookLogger } from './log.ts'
import { createWebhookMetrics, type WebhookMetrics } from './metrics.ts'
import { type PodIdentitySource, unionPodIdentities } from './pod-identity.ts'
import { startEksPodIdentitySource } from './pod-identity-eks.ts'
import { startFilePodIdentitySource } from './pod-identity-file.ts'
import { startWebhookServer } from './server.ts'
import { relevantKeys, type ServiceAccountSource } from './service-accounts.ts'
import { startApiServiceAccountSource } from './service-accounts-api.ts'
import { startFileServiceAccountSource } from './service-accounts-files.ts'
import { issueFromCa, readTlsFiles, watchTlsFiles, type TlsMaterial } from './tls.ts'

export interface StartWebhookDeps {
  env: NodeJS.ProcessEnv
  log: WebhookLogger
  /** The data directory for `--tls-from-ca` when `--data-dir` is not given. */
  defaultDataDir: string
  /** Listen address (default all interfaces). */
  host?: string
  /** The mutation (default the real one); tests may wrap it. */
  mutate?: (request: MutationRequest) => MutationResult
  /** How long to wait for the first ServiceAccount list before serving anyway (default 30 s). */
  syncTimeoutMs?: number
  /** File poll period of the watched files (default 10 s). */
  pollMs?: number
  /** Pod Identity EKS API poll period (default 30 s). */
  eksPollMs?: number
}

export interface RunningWebhook {
  port: number
  metricsPort: number
  /** base64 of the CA certificate (PEM), with `--tls-from-ca`: the webhook configuration's caBundle. */
  caBundle: string | undefined
  caFile: string | undefined
  metrics: WebhookMetrics
  serviceAccounts: ServiceAccountSource
  close(): Promise<void>
}

/** Uniform in [0, 1) from the CSPRNG (Pod Identity jitter). */
const random = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48

export async function startWebhook(
  options: WebhookServeOptions,
  deps: StartWebhookDeps,
): Promise<RunningWebhook> {
  const { log } = deps
  const metrics = createWebhookMetrics()
  const closers: (() => Promise<void> | void)[] = []
  const closeAll = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {})
  }
  if (options.config.azure.tenantId === '') {
    // The Azure reference refuses to start without it; podtrust also serves AWS-only clusters.
    log.warn('webhook.azure_tenant_missing', {
      why: 'no --azure-tenant-id / AZURE_TENANT_ID: /mutate-v1-pod sets AZURE_TENANT_ID only from ServiceAccount annotations',
    })
  }
  for (const flag of options.ignoredFlags) {
    log.warn('webhook.flag_ignored', {
      flag: `--${flag}`,
      why: 'reference flag without meaning here',
    })
  }
  try {
    // TLS first: a webhook without a usable certificate must not start.
    let tls: TlsMaterial
    let caBundle: string | undefined
    let caFile: string | undefined
    if (options.tls.kind === 'ca') {
      const issued = await issueFromCa(options.tls.dataDir ?? deps.defaultDataDir, {
        dnsNames: options.tls.dnsNames,
        ipAddresses: options.tls.ipAddresses,
      })
      tls = issued.material
      caBundle = issued.caBundle
      caFile = issued.caFile
    } else tls = readTlsFiles(options.tls.certFile, options.tls.keyFile)

    let kubeConfig: KubeConfig | undefined
    const kube = async () => (kubeConfig ??= await loadKubeConfig(options.kube, deps.env))
    const keep = relevantKeys(options.config.aws.annotationPrefix)
    let serviceAccounts: ServiceAccountSource
    if (options.serviceAccounts.kind === 'files') {
      serviceAccounts = startFileServiceAccountSource({
        dir: options.serviceAccounts.dir,
        keep,
        log,
        onSize: (n) => metrics.setCachedServiceAccounts(n),
        onError: () => metrics.sourceError('serviceaccounts'),
        ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
      })
    } else {
      const api = await startApiServiceAccountSource({
        kubeConfig: await kube(),
        keep,
        resyncPeriodMs: options.resyncPeriodMs,
        log,
        onSize: (n) => metrics.setCachedServiceAccounts(n),
        onError: () => metrics.sourceError('serviceaccounts'),
      })
      serviceAccounts = api
      const synced = await Promise.race([
        api.reflector.firstSync().then(() => true),
        new Promise<boolean>((r) =>
          setTimeout(() => r(false), deps.syncTimeoutMs ?? 30_000).unref(),
        ),
      ])
      if (!synced) {
        log.warn('serviceaccounts.not_synced', {
          why: 'the first list did not complete; serving with direct lookups until it does',
        })
      }
    }
    closers.push(() => serviceAccounts.close())

    let configMap: IrsaConfigMapSource | undefined
    if (options.configMapNamespace !== undefined) {
      configMap = await startIrsaConfigMapSource({
        kubeConfig: await kube(),
        namespace: options.configMapNamespace,
        resyncPeriodMs: options.resyncPeriodMs,
        log,
        onError: () => metrics.sourceError('configmap'),
      })
      const cm = configMap
      closers.push(() => cm.close())
    }

    const identitySources: PodIdentitySource[] = []
    const countIdentities = () =>
      metrics.setPodIdentities(identitySources.reduce((n, s) => n + s.size(), 0))
    if (options.containerCredentialsConfig !== undefined) {
      identitySources.push(
        startFilePodIdentitySource({
          file: options.containerCredentialsConfig,
          log,
          onChange: () => countIdentities(),
          onError: () => metrics.sourceError('pod-identity-file'),
          ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
        }),
      )
    }
    if (options.podtrustAssociations !== undefined) {
      const eks = startEksPodIdentitySource({
        ...options.podtrustAssociations,
        credentials: () => standardCredentials(deps.env),
        log,
        onChange: () => countIdentities(),
        onError: () => metrics.sourceError('pod-identity-eks'),
        ...(deps.eksPollMs === undefined ? {} : { pollMs: deps.eksPollMs }),
      })
      await eks.firstSync
      identitySources.push(eks)
    }
    const podIdentity = unionPodIdentities(identitySources)
    closers.push(() => podIdentity.close())
    countIdentities()

    const handle = createAdmissionHandler({
      config: options.config,
      mutate: deps.mutate ?? defaultMutate,
      serviceAccounts,
      podIdentity,
      ...(configMap === undefined ? {} : { irsaConfigMap: () => configMap.current() }),
      gracePeriodMs: options.gracePeriodMs,
      metrics,
      log,
      random,
    })
    const server = await startWebhookServer({
      port: options.port,
      metricsPort: options.metricsPort,
      ...(deps.host === undefined ? {} : { host: deps.host }),
      tls,
      tlsMinVersion: options.tlsMinVersion,
      handle,
      metrics,
      log,
      isReady: () => serviceAccounts.synced(),
    })
    closers.push(() => server.close())
    if (options.tls.kind === 'files') {
      const { certFile, keyFile } = options.tls
      const watch = watchTlsFiles(
        certFile,
        keyFile,
        tls,
        (material) => {
          server.setTls(material)
          metrics.tlsReload(true)
          log.info('tls.reloaded', { certFile })
        },
        (err) => {
          metrics.tlsReload(false)
          log.error('tls.reload_failed', {
            certFile,
            error: errorText(err),
            kept: 'previous certificate',
          })
        },
        deps.pollMs === undefined ? {} : { pollMs: deps.pollMs },
      )
      closers.push(() => watch.close())
    }
    log.info('webhook.started', {
      port: server.port,
      metricsPort: server.metricsPort,
      serviceAccounts: options.serviceAccounts.kind,
      gracePeriodMs: options.gracePeriodMs,
      podIdentitySources: identitySources.length,
      configMap: options.configMapNamespace !== undefined,
      selfHosted: options.config.selfHosted !== undefined,
    })
    return {
      port: server.port,
      metricsPort: server.metricsPort,
      caBundle,
      caFile,
      metrics,
      serviceAccounts,
      close: closeAll,
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
