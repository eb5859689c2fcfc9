/**
 * @module analysis/federation-port
 * The scan's questions to Azure's and Google's federation rules, behind a port the adapter fills with podtrust's
 * own implementations (src/azure/fic.ts, src/gcp/federation.ts: the code the token exchanges run), since the
 * domain does not import protocol adapters. Checks ask it with probe tokens, as the IRSA checks ask the IAM
 * engine: reachability by evaluation, not by reading patterns.
 */
import type { AzureFederatedCredential, GcpProvider } from './model.ts'

export interface GcpFederatedIdentity {
  subject: string
  groups: string[]
  attributes: Record<string, string[]>
}

export type GcpFederationAnswer =
  { ok: true; identity: GcpFederatedIdentity } | { ok: false; message: string }

export interface FederationEvaluator {
  /**
   * Google STS's decision on a token's claims for this provider: attribute mapping, then attributeCondition
   * (https://cloud.google.com/iam/docs/workload-identity-federation#mapping, #conditions). A provider whose
   * mapping or condition does not compile answers `ok: false` with the compiler's message.
   */
  gcpFederate(provider: GcpProvider, claims: Record<string, unknown>): GcpFederationAnswer
  /** Whether IAM member `member` (`principal://…`, `principalSet://…`) includes the identity of `pool`. */
  gcpMemberMatches(member: string, pool: string, identity: GcpFederatedIdentity): boolean
  /** Whether Entra accepts the assertion for this credential (issuer, subject or expression, audience). */
  azureAccepts(
    fic: AzureFederatedCredential,
    assertion: {
      issuer: string
      subject: string
      audience: string
      claims: Record<string, unknown>
    },
  ): boolean
}

/** `projects/N/locations/global/workloadIdentityPools/P` of a provider's resource name. */
export function poolOf(providerName: string): string {
  const i = providerName.indexOf('/providers/')
  return i < 0 ? providerName : providerName.slice(0, i)
}
