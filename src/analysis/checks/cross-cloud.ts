/**
 * @module analysis/checks/cross-cloud
 * Issuer and audience checks across clusters and clouds (X-001, X-004). A token is accepted wherever a trust names
 * its issuer and one of its audiences: AWS STS checks `aud` against the OIDC provider's ClientIDList
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html), Entra against the
 * federated credential's audience, Google STS against `allowedAudiences`
 * (https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers#oidc).
 * Two clusters with the same issuer, or the same signing key, mint tokens each other's trusts accept.
 */
import { issuerKey } from './util.ts'
import { finding, type ScanContext } from '../context.ts'
import type { ScanFinding } from '../model.ts'

export function checkCrossCloud(ctx: ScanContext): ScanFinding[] {
  const out: ScanFinding[] = []
  const { side } = ctx.inputs

  // X-001: an issuer or a signing key published by more than one cluster.
  const byIssuer = new Map<string, Set<string>>()
  const addIssuer = (issuer: string, cluster: string) => {
    const key = issuerKey(issuer)
    byIssuer.set(key, (byIssuer.get(key) ?? new Set()).add(cluster))
  }
  for (const c of side.azureDirectory?.clusters ?? [])
    if (c.issuerUrl !== undefined) addIssuer(c.issuerUrl, c.name)
  const byKey = new Map<string, Set<string>>()
  for (const j of side.clusterJwks ?? []) {
    if (j.issuer !== undefined) addIssuer(j.issuer, j.cluster)
    for (const k of j.keys)
      byKey.set(k.thumbprint, (byKey.get(k.thumbprint) ?? new Set()).add(j.cluster))
  }
  for (const [issuer, clusters] of byIssuer)
    if (clusters.size > 1)
      out.push(
        finding(
          'X-001',
          'high',
          [issuer, ...clusters],
          `clusters ${[...clusters].join(', ')} share the issuer ${issuer}: a ServiceAccount token of one satisfies every trust (IRSA, federated credential, workload identity provider) written for the other's namespace/name`,
          'give every cluster its own issuer URL and signing keys',
        ),
      )
  for (const [thumbprint, clusters] of byKey)
    if (clusters.size > 1)
      out.push(
        finding(
          'X-001',
          'high',
          [`jwk:${thumbprint}`, ...clusters],
          `clusters ${[...clusters].join(', ')} publish the same signing key (RFC 7638 thumbprint ${thumbprint}): each can mint tokens the other's issuer vouches for`,
          'generate a separate service-account signing key per cluster (--service-account-signing-key-file)',
        ),
      )

  // X-004: one (issuer, audience) accepted by trusts of several clouds.
  const accepted = new Map<
    string,
    { issuer: string; audience: string; where: Map<string, string[]> }
  >()
  const accept = (issuer: string, audience: string, cloud: string, object: string) => {
    const key = `${issuerKey(issuer)}\u0000${audience}`
    let entry = accepted.get(key)
    if (entry === undefined)
      accepted.set(key, (entry = { issuer: issuerKey(issuer), audience, where: new Map() }))
    entry.where.set(cloud, [...(entry.where.get(cloud) ?? []), object])
  }
  for (const p of side.oidcProviders ?? [])
    for (const a of p.clientIds) accept(p.url, a, 'AWS', p.arn)
  for (const f of side.azure ?? [])
    for (const a of f.audiences) accept(f.issuer, a, 'Azure', `${f.identity}/${f.name}`)
  for (const p of side.gcp?.providers ?? []) {
    if (p.disabled) continue
    // Empty allowedAudiences: only the provider's own resource name, which no other cloud uses.
    for (const a of p.allowedAudiences) accept(p.issuerUri, a, 'GCP', p.name)
  }
  for (const { issuer, audience, where } of accepted.values()) {
    if (where.size < 2) continue
    const clouds = [...where.keys()]
    out.push(
      finding(
        'X-004',
        'medium',
        [audience, issuer, ...[...where.values()].flat()],
        `tokens of ${issuer} with audience ${JSON.stringify(audience)} are accepted by ${clouds.join(' and ')} (${[...where].map(([c, o]) => `${c}: ${o.join(', ')}`).join('; ')}): a token minted for one cloud can be replayed to the other`,
        'use a distinct audience per cloud (sts.amazonaws.com for AWS, api://AzureADTokenExchange for Azure, the provider resource name for Google)',
      ),
    )
  }
  return out
}
