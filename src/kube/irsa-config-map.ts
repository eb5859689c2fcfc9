/**
 * @module kube/irsa-config-map
 * The reference's ConfigMap source (`--watch-config-map`): ConfigMap `pod-identity-webhook` in
 * `--namespace`, key `data.config`, JSON `{"ns/sa": {"RoleARN", "Audience", "UseRegionalSTS",
 * "TokenExpiration"}}` (`*` as the namespace matches any). Watched through the API; a ConfigMap whose
 * config does not parse keeps the last good entries (as the reference, which skips the update), and a
 * deleted ConfigMap clears them.
 */
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import type { IrsaConfigMapEntry } from '../mutation/types.ts'
import { WebhookError } from './errors.ts'
import { listPage, Reflector } from './list-watch.ts'
import { errorText, type WebhookLogger } from './log.ts'

export const IRSA_CONFIG_MAP_NAME = 'pod-identity-webhook'

export type IrsaConfigMap = Readonly<Record<string, IrsaConfigMapEntry>>

/** `data.config` → entries. Unknown fields are ignored (Go's encoding/json); wrong types are errors. */
export function parseIrsaConfig(text: string): IrsaConfigMap {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new WebhookError('SOURCE_INVALID', `data.config is not JSON: ${(err as Error).message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new WebhookError(
      'SOURCE_INVALID',
      'data.config must be an object keyed "namespace/serviceaccount"',
    )
  }
  const out: Record<string, IrsaConfigMapEntry> = {}
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new WebhookError('SOURCE_INVALID', `data.config \`${key}\` must be an object`)
    }
    const r = raw as Record<string, unknown>
    const entry: IrsaConfigMapEntry = {}
    const field = <K extends keyof IrsaConfigMapEntry>(
      name: K,
      type: 'string' | 'boolean' | 'number',
    ) => {
      const v = r[name]
      if (v === undefined || v === null) return
      if (typeof v !== type || (type === 'number' && !Number.isInteger(v))) {
        throw new WebhookError(
          'SOURCE_INVALID',
          `data.config \`${key}\`.${name} must be ${type === 'number' ? 'an integer' : `a ${type}`}`,
        )
      }
      entry[name] = v as IrsaConfigMapEntry[K]
    }
    field('RoleARN', 'string')
    field('Audience', 'string')
    field('UseRegionalSTS', 'boolean')
    field('TokenExpiration', 'number')
    out[key] = entry
  }
  return out
}

export interface IrsaConfigMapSource {
  current(): IrsaConfigMap | undefined
  reflector: Reflector<{ name: string; config: string | undefined }>
  close(): Promise<void>
}

export async function startIrsaConfigMapSource(options: {
  kubeConfig: KubeConfig
  namespace: string
  resyncPeriodMs: number
  log: WebhookLogger
  onError?(err: unknown): void
  backoff?: { initialMs: number; maxMs: number }
}): Promise<IrsaConfigMapSource> {
  const { CoreV1Api: Core } = await import('@kubernetes/client-node')
  const core: CoreV1Api = options.kubeConfig.makeApiClient(Core)
  const fieldSelector = `metadata.name=${IRSA_CONFIG_MAP_NAME}`
  let entries: IrsaConfigMap | undefined
  let lastConfig: string | undefined
  const apply = (config: string | undefined) => {
    if (config === lastConfig) return
    if (config === undefined) {
      entries = undefined
      lastConfig = undefined
      options.log.info('configmap.cleared', {
        namespace: options.namespace,
        name: IRSA_CONFIG_MAP_NAME,
      })
      return
    }
    try {
      entries = parseIrsaConfig(config)
      lastConfig = config
      options.log.info('configmap.loaded', {
        namespace: options.namespace,
        name: IRSA_CONFIG_MAP_NAME,
        entries: Object.keys(entries).length,
      })
    } catch (err) {
      options.onError?.(err)
      options.log.error('configmap.invalid', {
        namespace: options.namespace,
        name: IRSA_CONFIG_MAP_NAME,
        error: errorText(err),
      })
    }
  }
  const strip = (o: unknown) => {
    const obj = o as { metadata?: { name?: unknown }; data?: Record<string, unknown> } | null
    const name = obj?.metadata?.name
    if (typeof name !== 'string') return undefined
    const config = obj?.data?.['config']
    return { name, config: typeof config === 'string' ? config : undefined }
  }
  const reflector = new Reflector({
    name: 'configmaps',
    kubeConfig: options.kubeConfig,
    path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
    fieldSelector,
    watchTimeoutSeconds: Math.max(1, Math.round(options.resyncPeriodMs / 1000)),
    async list(continueToken, limit) {
      const list = await core.listNamespacedConfigMap({
        namespace: options.namespace,
        fieldSelector,
        limit,
        ...(continueToken === undefined ? {} : { _continue: continueToken }),
      })
      return listPage(list)
    },
    strip,
    onReplace: (items) => apply(items.find((i) => i.name === IRSA_CONFIG_MAP_NAME)?.config),
    onUpsert: (item) => {
      if (item.name === IRSA_CONFIG_MAP_NAME) apply(item.config)
    },
    onDelete: (item) => {
      if (item.name === IRSA_CONFIG_MAP_NAME) apply(undefined)
    },
    ...(options.onError === undefined ? {} : { onError: options.onError }),
    log: options.log,
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
  })
  reflector.start()
  return { current: () => entries, reflector, close: () => reflector.stop() }
}
