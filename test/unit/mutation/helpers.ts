import assert from 'node:assert/strict'
import {
  applyJsonPatch,
  defaultWebhookConfig,
  mutate,
  type Container,
  type JsonPatchOperation,
  type MutationRequest,
  type MutationResult,
  type Pod,
  type ServiceAccount,
  type WebhookConfig,
} from '../../../src/mutation/index.ts'

export const ROLE = 'arn:aws:iam::111122223333:role/s3-reader'
export const TOKEN_FILE = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'

export function pod(
  spec: Partial<NonNullable<Pod['spec']>> = {},
  metadata: Pod['metadata'] = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', ...metadata },
    spec: { serviceAccountName: 'sa', containers: [{ name: 'app', image: 'img' }], ...spec },
  }
}

export function serviceAccount(
  annotations: Record<string, string> = {},
  name = 'sa',
): ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: 'ns', annotations },
  }
}

export interface RequestOptions {
  endpoint?: 'aws' | 'azure'
  pod?: Pod
  sa?: ServiceAccount | undefined
  saAnnotations?: Record<string, string>
  podIdentity?: boolean
  irsaConfigMap?: MutationRequest['irsaConfigMap']
  config?: (config: WebhookConfig) => void
  random?: () => number
}

export function request(options: RequestOptions = {}): MutationRequest {
  const config = defaultWebhookConfig()
  options.config?.(config)
  return {
    endpoint: options.endpoint ?? 'aws',
    pod: options.pod ?? pod(),
    namespace: 'ns',
    serviceAccount:
      'sa' in options
        ? options.sa
        : serviceAccount(options.saAnnotations ?? { 'eks.amazonaws.com/role-arn': ROLE }),
    podIdentity: options.podIdentity ?? false,
    ...(options.irsaConfigMap === undefined ? {} : { irsaConfigMap: options.irsaConfigMap }),
    config,
    random: options.random ?? (() => 0),
  }
}

export function run(options: RequestOptions = {}): MutationResult {
  return mutate(request(options))
}

export function patchOf(result: MutationResult): JsonPatchOperation[] {
  assert.equal(
    result.kind,
    'patch',
    result.kind === 'allow' ? result.reason : result.kind === 'deny' ? result.message : '',
  )
  return (result as Extract<MutationResult, { kind: 'patch' }>).patch
}

/** The pod after the webhook's patch. */
export function mutated(options: RequestOptions = {}): Pod {
  const req = request(options)
  return applyJsonPatch(req.pod, patchOf(mutate(req)))
}

/** Admits, applies, re-admits the result and applies again: the second round must change nothing. */
export function assertIdempotent(options: RequestOptions = {}): Pod {
  const req = request(options)
  const first = mutate(req)
  const once = first.kind === 'patch' ? applyJsonPatch(req.pod, first.patch) : req.pod
  const second = mutate({ ...req, pod: once })
  const twice = second.kind === 'patch' ? applyJsonPatch(once, second.patch) : once
  assert.deepEqual(twice, once, 're-admitting the mutated pod changed it')
  return once
}

export function container(p: Pod, index = 0, init = false): Container {
  const list = init ? p.spec?.initContainers : p.spec?.containers
  const c = list?.[index]
  assert.ok(c !== undefined, `no ${init ? 'init ' : ''}container ${index}`)
  return c
}

export function envNames(c: Container): string[] {
  return (c.env ?? []).map((e) => e.name)
}

export function env(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value
}

export function ops(patch: JsonPatchOperation[]): string[] {
  return patch.map((o) => `${o.op} ${o.path}`)
}
