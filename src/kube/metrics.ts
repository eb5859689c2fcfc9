/**
 * @module kube/metrics
 * The webhook's Prometheus metrics, on a registry of its own (served by the plain-HTTP metrics listener).
 * podtrust's names (`podtrust_webhook_*`) plus the reference webhook's where the meaning is the same, so
 * existing dashboards keep working: `pod_identity_webhook_pod_count{method}` and
 * `pod_identity_webhook_missing_sa_count`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { MutationMode } from '../mutation/types.ts'

export type AdmissionEndpoint = 'aws' | 'azure'
/** What an admission ended as: `mutated` (patch), `allowed` (no patch), `denied`, `malformed`, `error`. */
export type AdmissionOutcome = 'mutated' | 'allowed' | 'denied' | 'malformed' | 'error'
/** Why a request was malformed. */
export type MalformedReason =
  'content_type' | 'too_large' | 'empty' | 'decode' | 'no_request' | 'pod'

export interface WebhookMetrics {
  registry: Registry
  admission(endpoint: AdmissionEndpoint, outcome: AdmissionOutcome, seconds: number): void
  mutation(modes: readonly MutationMode[]): void
  malformed(endpoint: AdmissionEndpoint, reason: MalformedReason): void
  /** A ServiceAccount not in the cache; `found` tells whether the direct GET / wait found it. */
  serviceAccountMiss(found: boolean): void
  /** The reference's counter: a miss that left the pod unmutated (the AWS path). */
  missingServiceAccount(): void
  tlsReload(ok: boolean): void
  sourceError(
    source: 'serviceaccounts' | 'configmap' | 'pod-identity-file' | 'pod-identity-eks',
  ): void
  setCachedServiceAccounts(n: number): void
  setPodIdentities(n: number): void
}

/** The reference's `method` label values (pkg/handler/handler.go). */
const REFERENCE_METHOD: Partial<Record<MutationMode, string>> = {
  irsa: 'sts_web_identity',
  'pod-identity': 'container_credentials',
}

export function createWebhookMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'podtrust_webhook_' })
  const registers = [registry]
  const admissions = new Counter({
    name: 'podtrust_webhook_admissions_total',
    help: 'Admission requests answered, by endpoint (aws = /mutate, azure = /mutate-v1-pod) and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers,
  })
  const duration = new Histogram({
    name: 'podtrust_webhook_admission_duration_seconds',
    help: 'Time from request to response in seconds, by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  const mutations = new Counter({
    name: 'podtrust_webhook_mutations_total',
    help: 'Pods mutated, by identity mode (irsa, pod-identity, azure, gcp)',
    labelNames: ['mode'] as const,
    registers,
  })
  const podCount = new Counter({
    name: 'pod_identity_webhook_pod_count',
    help: 'Pods mutated, by method (reference webhook name: sts_web_identity, container_credentials)',
    labelNames: ['method'] as const,
    registers,
  })
  const malformed = new Counter({
    name: 'podtrust_webhook_malformed_requests_total',
    help: 'Requests that were not a usable AdmissionReview, by endpoint and reason',
    labelNames: ['endpoint', 'reason'] as const,
    registers,
  })
  const misses = new Counter({
    name: 'podtrust_webhook_service_account_cache_misses_total',
    help: 'ServiceAccounts not in the cache at admission, by whether the direct lookup then found them',
    labelNames: ['found'] as const,
    registers,
  })
  const missingSa = new Counter({
    name: 'pod_identity_webhook_missing_sa_count',
    help: 'ServiceAccount cache misses that left a pod unmutated (reference webhook name)',
    registers,
  })
  const tlsReloads = new Counter({
    name: 'podtrust_webhook_tls_reloads_total',
    help: 'Serving certificate reloads after a file change, by result',
    labelNames: ['result'] as const,
    registers,
  })
  const sourceErrors = new Counter({
    name: 'podtrust_webhook_source_errors_total',
    help: 'Failures reading a ServiceAccount, ConfigMap or Pod Identity source (the last good data is kept)',
    labelNames: ['source'] as const,
    registers,
  })
  const cached = new Gauge({
    name: 'podtrust_webhook_service_accounts_cached',
    help: 'ServiceAccounts in the cache',
    registers,
  })
  const identities = new Gauge({
    name: 'podtrust_webhook_pod_identity_associations',
    help: 'Pod Identity (namespace, ServiceAccount) pairs known',
    registers,
  })
  // Label children are resolved once: an admission then costs no label hashing.
  const admissionChildren = new Map<string, { inc(): void }>()
  const durationChildren = new Map<string, { observe(v: number): void }>()
  for (const endpoint of ['aws', 'azure'] as const) {
    durationChildren.set(endpoint, duration.labels({ endpoint }))
    for (const outcome of ['mutated', 'allowed', 'denied', 'malformed', 'error'] as const) {
      const child = admissions.labels({ endpoint, outcome })
      child.inc(0)
      admissionChildren.set(`${endpoint}/${outcome}`, child)
    }
  }
  const modeChildren = new Map<MutationMode, { inc(): void }[]>()
  for (const mode of ['irsa', 'pod-identity', 'azure', 'gcp'] as const) {
    const method = REFERENCE_METHOD[mode]
    modeChildren.set(mode, [
      mutations.labels({ mode }),
      ...(method === undefined ? [] : [podCount.labels({ method })]),
    ])
  }
  missingSa.inc(0)
  return {
    registry,
    admission(endpoint, outcome, seconds) {
      admissionChildren.get(`${endpoint}/${outcome}`)?.inc()
      durationChildren.get(endpoint)?.observe(seconds)
    },
    mutation(modes) {
      for (const mode of modes) {
        for (const child of modeChildren.get(mode) ?? [mutations.labels({ mode })]) child.inc()
      }
    },
    malformed: (endpoint, reason) => malformed.inc({ endpoint, reason }),
    serviceAccountMiss: (found) => misses.inc({ found: String(found) }),
    missingServiceAccount: () => missingSa.inc(),
    tlsReload: (ok) => tlsReloads.inc({ result: ok ? 'ok' : 'error' }),
    sourceError: (source) => sourceErrors.inc({ source }),
    setCachedServiceAccounts: (n) => cached.set(n),
    setPodIdentities: (n) => identities.set(n),
  }
}
