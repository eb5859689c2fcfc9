/**
 * @module kube/admission-handler
 * One admission, as named steps (read in order, they are the spec):
 *   checkContentType → decodeReview → resolveServiceAccount (cache, then the grace-period lookup) →
 *   resolvePodIdentity → mutatePod (the pure mutation) → renderResponse.
 * Each endpoint follows its reference: `aws` (/mutate) fail-open — an unknown ServiceAccount admits the pod
 * unmutated; `azure` (/mutate-v1-pod) fail-closed — the mutation denies with HTTP-style code 400. An
 * exception anywhere is HTTP 500, so the API server applies the registration's failurePolicy; the process
 * never dies of a request. Logs name the pod and the outcome, never env values, patches or tokens.
 */
import type {
  IrsaConfigMapEntry,
  MutationRequest,
  MutationResult,
  ServiceAccount,
  WebhookConfig,
} from '../mutation/types.ts'
import {
  type AdmissionRequestView,
  type HttpAnswer,
  decodeAdmissionReview,
  goHttpError,
  responseTypeMeta,
  reviewAnswer,
} from './admission.ts'
import { errorText, type WebhookLogger } from './log.ts'
import type { AdmissionEndpoint, WebhookMetrics } from './metrics.ts'
import type { PodIdentitySource } from './pod-identity.ts'
import type { ServiceAccountSource } from './service-accounts.ts'

export interface AdmissionDeps {
  config: WebhookConfig
  mutate: (request: MutationRequest) => MutationResult
  serviceAccounts: ServiceAccountSource
  podIdentity: PodIdentitySource
  /** The reference ConfigMap's entries, when that source is on. */
  irsaConfigMap?: () => Readonly<Record<string, IrsaConfigMapEntry>> | undefined
  /** How long a cache miss may wait for the ServiceAccount (`--service-account-lookup-grace-period`). */
  gracePeriodMs: number
  metrics: WebhookMetrics
  log: WebhookLogger
  /** Uniform in [0, 1): Pod Identity expiration jitter. */
  random: () => number
}

/** The Azure reference always reads a missing ServiceAccount from the API server directly (API reader). */
const AZURE_MIN_LOOKUP_MS = 1000

type Step<I, O> = (input: I) => O

/** checkContentType: the AWS reference answers 415; controller-runtime answers a 400 review. */
const checkContentType = (endpoint: AdmissionEndpoint, contentType: string | undefined) =>
  contentType === 'application/json'
    ? undefined
    : endpoint === 'aws'
      ? goHttpError(415, 'Invalid Content-Type, expected `application/json`')
      : reviewAnswer(responseTypeMeta('azure', {}), {
          uid: '',
          allowed: false,
          status: {
            message: `contentType=${contentType ?? ''}, expected application/json`,
            code: 400,
          },
        })

const secondsSince = (started: number) => (performance.now() - started) / 1000

/** The pod's display name: its name, or `generateName (prefix)` as the Azure webhook logs it. */
function podName(request: AdmissionRequestView): string {
  const meta = request.pod.metadata
  if (meta?.name !== undefined && meta.name !== '') return meta.name
  return meta?.generateName === undefined ? '' : `${meta.generateName} (prefix)`
}

