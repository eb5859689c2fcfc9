/**
 * @module aws/eks/config
 * The `clusters` and `podIdentityAssociations` sections of podtrust's YAML config. Applying is idempotent
 * and additive: clusters upsert by name, associations by (cluster, namespace, serviceAccount) — the id of an
 * existing association is kept. A cluster without `issuer` gets its own podtrust issuer `cluster:NAME`.
 *
 * @example
 * clusters:
 *   - name: dev                      # issuer: https://oidc.eks…/id/ABC for a real cluster
 * podIdentityAssociations:
 *   - cluster: dev
 *     namespace: shop
 *     serviceAccount: cart
 *     roleArn: arn:aws:iam::000000000000:role/cart
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { ConfigEnv, ConfigSection } from '../../config/section.ts'
import { invalidAt } from '../../config/errors.ts'
import { boolean, list, object, optional, scalarString } from '../../config/schema.ts'
import type { Queryable } from '../../store/db.ts'
import { ensureIssuer } from '../../tokens/issuer.ts'
import { createIamRepo } from '../iam/repo.ts'
import { clusterIssuerName } from './clusters.ts'
import { EksError } from './errors.ts'
import { newAssociationId } from './ids.ts'
import { type AssociationRow, createEksRepo } from './repo.ts'
import {
  validateClusterIssuerUrl,
  validateClusterName,
  validateNamespace,
  validateRoleArn,
  validateServiceAccount,
  validateTags,
  checkSessionPolicy,
  sessionPolicyErrors,
} from './validate.ts'

/** A config problem at `path` (the platform's ConfigError, pointing at the docs). */
function configError(path: string, message: string) {
  return invalidAt(path, message, 'see docs/config.md (clusters, podIdentityAssociations)')
}

export interface ClusterConfig {
  name: string
  issuer?: string
  region?: string
  accountId?: string
  tags?: Record<string, string>
}

export interface AssociationConfig {
  cluster: string
  namespace: string
  serviceAccount: string
  roleArn: string
  targetRoleArn?: string
  disableSessionTags?: boolean
  policy?: string
  tags?: Record<string, string>
}

/** A string (or an unquoted number, e.g. an account id), or undefined when absent. */
function optionalText(value: unknown, path: string): string | undefined {
  return optional(value, (v) => scalarString(v, path))
}

/** Runs an EKS validator and reports its message under the config path. */
function check<T>(path: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof EksError) throw configError(path, err.message)
    throw err
  }
}

export const clustersSection: ConfigSection<ClusterConfig[]> = {
  key: 'clusters',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = `${path}[${i}]`
      const o = object(item, p, {
        required: ['name'],
        optional: ['issuer', 'region', 'accountId', 'tags'],
      })
      const name = scalarString(o['name'], `${p}.name`)
      check(`${p}.name`, () => validateClusterName(name))
      const out: ClusterConfig = { name }
      const issuer = optionalText(o['issuer'], `${p}.issuer`)
      if (issuer !== undefined)
        out.issuer = check(`${p}.issuer`, () => validateClusterIssuerUrl(issuer))
      const region = optionalText(o['region'], `${p}.region`)
      if (region !== undefined) {
        if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
          throw configError(`${p}.region`, `'${region}' is not a region`)
        out.region = region
      }
      const accountId = optionalText(o['accountId'], `${p}.accountId`)
      if (accountId !== undefined) {
        if (!/^\d{12}$/.test(accountId)) throw configError(`${p}.accountId`, 'must be 12 digits')
        out.accountId = accountId
      }
      if (o['tags'] !== undefined) out.tags = check(`${p}.tags`, () => validateTags(o['tags']))
      return out
    })
  },
  async apply(tx, value, env) {
    for (const c of value) await putCluster(tx, c, env.now)
  },
  async export(db) {
    const rows = await createEksRepo(db).listClusters()
    if (rows.length === 0) return undefined
    return rows.map((r) => {
      const c: ClusterConfig = { name: r.name }
      if (r.issuerUrl !== undefined) c.issuer = r.issuerUrl
      if (r.region !== undefined) c.region = r.region
      if (r.accountId !== undefined) c.accountId = r.accountId
      if (Object.keys(r.tags).length > 0) c.tags = r.tags
      return c
    })
  },
}

/** Registers (or re-registers) a cluster; without an issuer URL its podtrust issuer is created too. */
export async function putCluster(db: Queryable, c: ClusterConfig, now: Date): Promise<void> {
  const repo = createEksRepo(db)
  const existing = await repo.getCluster(c.name)
  if (c.issuer === undefined) await ensureIssuer(db, clusterIssuerName(c.name), { now })
  await repo.putCluster({
    name: c.name,
    accountId: c.accountId,
    region: c.region,
    issuerUrl: c.issuer,
    issuerName: c.issuer === undefined ? clusterIssuerName(c.name) : undefined,
    tags: c.tags ?? {},
    createdAt: existing?.createdAt ?? now,
  })
}

