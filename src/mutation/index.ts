/**
 * @module mutation
 * The pure pod mutation behind podtrust's admission webhook: pod + ServiceAccount + config → JSON Patch,
 * drop-in compatible with aws/amazon-eks-pod-identity-webhook (`/mutate`: IRSA, Pod Identity, plus
 * podtrust's GCP wiring) and Azure/azure-workload-identity v1.6.0 (`/mutate-v1-pod`). No I/O, no clock;
 * the Pod Identity jitter's random source is injected. See docs/webhook.md.
 */
import { mutateAwsEndpoint } from './mutate-aws.ts'
import { mutateAzureEndpoint } from './azure.ts'
import { podShapeError } from './pod.ts'
import type { MutationRequest, MutationResult } from './types.ts'
import { Warnings } from './warnings.ts'

export * from './constants.ts'
export { azureAuthorityHost, defaultWebhookConfig } from './config.ts'
export { applyJsonPatch, diffJson, JsonPatchError, type JsonPatchErrorCode } from './json-patch.ts'
export { azureVolumeName } from './azure.ts'
export { isDnsSubdomain } from './gcp.ts'
export type * from './types.ts'

/**
 * Decides what the webhook does to one pod. Never throws: bad input gives `deny` (a field of the wrong
 * type, as the reference's Go decoding, or any Azure failure: fail-closed) or `allow` with a reason
 * (nothing to inject; an unexpected error on the fail-open AWS path).
 *
 * - `endpoint: 'aws'` (`/mutate`): IRSA or Pod Identity and GCP, combined in one patch of the reference's
 *   shape; no identity → `allow`.
 * - `endpoint: 'azure'` (`/mutate-v1-pod`): label-gated; missing ServiceAccount or a bad token expiration →
 *   `deny` with the reference's message; the patch is a diff (empty when the pod is already mutated).
 *
 * @example
 * const result = mutate({
 *   endpoint: 'aws', pod, namespace: 'default', serviceAccount, podIdentity: false,
 *   config: defaultWebhookConfig(), random: Math.random,
 * })
 * if (result.kind === 'patch') response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64')
 */
export function mutate(request: MutationRequest): MutationResult {
  const warnings = new Warnings()
  const azure = request?.endpoint === 'azure'
  try {
    if (request?.endpoint !== 'aws' && !azure) {
      return {
        kind: 'allow',
        reason: `unknown endpoint ${JSON.stringify(String(request?.endpoint))}`,
        warnings: [],
      }
    }
    const shape = podShapeError(request.pod)
    if (shape !== undefined) {
      // The references decode into Go structs and deny what does not fit (AWS: the unmarshal error;
      // Azure: controller-runtime's decoder message).
      const message = azure
        ? `couldn't get version/kind; json parse error: ${shape}`
        : `cannot decode pod: ${shape}`
      return { kind: 'deny', message, warnings: warnings.list }
    }
    return azure ? mutateAzureEndpoint(request, warnings) : mutateAwsEndpoint(request, warnings)
  } catch (error) {
    // INVARIANT: unreachable for any decoded pod; a bug must neither crash the server nor block pods on the
    // fail-open path, and must not let a pod through unmutated on the fail-closed one.
    const reason =
      `internal mutation error: ${error instanceof Error ? error.message : String(error)}`.slice(
        0,
        256,
      )
    return azure
      ? { kind: 'deny', message: reason, warnings: warnings.list }
      : { kind: 'allow', reason, warnings: warnings.list }
  }
}
