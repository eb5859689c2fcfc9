/**
 * @module setup/store
 * A self-hosted cluster's record: what `cluster setup` wrote, the public keys of its JWKS with their roles,
 * and where the rotation stands. Private keys never enter the store: they live in the output folder (0600)
 * and on the control-plane node.
 */
import type { Queryable } from '../store/db.ts'
import { SetupError } from './errors.ts'
import type { Distro } from './flags.ts'
import type { PublicJwk } from './keys.ts'

export type KeyRole = 'current' | 'next' | 'previous'
export type RotationPhase = 'steady' | 'next-added' | 'next-published' | 'switched'

export interface ClusterKey {
  role: KeyRole
  jwk: PublicJwk
  publicPem: string
  addedAt: string
}

export interface SetupState {
  keys: ClusterKey[]
  phase: RotationPhase
  audiences: string[]
  previousIssuers: string[]
  maxTokenLifetimeSeconds: number
  /** When the signing key last switched: retirement waits for the longest token lifetime after it. */
  switchedAt?: string
  /** When the JWKS was last published, and whether that copy held the next key. */
  publishedAt?: string
}

export interface SetupCluster {
  name: string
  issuerUrl: string
  distro: Distro
  outDir: string
  state: SetupState
  publishedTo: string | undefined
}

interface Row {
  name: string
  issuer_url: string
  distro: string
  out_dir: string
  state: string
  published_to: string | null
}

export async function getSetupCluster(
  db: Queryable,
  name: string,
): Promise<SetupCluster | undefined> {
  const row = await db.get<Row>('SELECT * FROM setup_clusters WHERE name = ?', [name])
  if (row === undefined) return undefined
  return {
    name: row.name,
    issuerUrl: row.issuer_url,
    distro: row.distro as Distro,
    outDir: row.out_dir,
    state: JSON.parse(row.state) as SetupState,
    publishedTo: row.published_to ?? undefined,
  }
}

export async function requireSetupCluster(db: Queryable, name: string): Promise<SetupCluster> {
  const c = await getSetupCluster(db, name)
  if (c === undefined) {
    throw new SetupError(
      'SETUP_NOT_FOUND',
      `cluster '${name}' was not set up with 'podtrust cluster setup'`,
      {
        hint: `run: podtrust cluster setup ${name} --distro … --issuer-url https://… --out DIR`,
      },
    )
  }
  return c
}

export async function saveSetupCluster(db: Queryable, c: SetupCluster, now: Date): Promise<void> {
  await db.run(
    `INSERT INTO setup_clusters (name, issuer_url, distro, out_dir, state, published_to, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET issuer_url = excluded.issuer_url, distro = excluded.distro,
       out_dir = excluded.out_dir, state = excluded.state, published_to = excluded.published_to,
       updated_at = excluded.updated_at`,
    [
      c.name,
      c.issuerUrl,
      c.distro,
      c.outDir,
      JSON.stringify(c.state),
      c.publishedTo ?? null,
      now.getTime(),
      now.getTime(),
    ],
  )
}

/** The keys relying parties must see: every key in the set (current, next, previous). */
export function publishedJwks(state: SetupState): PublicJwk[] {
  const order: Record<KeyRole, number> = { current: 0, next: 1, previous: 2 }
  return [...state.keys].sort((a, b) => order[a.role] - order[b.role]).map((k) => k.jwk)
}

/** Forgets a self-hosted cluster's record (its files in the output folder stay). */
export async function deleteSetupCluster(db: Queryable, name: string): Promise<boolean> {
  return (await db.run('DELETE FROM setup_clusters WHERE name = ?', [name])).changes > 0
}
