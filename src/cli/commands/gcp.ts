/**
 * @module cli/commands/gcp
 * `podtrust gcp list|cred-config|add-binding|remove-binding`: inspect pools, providers and service
 * accounts; write the `external_account` credential file google-auth-library and gcloud read, with every
 * URL pointing at podtrust; manage a service account's IAM bindings offline against the data directory.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { stringify as toYaml } from 'yaml'
import { PodtrustError, UsageError } from '../../errors.ts'
import { WORKLOAD_IDENTITY_USER } from '../../gcp/config.ts'
import { isValidMember, providerAudience } from '../../gcp/federation.ts'
import {
  getBindings,
  getProject,
  getServiceAccount,
  listPools,
  listProjects,
  listProviders,
  listServiceAccounts,
  replaceBindings,
} from '../../gcp/repo.ts'
import {
  DEFAULT_GCP_TOKEN_FILE,
  GCP_CREDENTIAL_CONFIG_KEY,
  isDnsSubdomain,
} from '../../mutation/index.ts'
import type { Command } from '../command.ts'
import { openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust gcp list [--data-dir DIR] [--store URL]
  podtrust gcp cred-config --project P --pool POOL --provider PROVIDER [--service-account EMAIL]
                           [--token-file F] [--url BASE] [--lifetime SECONDS] [--output FILE] [--data-dir DIR]
                           [--configmap NAME [--namespace NS]] [--store URL]
  podtrust gcp add-binding EMAIL --member M [--role R] [--data-dir DIR] [--store URL]
  podtrust gcp remove-binding EMAIL --member M [--role R] [--data-dir DIR] [--store URL]

Google workload identity federation. Declare projects, pools, providers and service accounts in the config
file (docs/config.md, section "gcp"). 'cred-config' writes the credential file for google-auth-library
(GOOGLE_APPLICATION_CREDENTIALS) and gcloud (CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) with token_url,
token_info_url and the impersonation URL on podtrust. With --configmap it prints (or writes) a ConfigMap
manifest holding the file under key credential-configuration.json, for the admission webhook to mount into
pods whose ServiceAccount is annotated podtrust.io/gcp-workload-identity-provider (docs/webhook.md).

Options:
  --project P           project id or number
  --pool POOL           workload identity pool id
  --provider PROVIDER   provider id
  --service-account E   impersonate this service account (generateAccessToken)
  --token-file F        the projected token (default /var/run/secrets/tokens/gcp-ksa/token; with
                        --configmap, the webhook's ${DEFAULT_GCP_TOKEN_FILE})
  --url BASE            podtrust's base URL (default http://127.0.0.1:7070)
  --lifetime SECONDS    impersonated token lifetime (service_account_impersonation.token_lifetime_seconds)
  --output FILE         write the file instead of printing it
  --configmap NAME      output a ConfigMap manifest named NAME (the webhook's default: podtrust-gcp-<SA>)
  --namespace NS        the ConfigMap's namespace (the pods' namespace; omitted: kubectl's current one)
  --member M            principal://… or principalSet://… (see docs/gcp.md)
  --role R              default roles/iam.workloadIdentityUser
${storeUsage}
`

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      project: { type: 'string' },
      pool: { type: 'string' },
      provider: { type: 'string' },
      'service-account': { type: 'string' },
      'token-file': { type: 'string' },
      url: { type: 'string' },
      lifetime: { type: 'string' },
      output: { type: 'string' },
      configmap: { type: 'string' },
      namespace: { type: 'string' },
      member: { type: 'string' },
      role: { type: 'string' },
      ...storeArgOptions,
    },
  })
}

type Values = ReturnType<typeof parse>['values']

class GcpCliError extends PodtrustError<'GCP_NOT_FOUND'> {}

function need(values: Values, name: 'project' | 'pool' | 'provider' | 'member'): string {
  const value = values[name]
  if (value === undefined || value === '') throw new UsageError(`missing --${name}`)
  return value
}

/**
 * The external_account credential configuration (https://google.aip.dev/auth/4117,
 * https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes#create-credential-config).
 */
