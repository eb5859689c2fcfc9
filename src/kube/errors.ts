/**
 * @module kube/errors
 * The webhook server's failures, with stable codes. Flag problems are `UsageError`s (src/errors.ts); these
 * are the problems found while starting or running: TLS material, ServiceAccount and identity sources.
 */
import { PodtrustError } from '../errors.ts'

export type WebhookErrorCode =
  /** The serving certificate or key cannot be read or does not form a valid pair. */
  | 'TLS_INVALID'
  /** A ServiceAccount file, Pod Identity file or ConfigMap holds something that cannot be used. */
  | 'SOURCE_INVALID'
  /** The Kubernetes client configuration (kubeconfig, in-cluster) cannot be loaded. */
  | 'KUBE_CONFIG_INVALID'
  /** The Kubernetes API or podtrust's EKS API answered with an error. */
  | 'UPSTREAM_FAILED'
  /** A listener could not bind its port. */
  | 'LISTEN_FAILED'

export class WebhookError extends PodtrustError<WebhookErrorCode> {}
