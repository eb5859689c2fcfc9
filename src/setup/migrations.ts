import type { Migration } from '../store/db.ts'

/** Self-hosted clusters set up by `podtrust cluster setup`: issuer, output folder, key set and rotation state. */
export const setupMigrations: Migration[] = [
  {
    id: 'setup-0001-selfhosted-clusters',
    sql: [
      `CREATE TABLE setup_clusters (
        name TEXT PRIMARY KEY,
        issuer_url TEXT NOT NULL,
        distro TEXT NOT NULL,
        out_dir TEXT NOT NULL,
        state TEXT NOT NULL,
        published_to TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
]
