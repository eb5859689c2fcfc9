/**
 * @module cli/commands/doctor
 * `podtrust doctor`: explains why a pod's workload identity does (not) work, link by link. This module is the
 * adapter: it reads the store (IAM roles and OIDC providers, EKS clusters and Pod Identity associations, Azure
 * federated credentials), the manifests, token and client environment, and hands a snapshot to the pure core in
 * src/analysis/doctor.ts. Also decodes podtrust's encoded authorization failure messages. See docs/doctor.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { parse as parseYaml } from 'yaml'
import {
  diagnose,
  type ClientEnvironment,
  type DoctorInput,
  type DoctorReport,
  type GcpDoctorPort,
} from '../../analysis/doctor.ts'
import {
  compileProvider,
  federate,
  memberMatches,
  type CompiledProvider,
} from '../../gcp/federation.ts'
import { getBindings, getProvider, type Binding, type ProviderRecord } from '../../gcp/repo.ts'
import { createIamRepo } from '../../aws/iam/repo.ts'
import { decodeAuthorizationMessage } from '../../identity/authz-message.ts'
import { createIdentityPorts } from '../../server/ports.ts'
import { DEFAULT_ACCOUNT_ID } from '../../server/start.ts'
import type { Db } from '../../store/db.ts'
import { UsageError } from '../../errors.ts'
import type { Pod } from '../../mutation/types.ts'
import type { NodeFacts } from '../../analysis/doctor-imds.ts'
import { buildKubeInventory, parseKubeDocuments } from '../../analysis/inputs/kube.ts'
import { parseJsonInput, parseNodes, podtrustImdsNode } from '../../analysis/inputs/side.ts'
import type { NodeInfo } from '../../analysis/model.ts'
import { collectManifestFiles } from './scan.ts'
import type { CliIo, Command } from '../command.ts'
import { loadStoreSnapshot, storeAccount } from '../store-snapshot.ts'
import { accountFlag, openStore, storeArgOptions, storeUsage } from '../store-options.ts'

const usage = `Usage:
  podtrust doctor --namespace NS --service-account SA [--data-dir DIR] [--store URL]
                  [--service-account-manifest FILE | --role-arn ARN] [--pod-manifest FILE] [--token-file FILE]
                  [--cluster NAME] [--account-id A] [--action ACTION --resource ARN]
                  [--client-env | --env-file FILE] [--home DIR]
                  [--nodes FILE] [--podtrust-imds ROLE_ARN] [--k8s PATH]... [--json]
  podtrust doctor --decode-authorization-message MESSAGE [--account-id A] [--data-dir DIR] [--json]

Walks the identity chain of a ServiceAccount (IRSA, EKS Pod Identity, Azure Workload Identity) link by link:
mapping → webhook injection → SDK credential chain → token → provider/cluster → role → trust policy →
permissions. Prints each link ✓/✗ and stops at the first broken one with the reason and the fix.

Options:
  --service-account-manifest FILE  the ServiceAccount (YAML/JSON; kubectl get sa -o yaml) for its annotations
  --role-arn ARN           the ServiceAccount's eks.amazonaws.com/role-arn, when no manifest is at hand
  --pod-manifest FILE      the pod (kubectl get pod -o yaml): shows whether the webhook mutated it, and its env
  --token-file FILE        the pod's projected token (claims and expiry are checked)
  --cluster NAME           the cluster the pod runs in (its issuer is the expected token issuer)
  --account-id A           the AWS account (default: the store's first account, else ${DEFAULT_ACCOUNT_ID})
  --action A --resource R  also check that the role may perform A on R (identity ∩ boundary ∩ session)
  --client-env             inspect this process's environment and ~/.aws (static keys, profiles, CLI cache)
  --env-file FILE          inspect KEY=VALUE lines (e.g. kubectl exec POD -- env) instead of this process's
  --home DIR               the home directory whose ~/.aws to inspect (default $HOME)
  --nodes FILE             the nodes' IMDS settings (aws ec2 describe-instances or describe-launch-template-versions
                           output, as for scan): adds the node-imds link — can the pod get the node role, and
                           would its SDK use it before or after its own identity
  --podtrust-imds ROLE_ARN the nodes serve podtrust's metadata endpoint vending ROLE_ARN (up|agent --imds-role)
  --k8s PATH               manifests or folders with the namespace's NetworkPolicies (egress to 169.254.169.254)
  --decode-authorization-message M  decode an encoded authorization failure message (sts decode-authorization-message)
  --json                   machine-readable: { mechanism, ok, links: [{ name, ok, reason, fix }] }
${storeUsage}

Exit codes: 0 the chain holds, 1 a link is broken (or the message cannot be decoded), 2 bad arguments.
`

function readText(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read '${file}' (${(err as { code?: string }).code ?? 'error'})`)
  }
}

function readObject(io: CliIo, file: string, kind: string): Record<string, unknown> {
  let value: unknown
  try {
    value = parseYaml(readText(io, file), { uniqueKeys: false })
  } catch (err) {
    throw new UsageError(`'${file}' is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`)
  }
  if (typeof value !== 'object' || value === null)
    throw new UsageError(`'${file}' does not hold a ${kind}`)
  const obj = value as Record<string, unknown>
  // kubectl get … -o yaml of one object, or a List with one item.
  if (Array.isArray(obj.items) && obj.items.length > 0)
    return obj.items[0] as Record<string, unknown>
  return obj
}

function envFromLines(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim())
    if (m !== null) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2')
  }
  return out
}

/** The client-side facts: environment, AWS CLI web-identity cache, shared credentials profiles. */
export function inspectClient(env: Record<string, string>, home: string): ClientEnvironment {
  const cacheDir = join(home, '.aws', 'cli', 'cache')
  const cliCache: ClientEnvironment['cliCache'] = []
  if (existsSync(cacheDir)) {
    for (const name of readdirSync(cacheDir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      try {
        const json = JSON.parse(readFileSync(join(cacheDir, name), 'utf8')) as {
          Credentials?: { AccessKeyId?: string; Expiration?: string }
        }
        const entry: ClientEnvironment['cliCache'][number] = { file: name }
        if (json.Credentials?.AccessKeyId !== undefined)
          entry.accessKeyId = json.Credentials.AccessKeyId
        const exp =
          json.Credentials?.Expiration === undefined ? NaN : Date.parse(json.Credentials.Expiration)
        if (!Number.isNaN(exp)) entry.expiration = new Date(exp)
        cliCache.push(entry)
      } catch {
        cliCache.push({ file: name })
      }
    }
  }
  const credentialsFile = env['AWS_SHARED_CREDENTIALS_FILE'] ?? join(home, '.aws', 'credentials')
  const profiles: string[] = []
  if (existsSync(credentialsFile)) {
    for (const m of readFileSync(credentialsFile, 'utf8').matchAll(/^\s*\[([^\]]+)\]/gm))
      profiles.push(m[1]!.trim())
  }
  return { env, cliCache, credentialsFileProfiles: profiles }
}