export const podIdentityAssociationsSection: ConfigSection<AssociationConfig[]> = {
  key: 'podIdentityAssociations',
  parse(value, path) {
    return list(value, path).map((item, i) => {
      const p = `${path}[${i}]`
      // namespace, serviceAccount and roleArn are required too: their EKS validators say so, with
      // the EKS API's own messages.
      const o = object(item, p, {
        required: ['cluster'],
        optional: [
          'namespace',
          'serviceAccount',
          'roleArn',
          'targetRoleArn',
          'disableSessionTags',
          'policy',
          'tags',
        ],
      })
      const cluster = scalarString(o['cluster'], `${p}.cluster`)
      check(`${p}.cluster`, () => validateClusterName(cluster))
      const out: AssociationConfig = {
        cluster,
        namespace: check(`${p}.namespace`, () => validateNamespace(o['namespace'])),
        serviceAccount: check(`${p}.serviceAccount`, () =>
          validateServiceAccount(o['serviceAccount']),
        ),
        roleArn: check(`${p}.roleArn`, () => validateRoleArn('roleArn', o['roleArn'])).arn,
      }
      const target = optionalText(o['targetRoleArn'], `${p}.targetRoleArn`)
      if (target !== undefined)
        out.targetRoleArn = check(`${p}.targetRoleArn`, () =>
          validateRoleArn('targetRoleArn', target),
        ).arn
      const disable = optional(o['disableSessionTags'], (v) =>
        boolean(v, `${p}.disableSessionTags`),
      )
      if (disable !== undefined) out.disableSessionTags = disable
      const policy = o['policy']
      if (policy !== undefined) {
        // A policy may be written as YAML (an object) or as JSON text.
        const text = typeof policy === 'string' ? policy : JSON.stringify(policy)
        // The same save-time checks as the EKS API (src/aws/eks/service.ts), policy engine included.
        out.policy = check(`${p}.policy`, () => checkSessionPolicy(text, sessionPolicyErrors))
        if (out.disableSessionTags !== true) {
          throw configError(`${p}.disableSessionTags`, 'must be true when a policy is specified')
        }
      }
      if (o['tags'] !== undefined) out.tags = check(`${p}.tags`, () => validateTags(o['tags']))
      return out
    })
  },
  async apply(tx, value, env) {
    const repo = createEksRepo(tx)
    for (const [i, a] of value.entries()) {
      const cluster = await repo.getCluster(a.cluster)
      if (cluster === undefined) {
        throw configError(
          `podIdentityAssociations[${i}].cluster`,
          `cluster '${a.cluster}' is not registered`,
        )
      }
      const clusterAccount = cluster.accountId ?? env.accountId
      if (validateRoleArn('roleArn', a.roleArn).accountId !== clusterAccount) {
        throw configError(
          `podIdentityAssociations[${i}].roleArn`,
          `must be in the cluster's account ${clusterAccount}; use targetRoleArn for another account`,
        )
      }
      // IAM's sections apply earlier in the same transaction, so roles declared alongside are visible here.
      const iam = createIamRepo(tx)
      for (const [member, arn] of [
        ['roleArn', a.roleArn],
        ['targetRoleArn', a.targetRoleArn],
      ] as const) {
        if (arn !== undefined && (await iam.getRoleByArn(arn)) === undefined) {
          throw configError(
            `podIdentityAssociations[${i}].${member}`,
            `role '${arn}' does not exist`,
          )
        }
      }
      await upsertAssociation(tx, a, env)
    }
  },
  async export(db) {
    const repo = createEksRepo(db)
    const out: AssociationConfig[] = []
    for (const c of await repo.listClusters()) {
      for (const a of await repo.listAssociations(c.name, {})) {
        const e: AssociationConfig = {
          cluster: a.clusterName,
          namespace: a.namespace,
          serviceAccount: a.serviceAccount,
          roleArn: a.roleArn,
        }
        if (a.targetRoleArn !== undefined) e.targetRoleArn = a.targetRoleArn
        if (a.disableSessionTags) e.disableSessionTags = true
        if (a.policy !== undefined) e.policy = a.policy
        if (Object.keys(a.tags).length > 0) e.tags = a.tags
        out.push(e)
      }
    }
    return out.length === 0 ? undefined : out
  },
}

async function upsertAssociation(
  tx: Queryable,
  a: AssociationConfig,
  env: ConfigEnv,
): Promise<void> {
  const repo = createEksRepo(tx)
  const existing = await repo.findAssociation(a.cluster, a.namespace, a.serviceAccount)
  const targetRoleArn = a.targetRoleArn
  const row: AssociationRow = {
    associationId: existing?.associationId ?? newAssociationId((n) => randomBytes(n)),
    clusterName: a.cluster,
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    roleArn: a.roleArn,
    targetRoleArn,
    externalId: targetRoleArn === undefined ? undefined : (existing?.externalId ?? randomUUID()),
    disableSessionTags: a.disableSessionTags ?? false,
    policy: a.policy,
    tags: a.tags ?? {},
    ownerArn: existing?.ownerArn,
    clientRequestToken: existing?.clientRequestToken,
    createdAt: existing?.createdAt ?? env.now,
    modifiedAt: env.now,
  }
  if (existing === undefined) await repo.insertAssociation(row)
  else await repo.updateAssociation(row)
}
