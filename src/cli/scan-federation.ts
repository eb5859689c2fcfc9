/**
 * @module cli/scan-federation
 * Fills the scan's federation port with the rules podtrust's own token exchanges run: Google's attribute mapping,
 * condition and member matching (src/gcp/federation.ts) and Entra's federated-credential match (src/azure/fic.ts).
 */
import type { FederationEvaluator } from '../analysis/federation-port.ts'
import type { GcpProvider } from '../analysis/model.ts'
import { matchFederatedCredential } from '../azure/fic.ts'
import {
  compileProvider,
  federate,
  memberMatches,
  type CompiledProvider,
} from '../gcp/federation.ts'

/** Google's documented default mapping for OIDC providers is none; `google.subject=assertion.sub` is the usual one. */
const DEFAULT_MAPPING = { 'google.subject': 'assertion.sub' }

export function federationEvaluator(): FederationEvaluator {
  const compiled = new Map<GcpProvider, CompiledProvider | { error: string }>()
  const compiledOf = (p: GcpProvider) => {
    let hit = compiled.get(p)
    if (hit === undefined) {
      try {
        hit = compileProvider(p.attributeMapping ?? DEFAULT_MAPPING, p.attributeCondition)
      } catch (err) {
        hit = { error: (err as Error).message }
      }
      compiled.set(p, hit)
    }
    return hit
  }
  return {
    gcpFederate(provider, claims) {
      const c = compiledOf(provider)
      if ('error' in c) return { ok: false, message: c.error }
      const r = federate(c, claims)
      return r.ok ? { ok: true, identity: r.identity } : { ok: false, message: r.message }
    },
    gcpMemberMatches(member, pool, identity) {
      const m = /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)$/.exec(pool)
      if (m === null) return false
      return memberMatches(member, { projectNumber: m[1]!, poolId: m[2]! }, identity)
    },
    azureAccepts(fic, assertion) {
      if (fic.issuer !== assertion.issuer) return false
      try {
        matchFederatedCredential([fic], { ...assertion, audience: [assertion.audience] })
        return true
      } catch {
        return false
      }
    },
  }
}