/** `--nodes`, `--podtrust-imds` and `--k8s`, read with scan's parsers; undefined when none is given. */
function nodeFacts(
  io: CliIo,
  nodesFile: string | undefined,
  podtrustImds: string[] | undefined,
  k8s: string[] | undefined,
): NodeFacts | undefined {
  if (nodesFile === undefined && podtrustImds === undefined) {
    if (k8s !== undefined) throw new UsageError('--k8s needs --nodes or --podtrust-imds')
    return undefined
  }
  const nodes: NodeInfo[] = []
  try {
    if (nodesFile !== undefined)
      nodes.push(...parseNodes(parseJsonInput(readText(io, nodesFile), nodesFile), nodesFile))
    for (const arn of podtrustImds ?? []) {
      if (!ROLE_ARN.test(arn)) throw new UsageError(`--podtrust-imds '${arn}' is not a role ARN`)
      nodes.push(podtrustImdsNode(arn))
    }
    const parsed = parseKubeDocuments(collectManifestFiles(io, k8s ?? []))
    return { nodes, networkPolicies: buildKubeInventory(parsed.objects).networkPolicies }
  } catch (err) {
    if (err instanceof UsageError) throw err
    const e = err as Error & { hint?: string }
    throw new UsageError(e.message, e.hint)
  }
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/

const IMPERSONATION_ROLES = [
  'roles/iam.workloadIdentityUser',
  'roles/iam.serviceAccountTokenCreator',
]

/** The GCP answers, from the store and src/gcp's federation code (loaded up front: the core is synchronous). */
async function gcpPort(
  db: Db,
  providerName: string | undefined,
  email: string | undefined,
): Promise<GcpDoctorPort | undefined> {
  if (providerName === undefined) return undefined
  const name = providerName.trim().replace(/^\/\/iam\.googleapis\.com\//, '')
  const m =
    /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/.exec(
      name,
    )
  const record: ProviderRecord | undefined =
    m === null ? undefined : await getProvider(db, m[1]!, m[2]!, m[3]!)
  let compiled: CompiledProvider | { error: string } | undefined
  if (record !== undefined) {
    try {
      compiled = compileProvider(record.attributeMapping, record.attributeCondition)
    } catch (err) {
      compiled = { error: (err as Error).message }
    }
  }
  const bindings: Binding[] = email === undefined ? [] : await getBindings(db, email)
  const pool = m === null ? undefined : { projectNumber: m[1]!, poolId: m[2]! }
  const run = (claims: Record<string, unknown>) =>
    compiled === undefined || 'error' in compiled
      ? ({ ok: false, message: compiled === undefined ? 'no provider' : compiled.error } as const)
      : federate(compiled, claims)
  return {
    provider: () =>
      record === undefined
        ? undefined
        : {
            disabled: record.disabled,
            issuerUri: record.issuerUri,
            allowedAudiences: record.allowedAudiences,
          },
    federate: (_name, claims) => {
      const r = run(claims)
      return r.ok ? { ok: true, subject: r.identity.subject } : { ok: false, message: r.message }
    },
    canImpersonate: (gsa, _name, claims) => {
      const r = run(claims)
      if (!r.ok || pool === undefined) return { ok: false, detail: 'the token does not federate' }
      const granted = bindings.filter(
        (b) =>
          IMPERSONATION_ROLES.includes(b.role) &&
          b.members.some((member) => memberMatches(member, pool, r.identity)),
      )
      return granted.length > 0
        ? {
            ok: true,
            detail: `${r.identity.subject} holds ${granted.map((b) => b.role).join(', ')} on ${gsa}`,
          }
        : {
            ok: false,
            detail: `no binding on ${gsa} grants roles/iam.workloadIdentityUser to ${r.identity.subject}: generateAccessToken answers PERMISSION_DENIED (iam.serviceAccounts.getAccessToken)`,
          }
    },
  }
}

export function renderDoctor(report: DoctorReport): string {
  const lines = [
    `podtrust doctor: ${report.mechanism === 'none' ? 'no workload identity configured' : report.mechanism}`,
  ]
  for (const link of report.links) {
    lines.push(`${link.warning ? '!' : link.ok ? '✓' : '✗'} ${link.name}: ${link.reason}`)
    if ((!link.ok || link.warning) && link.fix !== undefined) lines.push(`  fix: ${link.fix}`)
  }
  lines.push(
    report.ok ? 'the chain holds' : `broken link: ${report.links.find((l) => !l.ok)?.name ?? '?'}`,
  )
  return `${lines.join('\n')}\n`
}

async function decodeMessage(
  db: Db,
  io: CliIo,
  message: string,
  accountFlagValue: string | undefined,
  json: boolean,
): Promise<number> {
  const iam = createIamRepo(db)
  const accounts =
    accountFlagValue !== undefined
      ? [accountFlagValue]
      : (await iam.listAccounts()).map((a) => a.accountId)
  const ports = createIdentityPorts(db, {
    now: () => new Date(),
    randomBytes: (n: number) => randomBytes(n),
  })
  for (const account of accounts.length > 0 ? accounts : [DEFAULT_ACCOUNT_ID]) {
    const decoded = await decodeAuthorizationMessage(ports, account, message.trim())
    if (decoded === undefined) continue
    if (json) io.stdout.write(`${JSON.stringify(decoded, null, 2)}\n`)
    else {
      const c = decoded.context
      io.stdout.write(
        `${decoded.allowed ? 'allowed' : decoded.explicitDeny ? 'explicitly denied' : 'implicitly denied'}: ${c.principal.arn} → ${c.action} on ${c.resource}\n`,
      )
      for (const f of decoded.failures.items as Record<string, unknown>[]) {
        if ('element' in f)
          io.stdout.write(
            `  ✗ ${String(f.policyId)}${typeof f.statementId === 'string' && f.statementId !== '' ? ` statement ${f.statementId}` : ''}: ${String(f.element)} does not match${f.detail !== undefined ? ` (${String(f.detail)})` : ''}\n`,
          )
        else if ('blockedBy' in f) io.stdout.write(`  ✗ blocked by ${String(f.blockedBy)}\n`)
      }
      for (const m of decoded.matchedStatements.items as Record<string, unknown>[])
        io.stdout.write(
          `  matched: ${String(m.effect)} ${String(m.policyId)} #${String(m.index)}\n`,
        )
      io.stdout.write(
        `  context: ${c.conditions.items.map((i) => `${i.key}=${i.values.items.map((v) => v.value).join(',')}`).join(' ')}\n`,
      )
    }
    return decoded.allowed ? 0 : 1
  }
  io.stderr.write(
    'podtrust: the message cannot be decoded by this podtrust (another installation, another account, or not a podtrust message)\n',
  )
  return 1
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Explain why a workload identity chain works or not, link by link',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string' },
        'service-account': { type: 'string' },
        'service-account-manifest': { type: 'string' },
        'role-arn': { type: 'string' },
        'pod-manifest': { type: 'string' },
        'token-file': { type: 'string' },
        cluster: { type: 'string' },
        'account-id': { type: 'string' },
        action: { type: 'string' },
        resource: { type: 'string' },
        'client-env': { type: 'boolean' },
        'env-file': { type: 'string' },
        home: { type: 'string' },
        nodes: { type: 'string' },
        'podtrust-imds': { type: 'string', multiple: true },
        k8s: { type: 'string', multiple: true },
        'decode-authorization-message': { type: 'string' },
        json: { type: 'boolean' },
        now: { type: 'string' },
        ...storeArgOptions,
      },
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
    const accountValue = accountFlag(values['account-id'])
    if (values['decode-authorization-message'] !== undefined) {
      const db = await openStore(values, io)
      try {
        return await decodeMessage(
          db,
          io,
          values['decode-authorization-message'],
          accountValue,
          values.json === true,
        )
      } finally {
        await db.close()
      }
    }
    const namespace = values.namespace
    const serviceAccount = values['service-account']
    if (namespace === undefined || serviceAccount === undefined)
      throw new UsageError('--namespace and --service-account are required')
    if ((values.action === undefined) !== (values.resource === undefined))
      throw new UsageError('--action and --resource go together')
    const now = values.now === undefined ? new Date() : new Date(values.now)
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now '${values.now}' is not a date`)

    let serviceAccountObject: DoctorInput['serviceAccountObject']
    if (values['service-account-manifest'] !== undefined) {
      const sa = readObject(io, values['service-account-manifest'], 'ServiceAccount')
      const meta = (sa.metadata ?? {}) as {
        annotations?: Record<string, string>
        labels?: Record<string, string>
      }
      serviceAccountObject = { annotations: meta.annotations ?? {}, labels: meta.labels ?? {} }
    }
    if (values['role-arn'] !== undefined) {
      serviceAccountObject = {
        annotations: {
          ...(serviceAccountObject?.annotations ?? {}),
          'eks.amazonaws.com/role-arn': values['role-arn'],
        },
        labels: serviceAccountObject?.labels ?? {},
      }
    }
    const pod =
      values['pod-manifest'] === undefined
        ? undefined
        : (readObject(io, values['pod-manifest'], 'Pod') as unknown as Pod)
    const token =
      values['token-file'] === undefined ? undefined : readText(io, values['token-file'])
    let client: ClientEnvironment | undefined
    if (values['env-file'] !== undefined || values['client-env'] === true) {
      const env =
        values['env-file'] !== undefined
          ? envFromLines(readText(io, values['env-file']))
          : (Object.fromEntries(
              Object.entries(io.env).filter(([, v]) => v !== undefined),
            ) as Record<string, string>)
      client = inspectClient(env, resolve(io.cwd, values.home ?? io.env['HOME'] ?? homedir()))
    }

    const node = nodeFacts(io, values.nodes, values['podtrust-imds'], values.k8s)

    const db = await openStore(values, io)
    let report: DoctorReport
    try {
      const accountId = await storeAccount(db, accountValue)
      const wanted = [serviceAccountObject?.annotations['eks.amazonaws.com/role-arn'] ?? ''].filter(
        (a) => a !== '',
      )
      const snap = await loadStoreSnapshot(db, accountId, { namespace, serviceAccount }, wanted)
      const gcp = await gcpPort(
        db,
        serviceAccountObject?.annotations['podtrust.io/gcp-workload-identity-provider'],
        serviceAccountObject?.annotations['iam.gke.io/gcp-service-account'],
      )
      report = diagnose({
        now,
        accountId,
        namespace,
        serviceAccount,
        ...(serviceAccountObject !== undefined ? { serviceAccountObject } : {}),
        ...(pod !== undefined ? { pod } : {}),
        ...(token !== undefined ? { token } : {}),
        ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
        ...(client !== undefined ? { client } : {}),
        ...(node !== undefined ? { node } : {}),
        ...(gcp !== undefined ? { gcp } : {}),
        ...(values.action !== undefined
          ? { action: values.action, resource: values.resource! }
          : {}),
        ...snap,
      })
    } finally {
      await db.close()
    }
    io.stdout.write(
      values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report),
    )
    return report.ok ? 0 : 1
  },
}
