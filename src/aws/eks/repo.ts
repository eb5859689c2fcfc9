/**
 * @module aws/eks/repo
 * Persistence of clusters and pod identity associations over the portable `Queryable` (SQLite / PostgreSQL).
 * Times are epoch milliseconds; tags are JSON text.
 */
import type { Queryable } from '../../store/db.ts'

export interface ClusterRow {
  name: string
  /** undefined: the server's account id. */
  accountId: string | undefined
  /** undefined: the server's region. */
  region: string | undefined
  /** An external issuer URL (a real cluster's); undefined when the cluster uses its podtrust issuer. */
  issuerUrl: string | undefined
  /** The podtrust issuer name (`cluster:NAME`) when `issuerUrl` is undefined. */
  issuerName: string | undefined
  tags: Record<string, string>
  createdAt: Date
}

export interface AssociationRow {
  associationId: string
  clusterName: string
  namespace: string
  serviceAccount: string
  roleArn: string
  targetRoleArn: string | undefined
  externalId: string | undefined
  disableSessionTags: boolean
  policy: string | undefined
  tags: Record<string, string>
  ownerArn: string | undefined
  clientRequestToken: string | undefined
  createdAt: Date
  modifiedAt: Date
}

interface ClusterDbRow {
  name: string
  account_id: string | null
  region: string | null
  issuer_url: string | null
  issuer_name: string | null
  tags: string
  created_at: number | string | bigint
}

interface AssociationDbRow {
  association_id: string
  cluster_name: string
  namespace: string
  service_account: string
  role_arn: string
  target_role_arn: string | null
  external_id: string | null
  disable_session_tags: number | string | bigint | boolean
  policy: string | null
  tags: string
  owner_arn: string | null
  client_request_token: string | null
  created_at: number | string | bigint
  modified_at: number | string | bigint
}

const orUndef = <T>(v: T | null): T | undefined => (v === null ? undefined : v)

function parseTags(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown
    return typeof v === 'object' && v !== null ? (v as Record<string, string>) : {}
  } catch {
    return {}
  }
}

function toCluster(r: ClusterDbRow): ClusterRow {
  return {
    name: r.name,
    accountId: orUndef(r.account_id),
    region: orUndef(r.region),
    issuerUrl: orUndef(r.issuer_url),
    issuerName: orUndef(r.issuer_name),
    tags: parseTags(r.tags),
    createdAt: new Date(Number(r.created_at)),
  }
}

function toAssociation(r: AssociationDbRow): AssociationRow {
  return {
    associationId: r.association_id,
    clusterName: r.cluster_name,
    namespace: r.namespace,
    serviceAccount: r.service_account,
    roleArn: r.role_arn,
    targetRoleArn: orUndef(r.target_role_arn),
    externalId: orUndef(r.external_id),
    // PostgreSQL may hand INTEGER back as a string, SQLite as a number.
    disableSessionTags: Number(r.disable_session_tags) === 1 || r.disable_session_tags === true,
    policy: orUndef(r.policy),
    tags: parseTags(r.tags),
    ownerArn: orUndef(r.owner_arn),
    clientRequestToken: orUndef(r.client_request_token),
    createdAt: new Date(Number(r.created_at)),
    modifiedAt: new Date(Number(r.modified_at)),
  }
}

const ASSOCIATION_COLUMNS =
  'association_id, cluster_name, namespace, service_account, role_arn, target_role_arn, external_id, disable_session_tags, policy, tags, owner_arn, client_request_token, created_at, modified_at'

export interface EksRepo {
  getCluster(name: string): Promise<ClusterRow | undefined>
  listClusters(): Promise<ClusterRow[]>
  /** Inserts or replaces the cluster (config apply and `cluster add` are idempotent). */
  putCluster(cluster: ClusterRow): Promise<void>
  deleteCluster(name: string): Promise<boolean>
  getAssociation(clusterName: string, associationId: string): Promise<AssociationRow | undefined>
  findAssociation(
    clusterName: string,
    namespace: string,
    serviceAccount: string,
  ): Promise<AssociationRow | undefined>
  /** Ordered by association id, for stable pagination. */
  listAssociations(
    clusterName: string,
    filter: { namespace?: string; serviceAccount?: string },
  ): Promise<AssociationRow[]>
  countAssociations(clusterName: string): Promise<number>
  insertAssociation(a: AssociationRow): Promise<void>
  updateAssociation(a: AssociationRow): Promise<void>
  deleteAssociation(clusterName: string, associationId: string): Promise<boolean>
}

