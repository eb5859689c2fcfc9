/**
 * @module generate/spec
 * The workload spec (docs/iac.md): one YAML document describing workloads → namespace/ServiceAccount →
 * cloud identity → permissions → method. Validated with the config schema helpers, so every error names the
 * path of the offending value and unknown keys are rejected.
 */
import { parseDocument } from 'yaml'
import { ConfigError, invalidAt } from '../config/errors.ts'
import {
  boolean,
  join,
  list,
  object,
  optional,
  optionalList,
  scalarString,
  string,
} from '../config/schema.ts'

export type AwsMethod = 'irsa' | 'pod-identity'

export interface AwsStatementSpec {
  readonly effect: 'Allow' | 'Deny'
  readonly actions: readonly string[]
  readonly resources: readonly string[]
}

export interface AwsWorkloadSpec {
  readonly method: AwsMethod
  readonly roleName: string
  readonly rolePath: string
  readonly statements: readonly AwsStatementSpec[]
  readonly managedPolicies: readonly string[]
}

export interface AzureRoleAssignmentSpec {
  readonly role: string
  readonly scope: string
}

export interface AzureWorkloadSpec {
  readonly identityName: string
  /** The identity's client id when it exists already (manifests need it); else Terraform outputs it. */
  readonly clientId: string | undefined
  readonly roleAssignments: readonly AzureRoleAssignmentSpec[]
}

export interface GcpRoleSpec {
  readonly role: string
}

export interface GcpWorkloadSpec {
  /** A Google service account the workload impersonates; absent: roles go to the federated principal. */
  readonly serviceAccountId: string | undefined
  readonly roles: readonly GcpRoleSpec[]
}

export interface WorkloadSpec {
  readonly name: string
  readonly namespace: string
  readonly serviceAccount: string
  readonly aws: AwsWorkloadSpec | undefined
  readonly azure: AzureWorkloadSpec | undefined
  readonly gcp: GcpWorkloadSpec | undefined
}

export interface ClusterSpec {
  readonly name: string
  /** The cluster's service-account issuer (`iss` of its tokens), `https://…`. */
  readonly issuer: string
}

export interface AwsSpec {
  readonly accountId: string
  readonly region: string
  /** The IAM OIDC provider for the issuer exists already: reference it instead of creating it. */
  readonly existingOidcProvider: boolean
  readonly thumbprints: readonly string[]
}

export interface AzureSpec {
  readonly tenantId: string
  readonly subscriptionId: string
  readonly resourceGroup: string
  readonly location: string
}

export interface GcpSpec {
  readonly projectId: string
  readonly projectNumber: string
  readonly poolId: string
  readonly providerId: string
  /** GKE Workload Identity (the project's `PROJECT.svc.id.goog` pool) instead of a pool of our own. */
  readonly gke: boolean
}

export interface IacSpec {
  readonly cluster: ClusterSpec
  readonly aws: AwsSpec | undefined
  readonly azure: AzureSpec | undefined
  readonly gcp: GcpSpec | undefined
  readonly workloads: readonly WorkloadSpec[]
}

const MAX_SPEC_BYTES = 1024 * 1024
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
const ACCOUNT = /^\d{12}$/
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/
const IAM_PATH = /^\/([\x21-\x7e]*\/)?$/
const ACTION = /^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
const GCP_POOL = /^[a-z0-9-]{4,32}$/
const GCP_SA = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
const GCP_ROLE =
  /^(roles\/[\w.]+|projects\/[^/]+\/roles\/[\w.]+|organizations\/\d+\/roles\/[\w.]+)$/
const MANAGED_POLICY_ARN =
  /^arn:aws[\w-]*:iam::(aws|\d{12}):policy\/([\x21-\x7e]+\/)?[\w+=,.@-]{1,128}$/
const HTTPS_URL = /^https:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/

/** Parses and validates a workload spec document. Throws `ConfigError` naming the path. */
export function parseSpec(text: string): IacSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) {
    throw new ConfigError('CONFIG_YAML_INVALID', '', 'the spec is larger than 1 MiB')
  }
  const doc = parseDocument(text, { uniqueKeys: true })
  const first = doc.errors[0]
  if (first !== undefined) {
    throw new ConfigError('CONFIG_YAML_INVALID', '', `not valid YAML: ${first.message}`)
  }
  return readSpec(doc.toJS({ maxAliasCount: 100 }) as unknown)
}