export function createAdmissionHandler(deps: AdmissionDeps) {
  const { metrics, log } = deps
  // The per-admission line is written after the answer has gone out: logging is not on the path the API
  // server waits on.
  const logLater = (event: string, fields: Record<string, unknown>) =>
    setImmediate(() => log.info(event, fields))

  type Resolved = { serviceAccount: ServiceAccount | undefined; missed: boolean }
  const missServiceAccount = async (
    endpoint: AdmissionEndpoint,
    namespace: string,
    name: string,
  ): Promise<Resolved> => {
    const waitMs =
      endpoint === 'azure' ? Math.max(deps.gracePeriodMs, AZURE_MIN_LOOKUP_MS) : deps.gracePeriodMs
    const serviceAccount =
      waitMs > 0 ? await deps.serviceAccounts.lookup(namespace, name, waitMs) : undefined
    metrics.serviceAccountMiss(serviceAccount !== undefined)
    log.info('serviceaccount.cache_miss', {
      namespace,
      serviceAccount: name,
      found: serviceAccount !== undefined,
      waitedUpToMs: waitMs,
    })
    return { serviceAccount, missed: true }
  }
  // Cache hits (the common case) stay synchronous: no promise, no microtask per admission.
  const resolveServiceAccount: Step<
    { endpoint: AdmissionEndpoint; namespace: string; name: string },
    Resolved | Promise<Resolved>
  > = ({ endpoint, namespace, name }) => {
    const cached = deps.serviceAccounts.get(namespace, name)
    if (cached !== undefined) return { serviceAccount: cached, missed: false }
    return missServiceAccount(endpoint, namespace, name)
  }

  const resolvePodIdentity: Step<
    { namespace: string; name: string; missed: boolean },
    boolean | Promise<boolean>
  > = ({ namespace, name, missed }) => {
    if (deps.podIdentity.has(namespace, name)) return true
    // A ServiceAccount the cache had not seen is new; its association may be new too.
    if (missed && deps.podIdentity.refresh !== undefined && deps.gracePeriodMs > 0) {
      return deps.podIdentity.refresh(namespace, name, deps.gracePeriodMs)
    }
    return false
  }

  /** Runs the steps for one request body; never throws. */
  return async function handle(
    endpoint: AdmissionEndpoint,
    contentType: string | undefined,
    body: Buffer,
  ): Promise<HttpAnswer> {
    const started = performance.now()
    const badType = checkContentType(endpoint, contentType)
    if (badType !== undefined) {
      metrics.malformed(endpoint, 'content_type')
      metrics.admission(endpoint, 'malformed', secondsSince(started))
      log.warn('admission.malformed', { endpoint, reason: 'content_type', contentType })
      return badType
    }
    const decoded = decodeAdmissionReview(body, endpoint)
    if (!decoded.ok) {
      metrics.malformed(endpoint, decoded.reason)
      metrics.admission(endpoint, 'malformed', secondsSince(started))
      log.warn('admission.malformed', {
        endpoint,
        reason: decoded.reason,
        uid: decoded.uid,
        message: decoded.message,
      })
      return reviewAnswer(responseTypeMeta(endpoint, decoded.typeMeta), {
        uid: decoded.uid,
        allowed: false,
        status: { message: decoded.message, ...(endpoint === 'azure' ? { code: 400 } : {}) },
      })
    }
    const { request, typeMeta } = decoded
    const namespace = request.namespace
    const saName = request.pod.spec?.serviceAccountName || 'default'
    const logFields = {
      endpoint,
      uid: request.uid,
      namespace,
      pod: podName(request),
      serviceAccount: saName,
      ...(request.dryRun ? { dryRun: true } : {}),
    }
    try {
      const resolving = resolveServiceAccount({ endpoint, namespace, name: saName })
      const { serviceAccount, missed } = resolving instanceof Promise ? await resolving : resolving
      let podIdentity = false
      if (endpoint === 'aws') {
        const pi = resolvePodIdentity({ namespace, name: saName, missed })
        podIdentity = pi instanceof Promise ? await pi : pi
      }
      const result = deps.mutate({
        endpoint,
        pod: request.pod,
        namespace,
        serviceAccount,
        podIdentity,
        ...(deps.irsaConfigMap === undefined ? {} : { irsaConfigMap: deps.irsaConfigMap() ?? {} }),
        config: deps.config,
        random: deps.random,
      })
      const meta = responseTypeMeta(endpoint, typeMeta)
      const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {}
      // controller-runtime: Allowed() carries status code 200, PatchResponseFromRaw() no status.
      const ok = endpoint === 'azure' ? { status: { code: 200 } } : {}
      if (result.kind === 'patch') {
        metrics.mutation(result.modes)
        metrics.admission(endpoint, 'mutated', secondsSince(started))
        logLater('pod.mutated', { ...logFields, modes: result.modes, warnings: result.warnings })
        return reviewAnswer(meta, {
          uid: request.uid,
          allowed: true,
          patch: result.patch,
          ...warnings,
        })
      }
      if (result.kind === 'allow') {
        if (serviceAccount === undefined && endpoint === 'aws' && !podIdentity) {
          metrics.missingServiceAccount()
        }
        metrics.admission(endpoint, 'allowed', secondsSince(started))
        logLater('pod.admitted', { ...logFields, reason: result.reason, warnings: result.warnings })
        return reviewAnswer(meta, { uid: request.uid, allowed: true, ...ok, ...warnings })
      }
      metrics.admission(endpoint, 'denied', secondsSince(started))
      logLater('pod.denied', { ...logFields, message: result.message })
      return reviewAnswer(meta, {
        uid: request.uid,
        allowed: false,
        status: { message: result.message, code: 400 },
        ...warnings,
      })
    } catch (err) {
      metrics.admission(endpoint, 'error', secondsSince(started))
      log.error('admission.failed', { ...logFields, error: errorText(err) })
      return goHttpError(500, 'internal error')
    }
  }
}

export type AdmissionHandler = ReturnType<typeof createAdmissionHandler>
