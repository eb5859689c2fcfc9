/**
 * @module aws/eks/migrations
 * Tables of the EKS module: registered clusters and their pod identity associations. `account_id`,
 * `region` and `issuer_url` may be NULL: the cluster then follows the server's account, region and its own
 * podtrust issuer (`issuer_name`, resolved when used), so a cluster added offline follows later settings.
 */
import type { Migration } from '../../store/db.ts'

export const eksMigrations: Migration[] = [
  {
    id: 'eks-0001-clusters-and-associations',
    sql: [
      `CREATE TABLE IF NOT EXISTS eks_clusters (
        name TEXT PRIMARY KEY,
        account_id TEXT,
        region TEXT,
        issuer_url TEXT,
        issuer_name TEXT,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS eks_pod_identity_associations (
        association_id TEXT PRIMARY KEY,
        cluster_name TEXT NOT NULL,
        namespace TEXT NOT NULL,
        service_account TEXT NOT NULL,
        role_arn TEXT NOT NULL,
        target_role_arn TEXT,
        external_id TEXT,
        disable_session_tags INTEGER NOT NULL,
        policy TEXT,
        tags TEXT NOT NULL,
        owner_arn TEXT,
        client_request_token TEXT,
        created_at BIGINT NOT NULL,
        modified_at BIGINT NOT NULL,
        UNIQUE (cluster_name, namespace, service_account)
      )`,
    ],
  },
]
