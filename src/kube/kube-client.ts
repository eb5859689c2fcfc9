/**
 * @module kube/kube-client
 * The Kubernetes client configuration, as the reference builds it (clientcmd.BuildConfigFromFlags): a
 * kubeconfig file and/or an API URL override, else the in-cluster ServiceAccount token and CA.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import { WebhookError } from './errors.ts'
import type { KubeClientOptions } from './flags.ts'

export async function loadKubeConfig(
  options: KubeClientOptions,
  env: NodeJS.ProcessEnv,
): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node')
  const kc = new KubeConfig()
  if (options.kubeconfig !== undefined) {
    try {
      kc.loadFromFile(options.kubeconfig)
    } catch (err) {
      throw new WebhookError(
        'KUBE_CONFIG_INVALID',
        `cannot load kubeconfig \`${options.kubeconfig}\`: ${(err as Error).message}`,
        { cause: err },
      )
    }
    if (kc.getCurrentCluster() === null) {
      throw new WebhookError(
        'KUBE_CONFIG_INVALID',
        `kubeconfig \`${options.kubeconfig}\` has no current context with a cluster`,
      )
    }
  } else if (
    env['KUBERNETES_SERVICE_HOST'] !== undefined &&
    env['KUBERNETES_SERVICE_PORT'] !== undefined
  ) {
    kc.loadFromCluster()
  } else if (options.apiUrl !== undefined) {
    kc.loadFromClusterAndUser(
      { name: 'kube-api', server: options.apiUrl, skipTLSVerify: false },
      { name: 'anonymous' },
    )
  } else {
    throw new WebhookError(
      'KUBE_CONFIG_INVALID',
      'not running in a cluster (no KUBERNETES_SERVICE_HOST) and no --kubeconfig given',
      {
        hint: 'give --kubeconfig FILE, or --service-accounts-dir DIR to read ServiceAccounts from files',
      },
    )
  }
  const current = kc.getCurrentCluster()
  if (current !== null && options.apiUrl !== undefined) {
    const apiUrl = options.apiUrl
    kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: apiUrl } : c))
  }
  // The client refuses plain http unless told to skip TLS verification, which means nothing for http.
  kc.clusters = kc.clusters.map((c) =>
    c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c,
  )
  return kc
}
