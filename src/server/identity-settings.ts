/**
 * @module server/identity-settings
 * The deployment's identity settings — the default issuer's URL and the administrator's account — live in
 * the store, shared by every replica. A replica's start never changes them silently:
 *
 * - an explicit `--issuer-url` that differs from an explicitly set stored URL refuses to start
 *   (SERVER_SETTINGS_CONFLICT), naming the stored value and `podtrust issuer set-url`; without the flag the
 *   stored URL is used as it is;
 * - an automatic URL (`https://127.0.0.1:PORT`, what a flag-less local start stores) follows the local TLS
 *   port only on the embedded single-node store (SQLite), and says so loudly; on PostgreSQL (replicas) it is
 *   never rewritten by a start;
 * - `--account-id` naming an account without the bootstrap administrator, on a store that has one elsewhere,
 *   refuses to start instead of creating a second non-expiring administrator; without the flag the stored
 *   administrator's account is the default account.
 */
import { BOOTSTRAP_ADMIN_USER } from '../aws/iam/bootstrap.ts'
import { createIamRepo } from '../aws/iam/repo.ts'
import { PodtrustError } from '../errors.ts'
import type { Db } from '../store/db.ts'
import { DEFAULT_ISSUER, ensureIssuer, getIssuer } from '../tokens/issuer.ts'
import type { Logger } from '../app/context.ts'

export class SettingsConflictError extends PodtrustError<'SERVER_SETTINGS_CONFLICT'> {}

const AUTOMATIC_ISSUER = /^https:\/\/127\.0\.0\.1:\d+$/

export interface IssuerSettlement {
  url: string
  /** Set when this start changed the stored URL (the caller tells the operator). */
  changedFrom?: string
}

export async function settleIssuerUrl(
  db: Db,
  options: { explicit: string | undefined; automatic: string; now: Date; log: Logger },
): Promise<IssuerSettlement> {
  const stored = await getIssuer(db, DEFAULT_ISSUER)
  const set = async (url: string): Promise<string> =>
    (await ensureIssuer(db, DEFAULT_ISSUER, { url, now: options.now })).url
  if (options.explicit !== undefined) {
    const wanted = options.explicit.replace(/\/+$/, '')
    if (stored === undefined) return { url: await set(wanted) }
    if (stored.url === wanted) return { url: stored.url }
    if (!AUTOMATIC_ISSUER.test(stored.url)) {
      throw new SettingsConflictError(
        'SERVER_SETTINGS_CONFLICT',
        `the store's default issuer is ${stored.url}, but --issuer-url says ${wanted}; starting would make every token signed for ${stored.url} fail on every replica`,
        {
          hint: `start with --issuer-url ${stored.url} (or without it), or change it for the whole deployment first: podtrust issuer set-url ${wanted}`,
        },
      )
    }
    options.log.warn('issuer.url_changed', {
      from: stored.url,
      to: wanted,
      reason: 'the stored URL was the automatic local one; --issuer-url replaces it',
    })
    return { url: await set(wanted), changedFrom: stored.url }
  }
  if (stored === undefined) return { url: await set(options.automatic) }
  if (!AUTOMATIC_ISSUER.test(stored.url) || stored.url === options.automatic)
    return { url: stored.url }
  if (db.engine !== 'sqlite') {
    // Replicas share this store: a replica's own port never renames the deployment's issuer.
    options.log.info('issuer.url_kept', { url: stored.url, localAutomatic: options.automatic })
    return { url: stored.url }
  }
  options.log.warn('issuer.url_changed', {
    from: stored.url,
    to: options.automatic,
    reason:
      'single-node store: the automatic issuer URL follows the TLS port; pass --issuer-url to pin it',
  })
  return { url: await set(options.automatic), changedFrom: stored.url }
}

/** The default account: the explicit flag (checked against the store), else the stored administrator's. */
export async function settleAccountId(
  db: Db,
  options: { explicit: string | undefined; fallback: string },
): Promise<string> {
  const repo = createIamRepo(db)
  const adminAccounts: string[] = []
  for (const a of await repo.listAccounts()) {
    if ((await repo.getUser(a.accountId, BOOTSTRAP_ADMIN_USER)) !== undefined)
      adminAccounts.push(a.accountId)
  }
  if (options.explicit === undefined) return adminAccounts[0] ?? options.fallback
  if (adminAccounts.length === 0 || adminAccounts.includes(options.explicit))
    return options.explicit
  throw new SettingsConflictError(
    'SERVER_SETTINGS_CONFLICT',
    `the store's administrator (${BOOTSTRAP_ADMIN_USER}) is in account ${adminAccounts.join(', ')}, but --account-id says ${options.explicit}; starting would create a second non-expiring administrator`,
    {
      hint: `start without --account-id (account ${adminAccounts[0]} is used), or create that account's administrator explicitly first: podtrust admin-credentials --account-id ${options.explicit}`,
    },
  )
}