export function createEksRepo(db: Queryable): EksRepo {
  return {
    async getCluster(name) {
      const r = await db.get<ClusterDbRow>('SELECT * FROM eks_clusters WHERE name = ?', [name])
      return r === undefined ? undefined : toCluster(r)
    },
    async listClusters() {
      const rows = await db.all<ClusterDbRow>('SELECT * FROM eks_clusters ORDER BY name')
      return rows.map(toCluster)
    },
    async putCluster(c) {
      await db.run(
        `INSERT INTO eks_clusters (name, account_id, region, issuer_url, issuer_name, tags, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET account_id = excluded.account_id, region = excluded.region,
           issuer_url = excluded.issuer_url, issuer_name = excluded.issuer_name, tags = excluded.tags`,
        [
          c.name,
          c.accountId ?? null,
          c.region ?? null,
          c.issuerUrl ?? null,
          c.issuerName ?? null,
          JSON.stringify(c.tags),
          c.createdAt.getTime(),
        ],
      )
    },
    async deleteCluster(name) {
      await db.run('DELETE FROM eks_pod_identity_associations WHERE cluster_name = ?', [name])
      const r = await db.run('DELETE FROM eks_clusters WHERE name = ?', [name])
      return r.changes > 0
    },
    async getAssociation(clusterName, associationId) {
      const r = await db.get<AssociationDbRow>(
        `SELECT ${ASSOCIATION_COLUMNS} FROM eks_pod_identity_associations WHERE cluster_name = ? AND association_id = ?`,
        [clusterName, associationId],
      )
      return r === undefined ? undefined : toAssociation(r)
    },
    async findAssociation(clusterName, namespace, serviceAccount) {
      const r = await db.get<AssociationDbRow>(
        `SELECT ${ASSOCIATION_COLUMNS} FROM eks_pod_identity_associations
         WHERE cluster_name = ? AND namespace = ? AND service_account = ?`,
        [clusterName, namespace, serviceAccount],
      )
      return r === undefined ? undefined : toAssociation(r)
    },
    async listAssociations(clusterName, filter) {
      const where = ['cluster_name = ?']
      const params: string[] = [clusterName]
      if (filter.namespace !== undefined) {
        where.push('namespace = ?')
        params.push(filter.namespace)
      }
      if (filter.serviceAccount !== undefined) {
        where.push('service_account = ?')
        params.push(filter.serviceAccount)
      }
      const rows = await db.all<AssociationDbRow>(
        `SELECT ${ASSOCIATION_COLUMNS} FROM eks_pod_identity_associations WHERE ${where.join(' AND ')} ORDER BY association_id`,
        params,
      )
      return rows.map(toAssociation)
    },
    async countAssociations(clusterName) {
      const r = await db.get<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM eks_pod_identity_associations WHERE cluster_name = ?',
        [clusterName],
      )
      return Number(r?.n ?? 0)
    },
    async insertAssociation(a) {
      await db.run(
        `INSERT INTO eks_pod_identity_associations (${ASSOCIATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        associationParams(a),
      )
    },
    async updateAssociation(a) {
      await db.run(
        `UPDATE eks_pod_identity_associations SET role_arn = ?, target_role_arn = ?, external_id = ?,
           disable_session_tags = ?, policy = ?, tags = ?, modified_at = ?
         WHERE cluster_name = ? AND association_id = ?`,
        [
          a.roleArn,
          a.targetRoleArn ?? null,
          a.externalId ?? null,
          a.disableSessionTags ? 1 : 0,
          a.policy ?? null,
          JSON.stringify(a.tags),
          a.modifiedAt.getTime(),
          a.clusterName,
          a.associationId,
        ],
      )
    },
    async deleteAssociation(clusterName, associationId) {
      const r = await db.run(
        'DELETE FROM eks_pod_identity_associations WHERE cluster_name = ? AND association_id = ?',
        [clusterName, associationId],
      )
      return r.changes > 0
    },
  }
}

function associationParams(a: AssociationRow): (string | number | null)[] {
  return [
    a.associationId,
    a.clusterName,
    a.namespace,
    a.serviceAccount,
    a.roleArn,
    a.targetRoleArn ?? null,
    a.externalId ?? null,
    a.disableSessionTags ? 1 : 0,
    a.policy ?? null,
    JSON.stringify(a.tags),
    a.ownerArn ?? null,
    a.clientRequestToken ?? null,
    a.createdAt.getTime(),
    a.modifiedAt.getTime(),
  ]
}
