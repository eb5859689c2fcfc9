/**
 * @module dbproxy/repo
 * Storage of database instances (table `dbproxy_instances`, migration `dbproxy-0001-instances`).
 */
import type { Queryable } from '../store/db.ts'
import { DbProxyError } from './errors.ts'
import type { DbEngine, DbInstance } from './instances.ts'

interface Row {
  name: string
  resource_id: string
  engine: string
  endpoint: string
  backend: string
  iam_users: string | null
  backend_passwords: string | null
  region: string | null
  account_id: string | null
  created_at: number | string
}

function fromRow(r: Row): DbInstance & { createdAt: Date } {
  return {
    name: r.name,
    resourceId: r.resource_id,
    engine: r.engine as DbEngine,
    endpoint: r.endpoint,
    backend: r.backend,
    ...(r.iam_users === null ? {} : { iamUsers: JSON.parse(r.iam_users) as string[] }),
    ...(r.backend_passwords === null
      ? {}
      : { backendPasswords: JSON.parse(r.backend_passwords) as DbInstance['backendPasswords'] }),
    ...(r.region === null ? {} : { region: r.region }),
    ...(r.account_id === null ? {} : { accountId: r.account_id }),
    createdAt: new Date(Number(r.created_at)),
  }
}

export interface DbInstanceRepo {
  list(): Promise<(DbInstance & { createdAt: Date })[]>
  get(name: string): Promise<(DbInstance & { createdAt: Date }) | undefined>
  byEndpoint(endpoint: string): Promise<DbInstance[]>
  /** Inserts or replaces by name; the resource id of another instance is a conflict. */
  put(instance: DbInstance, now: Date): Promise<void>
  remove(name: string): Promise<boolean>
}

export function createDbInstanceRepo(db: Queryable): DbInstanceRepo {
  return {
    async list() {
      return (await db.all<Row>('SELECT * FROM dbproxy_instances ORDER BY name')).map(fromRow)
    },
    async get(name) {
      const r = await db.get<Row>('SELECT * FROM dbproxy_instances WHERE name = ?', [name])
      return r === undefined ? undefined : fromRow(r)
    },
    async byEndpoint(endpoint) {
      return (
        await db.all<Row>('SELECT * FROM dbproxy_instances WHERE endpoint = ? ORDER BY name', [
          endpoint,
        ])
      ).map(fromRow)
    },
    async put(i, now) {
      const other = await db.get<{ name: string }>(
        'SELECT name FROM dbproxy_instances WHERE resource_id = ? AND name <> ?',
        [i.resourceId, i.name],
      )
      if (other !== undefined)
        throw new DbProxyError(
          'DB_INSTANCE_CONFLICT',
          `resource id ${i.resourceId} already belongs to instance \`${other.name}\``,
        )
      await db.run(
        `INSERT INTO dbproxy_instances
           (name, resource_id, engine, endpoint, backend, iam_users, backend_passwords, region, account_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET resource_id = excluded.resource_id, engine = excluded.engine,
           endpoint = excluded.endpoint, backend = excluded.backend, iam_users = excluded.iam_users,
           backend_passwords = excluded.backend_passwords, region = excluded.region,
           account_id = excluded.account_id`,
        [
          i.name,
          i.resourceId,
          i.engine,
          i.endpoint,
          i.backend,
          i.iamUsers === undefined ? null : JSON.stringify(i.iamUsers),
          i.backendPasswords === undefined ? null : JSON.stringify(i.backendPasswords),
          i.region ?? null,
          i.accountId ?? null,
          now.getTime(),
        ],
      )
    },
    async remove(name) {
      return (await db.run('DELETE FROM dbproxy_instances WHERE name = ?', [name])).changes > 0
    },
  }
}