/** Validates an already-parsed spec value. */
export function readSpec(value: unknown): IacSpec {
  const root = object(value, '', {
    required: ['cluster', 'workloads'],
    optional: ['version', 'aws', 'azure', 'gcp'],
  })
  if (root['version'] !== undefined && root['version'] !== 1) {
    throw invalidAt(
      'version',
      `unsupported spec version \`${String(root['version'])}\``,
      'this podtrust reads version 1',
    )
  }
  const cluster = readCluster(root['cluster'])
  const aws = optional(root['aws'], (v) => readAws(v, 'aws'))
  const azure = optional(root['azure'], (v) => readAzure(v, 'azure'))
  const gcp = optional(root['gcp'], (v) => readGcp(v, 'gcp'))
  const workloads = list(root['workloads'], 'workloads', { max: 500 }).map((w, i) =>
    readWorkload(w, join('workloads', i)),
  )
  const seen = new Map<string, string>()
  workloads.forEach((w, i) => {
    const path = join('workloads', i)
    if (w.aws !== undefined && aws === undefined)
      throw invalidAt(join(path, 'aws'), 'needs the top-level `aws` section (accountId, region)')
    if (w.azure !== undefined && azure === undefined)
      throw invalidAt(join(path, 'azure'), 'needs the top-level `azure` section')
    if (w.gcp !== undefined && gcp === undefined)
      throw invalidAt(join(path, 'gcp'), 'needs the top-level `gcp` section')
    if (w.aws === undefined && w.azure === undefined && w.gcp === undefined) {
      throw invalidAt(path, 'names no cloud identity', 'add at least one of aws, azure, gcp')
    }
    const previous = seen.get(w.name)
    if (previous !== undefined)
      throw invalidAt(join(path, 'name'), `duplicates ${previous}.name \`${w.name}\``)
    seen.set(w.name, path)
  })
  const roles = new Map<string, string>()
  workloads.forEach((w, i) => {
    if (w.aws === undefined) return
    const key = w.aws.roleName.toLowerCase()
    const previous = roles.get(key)
    if (previous !== undefined) {
      throw invalidAt(
        join(join(join('workloads', i), 'aws'), 'roleName'),
        `role \`${w.aws.roleName}\` is already used by ${previous}`,
        'one role per workload: list several service accounts under one workload instead',
      )
    }
    roles.set(key, join('workloads', i))
  })
  return { cluster, aws, azure, gcp, workloads }
}

function readCluster(value: unknown): ClusterSpec {
  const o = object(value, 'cluster', { required: ['name', 'issuer'] })
  const name = string(o['name'], 'cluster.name', { pattern: /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/ })
  const issuer = string(o['issuer'], 'cluster.issuer', { pattern: HTTPS_URL, max: 255 }).replace(
    /\/+$/,
    '',
  )
  return { name, issuer }
}

function readAws(value: unknown, path: string): AwsSpec {
  const o = object(value, path, {
    required: ['accountId', 'region'],
    optional: ['existingOidcProvider', 'thumbprints'],
  })
  return {
    accountId: scalarString(o['accountId'], join(path, 'accountId'), { pattern: ACCOUNT }),
    region: string(o['region'], join(path, 'region'), { pattern: REGION }),
    existingOidcProvider:
      optional(o['existingOidcProvider'], (v) => boolean(v, join(path, 'existingOidcProvider'))) ??
      false,
    thumbprints: optionalList(o['thumbprints'], join(path, 'thumbprints'), { max: 5 }).map((t, i) =>
      string(t, join(join(path, 'thumbprints'), i), { pattern: /^[0-9a-fA-F]{40}$/ }).toLowerCase(),
    ),
  }
}

function readAzure(value: unknown, path: string): AzureSpec {
  const o = object(value, path, {
    required: ['tenantId', 'subscriptionId', 'resourceGroup', 'location'],
  })
  return {
    tenantId: string(o['tenantId'], join(path, 'tenantId'), { pattern: GUID }).toLowerCase(),
    subscriptionId: string(o['subscriptionId'], join(path, 'subscriptionId'), {
      pattern: GUID,
    }).toLowerCase(),
    resourceGroup: string(o['resourceGroup'], join(path, 'resourceGroup'), {
      pattern: /^[-\w.()]{1,90}$/,
    }),
    location: string(o['location'], join(path, 'location'), { pattern: /^[a-z0-9]{2,40}$/ }),
  }
}

function readGcp(value: unknown, path: string): GcpSpec {
  const o = object(value, path, {
    required: ['projectId', 'projectNumber'],
    optional: ['poolId', 'providerId', 'gke'],
  })
  const poolPath = join(path, 'poolId')
  const poolId =
    optional(o['poolId'], (v) => string(v, poolPath, { pattern: GCP_POOL })) ?? 'kubernetes'
  if (poolId.startsWith('gcp-'))
    throw invalidAt(poolPath, 'must not start with `gcp-` (reserved by Google)')
  return {
    projectId: string(o['projectId'], join(path, 'projectId'), { pattern: GCP_PROJECT }),
    projectNumber: scalarString(o['projectNumber'], join(path, 'projectNumber'), {
      pattern: /^[1-9]\d{0,18}$/,
    }),
    poolId,
    providerId:
      optional(o['providerId'], (v) =>
        string(v, join(path, 'providerId'), { pattern: GCP_POOL }),
      ) ?? 'cluster',
    gke: optional(o['gke'], (v) => boolean(v, join(path, 'gke'))) ?? false,
  }
}

