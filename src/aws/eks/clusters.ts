/**
 * @module aws/eks/clusters
 * A registered cluster as EKS describes it: account and region default to the server's, and the OIDC issuer
 * is either a real cluster's URL or the cluster's own podtrust issuer (`cluster:NAME`), resolved on use.
 */
import { clusterArn } from './ids.ts'
import type { ClusterRow } from './repo.ts'

export interface ClusterView {
  name: string
  arn: string
  accountId: string
  region: string
  issuerUrl: string
  /** The podtrust issuer name when the cluster uses one (its tokens are minted with `token --cluster`). */
  issuerName: string | undefined
  tags: Record<string, string>
  createdAt: Date
}

/** podtrust issuer name → its URL (`ensureIssuer(db, name).url`; creates it on first use). */
export type IssuerResolver = (issuerName: string) => Promise<string>

export interface ClusterDefaults {
  accountId: string
  region: string
}

/** The podtrust issuer a cluster gets unless `--issuer` names a real one. */
export function clusterIssuerName(clusterName: string): string {
  return `cluster:${clusterName}`
}

export async function resolveCluster(
  row: ClusterRow,
  defaults: ClusterDefaults,
  resolveIssuer: IssuerResolver,
): Promise<ClusterView> {
  const accountId = row.accountId ?? defaults.accountId
  const region = row.region ?? defaults.region
  const issuerName =
    row.issuerUrl === undefined ? (row.issuerName ?? clusterIssuerName(row.name)) : undefined
  const issuerUrl =
    row.issuerUrl ?? (await resolveIssuer(issuerName ?? clusterIssuerName(row.name)))
  return {
    name: row.name,
    arn: clusterArn(region, accountId, row.name),
    accountId,
    region,
    issuerUrl,
    issuerName,
    tags: row.tags,
    createdAt: row.createdAt,
  }
}