export function credentialConfig(input: {
  audience: string
  baseUrl: string
  tokenFile: string
  serviceAccount?: string
  lifetimeSeconds?: number
}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    universe_domain: 'googleapis.com',
    type: 'external_account',
    audience: input.audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${input.baseUrl}/v1/token`,
    credential_source: { file: input.tokenFile, format: { type: 'text' } },
  }
  if (input.serviceAccount === undefined) {
    // gcloud asks introspection for the account name when it does not impersonate.
    config['token_info_url'] = `${input.baseUrl}/v1/introspect`
  } else {
    config['service_account_impersonation_url'] =
      `${input.baseUrl}/v1/projects/-/serviceAccounts/${input.serviceAccount}:generateAccessToken`
    if (input.lifetimeSeconds !== undefined) {
      config['service_account_impersonation'] = { token_lifetime_seconds: input.lifetimeSeconds }
    }
  }
  return config
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** A ConfigMap manifest carrying the credential configuration, as the webhook mounts it. */
export function credentialConfigMap(input: {
  name: string
  namespace?: string
  config: Record<string, unknown>
}): string {
  const manifest = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: input.name,
      ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
      labels: { 'app.kubernetes.io/managed-by': 'podtrust' },
    },
    data: { [GCP_CREDENTIAL_CONFIG_KEY]: `${JSON.stringify(input.config, null, 2)}\n` },
  }
  return toYaml(manifest, { lineWidth: 0 })
}

function configMapTarget(
  values: Values,
  sub: string,
): { name: string; namespace?: string } | undefined {
  const name = values.configmap
  const namespace = values.namespace
  if (name === undefined) {
    if (namespace !== undefined) throw new UsageError('--namespace needs --configmap')
    return undefined
  }
  if (sub !== 'cred-config') throw new UsageError('--configmap only applies to gcp cred-config')
  if (!isDnsSubdomain(name)) {
    throw new UsageError(
      `--configmap '${name.slice(0, 80)}' is not a valid ConfigMap name`,
      'lowercase letters, digits, - and ., at most 253 characters (e.g. podtrust-gcp-app)',
    )
  }
  if (namespace === undefined) return { name }
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new UsageError(
      `--namespace '${namespace.slice(0, 80)}' is not a valid namespace name`,
      'lowercase letters, digits and -, at most 63 characters',
    )
  }
  return { name, namespace }
}

export const gcpCommand: Command = {
  name: 'gcp',
  summary: 'Google workload identity federation: list, credential files, IAM bindings',
  usage,
  async run(argv, io) {
    const { values, positionals } = parse(argv)
    const [sub, ...rest] = positionals
    if (
      sub !== 'list' &&
      sub !== 'cred-config' &&
      sub !== 'add-binding' &&
      sub !== 'remove-binding'
    ) {
      throw new UsageError(
        sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
        "use 'gcp list', 'gcp cred-config', 'gcp add-binding' or 'gcp remove-binding'",
      )
    }
    const isBinding = sub === 'add-binding' || sub === 'remove-binding'
    if (rest.length > (isBinding ? 1 : 0))
      throw new UsageError(`unexpected argument '${rest[isBinding ? 1 : 0] ?? ''}'`)
    if (isBinding && rest[0] === undefined) throw new UsageError('missing service account EMAIL')
    const configMap = configMapTarget(values, sub)
    const baseUrl = (values.url ?? 'http://127.0.0.1:7070').replace(/\/+$/, '')
    if (!/^https?:\/\/[^/\s]+$/.test(baseUrl))
      throw new UsageError(
        `--url '${values.url ?? ''}' is not a base URL`,
        'e.g. http://127.0.0.1:7070',
      )
    let lifetime: number | undefined
    if (values.lifetime !== undefined) {
      lifetime = Number(values.lifetime)
      if (!Number.isInteger(lifetime) || lifetime < 600 || lifetime > 43_200) {
        throw new UsageError('--lifetime must be an integer from 600 to 43200 seconds')
      }
    }
    if (isBinding) {
      const member = need(values, 'member')
      if (!isValidMember(member))
        throw new UsageError(
          `--member '${member}' is not a valid IAM member`,
          'see docs/gcp.md for principal:// and principalSet:// forms',
        )
    }
    const db = await openStore(values, io)
    try {
      if (sub === 'list') {
        for (const project of await listProjects(db)) {
          io.stdout.write(`project ${project.projectId} (${project.projectNumber})\n`)
          for (const pool of await listPools(db, project.projectNumber)) {
            io.stdout.write(`  pool ${pool.poolId}${pool.disabled ? ' (disabled)' : ''}\n`)
            for (const p of await listProviders(db, project.projectNumber, pool.poolId)) {
              const audience = providerAudience(
                { projectNumber: project.projectNumber, poolId: pool.poolId },
                p.providerId,
              )
              io.stdout.write(
                `    provider ${p.providerId}${p.disabled ? ' (disabled)' : ''}\t${p.issuerUri}\t${audience}\n`,
              )
            }
          }
          for (const sa of await listServiceAccounts(db, project.projectId)) {
            io.stdout.write(`  serviceAccount ${sa.email}\n`)
            for (const b of await getBindings(db, sa.email)) {
              for (const m of b.members) io.stdout.write(`    ${b.role}\t${m}\n`)
            }
          }
        }
        return 0
      }
      if (sub === 'cred-config') {
        const project = await getProject(db, need(values, 'project'))
        if (project === undefined) {
          throw new GcpCliError(
            'GCP_NOT_FOUND',
            `project '${values.project ?? ''}' is not declared`,
            {
              hint: 'declare it under gcp.projects in the config file and run podtrust apply',
            },
          )
        }
        const poolId = need(values, 'pool')
        const providerId = need(values, 'provider')
        const known = await listProviders(db, project.projectNumber, poolId)
        if (!known.some((p) => p.providerId === providerId)) {
          throw new GcpCliError(
            'GCP_NOT_FOUND',
            `provider '${providerId}' is not declared in pool '${poolId}'`,
          )
        }
        const sa = values['service-account']
        if (sa !== undefined && (await getServiceAccount(db, sa)) === undefined) {
          throw new GcpCliError('GCP_NOT_FOUND', `service account '${sa}' is not declared`)
        }
        const defaultTokenFile =
          configMap === undefined ? '/var/run/secrets/tokens/gcp-ksa/token' : DEFAULT_GCP_TOKEN_FILE
        const config = credentialConfig({
          audience: providerAudience({ projectNumber: project.projectNumber, poolId }, providerId),
          baseUrl,
          tokenFile: values['token-file'] ?? defaultTokenFile,
          ...(sa === undefined ? {} : { serviceAccount: sa }),
          ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetime }),
        })
        const text =
          configMap === undefined
            ? `${JSON.stringify(config, null, 2)}\n`
            : credentialConfigMap({ ...configMap, config })
        if (values.output === undefined) io.stdout.write(text)
        else writeFileSync(resolve(io.cwd, values.output), text, { mode: 0o644 })
        return 0
      }
      const sa = await getServiceAccount(db, rest[0]!)
      if (sa === undefined)
        throw new GcpCliError('GCP_NOT_FOUND', `service account '${rest[0] ?? ''}' is not declared`)
      const role = values.role ?? WORKLOAD_IDENTITY_USER
      const member = need(values, 'member')
      const bindings = await getBindings(db, sa.email)
      const binding = bindings.find((b) => b.role === role)
      if (sub === 'add-binding') {
        if (binding === undefined) bindings.push({ role, members: [member] })
        else if (!binding.members.includes(member)) binding.members.push(member)
      } else {
        if (binding === undefined || !binding.members.includes(member)) {
          throw new GcpCliError('GCP_NOT_FOUND', `no binding of '${member}' to ${role}`)
        }
        binding.members = binding.members.filter((m) => m !== member)
      }
      await replaceBindings(
        db,
        sa.email,
        bindings.filter((b) => b.members.length > 0),
      )
      io.stdout.write(`${sub === 'add-binding' ? 'added' : 'removed'} ${role} ${member}\n`)
      return 0
    } finally {
      await db.close()
    }
  },
}