function readWorkload(value: unknown, path: string): WorkloadSpec {
  const o = object(value, path, {
    required: ['name', 'namespace'],
    optional: ['serviceAccount', 'aws', 'azure', 'gcp'],
  })
  const name = string(o['name'], join(path, 'name'), { pattern: DNS_SUBDOMAIN })
  const namespace = string(o['namespace'], join(path, 'namespace'), { pattern: DNS_LABEL })
  const serviceAccount =
    optional(o['serviceAccount'], (v) =>
      string(v, join(path, 'serviceAccount'), { pattern: DNS_SUBDOMAIN }),
    ) ?? name
  return {
    name,
    namespace,
    serviceAccount,
    aws: optional(o['aws'], (v) => readAwsWorkload(v, join(path, 'aws'), name)),
    azure: optional(o['azure'], (v) => readAzureWorkload(v, join(path, 'azure'), name)),
    gcp: optional(o['gcp'], (v) => readGcpWorkload(v, join(path, 'gcp'))),
  }
}

function readAwsWorkload(value: unknown, path: string, workload: string): AwsWorkloadSpec {
  const o = object(value, path, {
    optional: ['method', 'roleName', 'rolePath', 'permissions', 'managedPolicies'],
  })
  const method = (optional(o['method'], (v) =>
    string(v, join(path, 'method'), { oneOf: ['irsa', 'pod-identity'] }),
  ) ?? 'irsa') as AwsMethod
  const roleName =
    optional(o['roleName'], (v) => string(v, join(path, 'roleName'), { pattern: ROLE_NAME })) ??
    workload
  if (!ROLE_NAME.test(roleName))
    throw invalidAt(
      join(path, 'roleName'),
      `the workload name \`${workload}\` is not a valid role name: set roleName`,
    )
  const rolePath =
    optional(o['rolePath'], (v) =>
      string(v, join(path, 'rolePath'), { pattern: IAM_PATH, max: 512 }),
    ) ?? '/'
  const statements = optionalList(o['permissions'], join(path, 'permissions'), { max: 50 }).map(
    (s, i) => readStatement(s, join(join(path, 'permissions'), i)),
  )
  const managedPolicies = optionalList(o['managedPolicies'], join(path, 'managedPolicies'), {
    max: 10,
  }).map((p, i) =>
    string(p, join(join(path, 'managedPolicies'), i), { pattern: MANAGED_POLICY_ARN }),
  )
  if (statements.length === 0 && managedPolicies.length === 0) {
    throw invalidAt(
      path,
      'grants nothing',
      'add permissions (actions and resources) or managedPolicies',
    )
  }
  return { method, roleName, rolePath, statements, managedPolicies }
}

function readStatement(value: unknown, path: string): AwsStatementSpec {
  const o = object(value, path, { required: ['actions', 'resources'], optional: ['effect'] })
  const effect = (optional(o['effect'], (v) =>
    string(v, join(path, 'effect'), { oneOf: ['Allow', 'Deny'] }),
  ) ?? 'Allow') as 'Allow' | 'Deny'
  const actions = list(o['actions'], join(path, 'actions'), { max: 100 }).map((a, i) =>
    string(a, join(join(path, 'actions'), i), { pattern: ACTION }),
  )
  const resources = list(o['resources'], join(path, 'resources'), { max: 100 }).map((r, i) =>
    string(r, join(join(path, 'resources'), i), { pattern: /^(\*|arn:[^\s]+)$/ }),
  )
  if (actions.length === 0) throw invalidAt(join(path, 'actions'), 'must not be empty')
  if (resources.length === 0) throw invalidAt(join(path, 'resources'), 'must not be empty')
  return { effect, actions, resources }
}

function readAzureWorkload(value: unknown, path: string, workload: string): AzureWorkloadSpec {
  const o = object(value, path, { optional: ['identityName', 'clientId', 'roleAssignments'] })
  return {
    identityName:
      optional(o['identityName'], (v) =>
        string(v, join(path, 'identityName'), { pattern: /^[A-Za-z0-9][\w-]{2,127}$/ }),
      ) ?? workload,
    clientId: optional(o['clientId'], (v) =>
      string(v, join(path, 'clientId'), { pattern: GUID }).toLowerCase(),
    ),
    roleAssignments: optionalList(o['roleAssignments'], join(path, 'roleAssignments'), {
      max: 50,
    }).map((r, i) => {
      const p = join(join(path, 'roleAssignments'), i)
      const ra = object(r, p, { required: ['role', 'scope'] })
      return {
        role: string(ra['role'], join(p, 'role'), { min: 1, max: 512 }),
        scope: string(ra['scope'], join(p, 'scope'), {
          pattern: /^\/subscriptions\/[0-9a-fA-F-]{36}(\/.*)?$/,
        }),
      }
    }),
  }
}

function readGcpWorkload(value: unknown, path: string): GcpWorkloadSpec {
  const o = object(value, path, { optional: ['serviceAccountId', 'roles'] })
  return {
    serviceAccountId: optional(o['serviceAccountId'], (v) =>
      string(v, join(path, 'serviceAccountId'), { pattern: GCP_SA }),
    ),
    roles: optionalList(o['roles'], join(path, 'roles'), { max: 50 }).map((r, i) => ({
      role: string(r, join(join(path, 'roles'), i), { pattern: GCP_ROLE }),
    })),
  }
}
