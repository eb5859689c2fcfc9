/**
 * Helpers shared by the webhook's unit tests: a logger that records (and lets tests check no secret was
 * logged), AdmissionReview bodies, response decoding, polling.
 */
import type { JsonPatchOperation, Pod, ServiceAccount } from '../../../src/mutation/types.ts'
import type { WebhookLogger } from '../../../src/kube/log.ts'
import {
  ServiceAccountCache,
  type ServiceAccountSource,
} from '../../../src/kube/service-accounts.ts'

export interface RecordedLog {
  level: 'info' | 'warn' | 'error'
  event: string
  fields: Record<string, unknown>
}

export function recordingLogger(): WebhookLogger & { lines: RecordedLog[]; text(): string } {
  const lines: RecordedLog[] = []
  const add =
    (level: RecordedLog['level']) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, event, fields })
  return {
    lines,
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
  }
}

export function review(
  pod: Pod,
  options: {
    uid?: string
    namespace?: string
    apiVersion?: string | null
    kind?: string | null
  } = {},
): Buffer {
  const apiVersion = options.apiVersion === undefined ? 'admission.k8s.io/v1' : options.apiVersion
  const kind = options.kind === undefined ? 'AdmissionReview' : options.kind
  return Buffer.from(
    JSON.stringify({
      ...(kind === null ? {} : { kind }),
      ...(apiVersion === null ? {} : { apiVersion }),
      request: {
        uid: options.uid ?? 'b1c2d3e4-0000-4000-8000-000000000001',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        namespace: options.namespace ?? pod.metadata?.namespace ?? 'default',
        operation: 'CREATE',
        userInfo: {
          username: 'system:serviceaccount:kube-system:replicaset-controller',
          groups: ['system:serviceaccounts'],
        },
        object: pod,
        oldObject: null,
        dryRun: false,
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    }),
  )
}

export interface DecodedResponse {
  kind?: string
  apiVersion?: string
  response: {
    uid: string
    allowed: boolean
    status?: { metadata: object; message?: string; code?: number }
    patch?: string
    patchType?: string
    warnings?: string[]
  }
}

export function decodeResponse(body: string): DecodedResponse & { ops: JsonPatchOperation[] } {
  const parsed = JSON.parse(body) as DecodedResponse
  const ops =
    parsed.response.patch === undefined
      ? []
      : (JSON.parse(
          Buffer.from(parsed.response.patch, 'base64').toString('utf8'),
        ) as JsonPatchOperation[])
  return { ...parsed, ops }
}

export function pod(namespace: string, serviceAccountName: string, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${serviceAccountName}-7d9f8b6c5-x2x4q`,
      namespace,
      ...(extra.metadata ?? {}),
    },
    spec: {
      serviceAccountName,
      containers: [{ name: 'app', image: 'public.ecr.aws/amazonlinux/amazonlinux:2023' }],
      ...(extra.spec ?? {}),
    },
  }
}

export function envOf(ops: JsonPatchOperation[], name = 'app'): Record<string, string> {
  const containers = ops.find((o) => o.path === '/spec/containers')?.value as
    { name: string; env?: { name: string; value?: string }[] }[] | undefined
  const c = containers?.find((x) => x.name === name)
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? '']))
}

export async function until(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A ServiceAccount source over the real cache, filled by the test. */
export function memoryServiceAccounts(
  items: ServiceAccount[] = [],
): ServiceAccountSource & { cache: ServiceAccountCache } {
  const cache = new ServiceAccountCache()
  cache.replace(items)
  return {
    cache,
    get: (ns, name) => cache.get(ns, name),
    lookup: (ns, name, waitMs) => cache.waitFor(ns, name, waitMs),
    size: () => cache.size,
    synced: () => true,
    close: () => Promise.resolve(),
  }
}

export function serviceAccount(
  namespace: string,
  name: string,
  annotations: Record<string, string> = {},
  labels?: Record<string, string>,
): ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, annotations, ...(labels === undefined ? {} : { labels }) },
  }
}
