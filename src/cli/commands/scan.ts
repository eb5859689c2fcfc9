/**
 * @module cli/commands/scan
 * `podtrust scan`: the offline auditor. This module is the adapter: it reads files and folders, shows progress on
 * a terminal, writes the report; the analysis is the pure core in src/analysis/. See docs/scan.md.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UsageError } from '../../errors.ts'
import { emptyIamInventory, parseGaad } from '../../analysis/inputs/gaad.ts'
import {
  buildKubeInventory,
  parseKubeDocuments,
  type TextInput,
} from '../../analysis/inputs/kube.ts'
import {
  parseAccessKeys,
  parseJsonInput,
  parseNodes,
  podtrustImdsNode,
  parseOidcProviders,
  parsePodIdentityAssociations,
} from '../../analysis/inputs/side.ts'
import {
  parseAksClusters,
  parseAzureFederatedCredentials,
  parseAzureIdentities,
  parseAzureRoleAssignments,
  parseAzureRoleDefinitions,
} from '../../analysis/inputs/azure.ts'
import {
  parseGcpPolicy,
  parseGcpPolicyOwner,
  parseGcpProviders,
  parseGkeClusters,
} from '../../analysis/inputs/gcp.ts'
import { parseClusterJwks } from '../../analysis/inputs/jwks.ts'
import { isSeverity, type FindingSeverity, type ScanInputs } from '../../analysis/model.ts'
import { renderHtml } from '../../analysis/render/html.ts'
import { renderSarif } from '../../analysis/render/sarif.ts'
import { renderJson, renderText } from '../../analysis/render/text.ts'
import { failsOn, scan } from '../../analysis/scan.ts'
import { loadActionCatalog } from '../action-data.ts'
import type { CliIo, Command } from '../command.ts'
import { federationEvaluator } from '../scan-federation.ts'
import { openStore } from '../store-options.ts'
import { loadStoreAsScanJson, storeAccount } from '../store-snapshot.ts'

const usage = `Usage:
  podtrust scan --k8s PATH... [--gaad FILE | --data-dir DIR | --store URL] [--oidc-providers FILE] [--pod-identity-associations FILE]
                [--nodes FILE] [--podtrust-imds ROLE_ARN] [--access-keys FILE] [--issuer URL]... [--known-account ID]...
                [--azure-federated-credentials [CLIENT_ID=]FILE]... [--azure-identities FILE] [--azure-role-assignments FILE]
                [--azure-role-definitions FILE] [--aks-clusters FILE] [--gcp-providers FILE]... [--gcp-iam-policy RESOURCE=FILE]...
                [--gke-clusters FILE] [--jwks CLUSTER=FILE]...
                [--all-principals] [--now ISO8601] [--format text|json|sarif|html] [--out FILE]
                [--fail-on critical|high|medium|low|info]

Audits which pod can obtain which cloud role, with which permissions, and reports the checks of docs/scan.md.
  --k8s PATH...                   manifests or folders (YAML/JSON, multi-document, List kinds, kubectl -o json,
                                  kustomize output); repeatable, several paths per flag
  --gaad FILE                     aws iam get-account-authorization-details output (either encoding)
  --data-dir DIR, --store URL     podtrust's own store instead: its roles, users, policies, OIDC providers,
                                  Pod Identity associations, access keys, Azure federated credentials and GCP
                                  providers and bindings (--account-id picks the account)
  --oidc-providers FILE           list-open-id-connect-providers / get-open-id-connect-provider outputs
  --pod-identity-associations FILE  describe-pod-identity-association outputs
  --nodes FILE                    aws ec2 describe-instances output (IMDS MetadataOptions, instance profiles)
  --podtrust-imds ROLE_ARN        the nodes serve podtrust's metadata endpoint (up|agent --imds-role ROLE_ARN):
                                  IMDSv2 tokens, no hop limit, so every pod that can route to it gets the role
  --access-keys FILE              aws iam list-access-keys output (optionally with LastUsedDate)
  --issuer URL                    the cluster's OIDC issuer (default: every non-CI provider in the inputs)
  --known-account ID              accounts that are yours (cross-account checks)
  --azure-federated-credentials [CLIENT_ID=]FILE
                                  az identity federated-credential list output (repeatable); az ad app
                                  federated-credential list output needs the app's CLIENT_ID= in front
  --azure-identities FILE         az identity list (or az ad sp list) output: client and principal ids
  --azure-role-assignments FILE   az role assignment list --all output
  --azure-role-definitions FILE   az role definition list --custom-role-only true output (custom roles)
  --aks-clusters FILE             az aks show / az aks list output (OIDC issuer, kubelet identity)
  --gcp-providers FILE            gcloud iam workload-identity-pools [providers] list --format=json (repeatable)
  --gcp-iam-policy RESOURCE=FILE  gcloud projects|iam service-accounts get-iam-policy --format=json, named by
                                  projects/ID, folders/N, organizations/N or serviceAccounts/EMAIL (repeatable)
  --gke-clusters FILE             gcloud container clusters list --format=json
  --jwks CLUSTER=FILE             a cluster's kubectl get --raw /openid/v1/jwks (repeatable; shared keys: X-001)
  --all-principals                run permission checks on every role and user, not only pod-reachable ones
  --now ISO8601                   the time for RoleLastUsed/key age checks (default: now)
  --format FORMAT                 text (default), json, sarif (2.1.0) or html (self-contained, offline)
  --out FILE                      write the report there instead of stdout
  --fail-on SEVERITY              exit 1 when a finding is at or above SEVERITY

Exit codes: 0 no finding at the --fail-on threshold, 1 findings at or above it, 2 bad arguments or inputs.
`

const MULTI = new Set(['--k8s'])

const INPUT_FILE_FLAGS = [
  '--k8s',
  '--gaad',
  '--data-dir',
  '--oidc-providers',
  '--pod-identity-associations',
  '--nodes',
  '--access-keys',
  '--azure-federated-credentials',
  '--azure-identities',
  '--azure-role-assignments',
  '--azure-role-definitions',
  '--aks-clusters',
  '--gcp-providers',
  '--gcp-iam-policy',
  '--gke-clusters',
  '--jwks',
]

/** `--k8s a b c` takes every following argument up to the next flag. */
export function splitArgs(argv: string[]): { flags: Map<string, string[]>; bools: Set<string> } {
  const flags = new Map<string, string[]>()
  const bools = new Set<string>()
  const valued = new Set([
    ...INPUT_FILE_FLAGS,
    '--podtrust-imds',
    '--issuer',
    '--known-account',
    '--now',
    '--format',
    '--out',
    '--fail-on',
    '--store',
    '--account-id',
  ])
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!
    let inline: string | undefined
    const eq = arg.indexOf('=')
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1)
      arg = arg.slice(0, eq)
    }
    if (arg === '--all-principals') {
      bools.add(arg)
      continue
    }
    if (!valued.has(arg)) throw new UsageError(`unknown argument '${argv[i]}'`)
    const values = flags.get(arg) ?? []
    if (inline !== undefined) values.push(inline)
    else {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`)
      values.push(next)
      i++
      if (MULTI.has(arg))
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) values.push(argv[++i]!)
    }
    flags.set(arg, values)
  }
  return { flags, bools }
}

function readText(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read '${file}' (${(err as { code?: string }).code ?? 'error'})`)
  }
}

/** Manifest files under the paths: files as given, folders walked for .yaml/.yml/.json (hidden entries skipped). */
export function collectManifestFiles(io: CliIo, paths: string[]): TextInput[] {
  const out: TextInput[] = []
  const walk = (shown: string, full: string) => {
    let st
    try {
      st = statSync(full)
    } catch (err) {
      throw new UsageError(`cannot read '${shown}' (${(err as { code?: string }).code ?? 'error'})`)
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(full).sort()) {
        if (name.startsWith('.')) continue
        const child = join(full, name)
        const childShown = join(shown, name)
        if (statSync(child).isDirectory()) walk(childShown, child)
        else if (/\.(ya?ml|json)$/i.test(name)) walk(childShown, child)
      }
    } else out.push({ path: shown, text: readFileSync(full, 'utf8') })
  }
  for (const p of paths) walk(p, resolve(io.cwd, p))
  return out
}

function progress(io: CliIo): ((phase: string, done: number, total: number) => void) | undefined {
  const stream = io.stderr as NodeJS.WriteStream
  if (stream.isTTY !== true) return undefined
  let last = 0
  return (phase, done, total) => {
    const now = Date.now()
    if (now - last < 100 && done < total) return
    last = now
    const width = 30
    const filled = total === 0 ? width : Math.round((done / total) * width)
    stream.write(
      `\r${phase.padEnd(13)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
    )
    if (done >= total) stream.write('\n')
  }
}

export function loadScanInputs(io: CliIo, flags: Map<string, string[]>): ScanInputs {
  const one = (name: string): string | undefined => {
    const v = flags.get(name)
    if (v !== undefined && v.length > 1) throw new UsageError(`${name} takes one file`)
    return v?.[0]
  }
  const k8sPaths = flags.get('--k8s') ?? []
  const gaadFile = one('--gaad')
  const cloudFiles = [
    '--azure-federated-credentials',
    '--azure-role-assignments',
    '--aks-clusters',
    '--gcp-providers',
    '--gcp-iam-policy',
    '--gke-clusters',
  ].some((f) => flags.has(f))
  if (k8sPaths.length === 0 && gaadFile === undefined && !cloudFiles)
    throw new UsageError(
      'nothing to scan',
      'give --k8s PATH... and/or --gaad FILE (or Azure/GCP inputs)',
    )
  const files = collectManifestFiles(io, k8sPaths)
  const parsed = parseKubeDocuments(files)
  const kube = buildKubeInventory(parsed.objects, parsed.skipped)
  const iam =
    gaadFile === undefined ? emptyIamInventory() : parseGaad(readText(io, gaadFile), gaadFile)
  const accountHint = iam.accounts.size === 1 ? [...iam.accounts][0] : undefined
  const side: ScanInputs['side'] = {}
  const providers = one('--oidc-providers')
  if (providers !== undefined)
    side.oidcProviders = parseOidcProviders(
      parseJsonInput(readText(io, providers), providers),
      providers,
      accountHint,
    )
  const assoc = one('--pod-identity-associations')
  if (assoc !== undefined)
    side.associations = parsePodIdentityAssociations(
      parseJsonInput(readText(io, assoc), assoc),
      assoc,
    )
  const nodes = one('--nodes')
  if (nodes !== undefined)
    side.nodes = parseNodes(parseJsonInput(readText(io, nodes), nodes), nodes)
  const keys = one('--access-keys')
  if (keys !== undefined)
    side.accessKeys = parseAccessKeys(parseJsonInput(readText(io, keys), keys), keys)
  addPodtrustImds(side, flags)
  addCloudInputs(io, flags, side)
  return { kube, iam, side }
}

/** `NAME=FILE`: the name before the first `=` when it looks like `pattern`, else the whole value is the file. */
function named(value: string, pattern: RegExp): { name?: string; file: string } {
  const eq = value.indexOf('=')
  if (eq > 0 && pattern.test(value.slice(0, eq)))
    return { name: value.slice(0, eq), file: value.slice(eq + 1) }
  return { file: value }
}

/** The Azure, GCP and cluster-key inputs (files), added to whatever the store or the AWS files gave. */
function addCloudInputs(io: CliIo, flags: Map<string, string[]>, side: ScanInputs['side']): void {
  const one = (name: string): string | undefined => {
    const v = flags.get(name)
    if (v !== undefined && v.length > 1) throw new UsageError(`${name} takes one file`)
    return v?.[0]
  }
  const json = (file: string) => parseJsonInput(readText(io, file), file)
  const directory = { ...(side.azureDirectory ?? {}) }
  const identities = one('--azure-identities')
  if (identities !== undefined)
    directory.identities = parseAzureIdentities(json(identities), identities)
  const assignments = one('--azure-role-assignments')
  if (assignments !== undefined)
    directory.roleAssignments = parseAzureRoleAssignments(json(assignments), assignments)
  const definitions = one('--azure-role-definitions')
  if (definitions !== undefined)
    directory.roleDefinitions = parseAzureRoleDefinitions(json(definitions), definitions)
  const aks = one('--aks-clusters')
  if (aks !== undefined) directory.clusters = parseAksClusters(json(aks), aks)
  if (Object.keys(directory).length > 0) side.azureDirectory = directory
  for (const value of flags.get('--azure-federated-credentials') ?? []) {
    const { name, file } = named(value, /^[0-9a-f-]{36}$/i)
    side.azure = [
      ...(side.azure ?? []),
      ...parseAzureFederatedCredentials(json(file), file, {
        ...(name !== undefined ? { owner: name } : {}),
        ...(directory.identities !== undefined ? { identities: directory.identities } : {}),
      }),
    ]
  }

  const providerFiles = flags.get('--gcp-providers') ?? []
  const policies = flags.get('--gcp-iam-policy') ?? []
  const gke = one('--gke-clusters')
  if (providerFiles.length > 0 || policies.length > 0 || gke !== undefined) {
    const gcp = side.gcp ?? { providers: [], serviceAccounts: [], serviceAccountsKnown: false }
    for (const file of providerFiles)
      gcp.providers = [...gcp.providers, ...parseGcpProviders(json(file), file)]
    for (const value of policies) {
      const { name, file } = named(value, /^(projects|folders|organizations|serviceAccounts)\//)
      const owner = name === undefined ? undefined : parseGcpPolicyOwner(name)
      if (owner === undefined)
        throw new UsageError(
          `--gcp-iam-policy '${value}' does not name its resource`,
          'give RESOURCE=FILE with RESOURCE projects/ID, folders/N, organizations/N or serviceAccounts/EMAIL',
        )
      const bindings = parseGcpPolicy(json(file), file)
      if (owner.kind === 'serviceAccount') {
        gcp.serviceAccounts = [
          ...gcp.serviceAccounts,
          { email: owner.email, projectId: owner.projectId, bindings },
        ]
        gcp.serviceAccountsKnown = true
      } else
        gcp.resourcePolicies = [
          ...(gcp.resourcePolicies ?? []),
          { resource: owner.resource, bindings },
        ]
    }
    if (gke !== undefined) gcp.clusters = parseGkeClusters(json(gke), gke)
    side.gcp = gcp
  }
  for (const value of flags.get('--jwks') ?? []) {
    const { name, file } = named(value, /^[\w.:-]+$/)
    if (name === undefined)
      throw new UsageError(`--jwks '${value}' does not name its cluster`, 'give CLUSTER=FILE')
    side.clusterJwks = [...(side.clusterJwks ?? []), parseClusterJwks(json(file), file, name)]
  }
}

/** Scan inputs from podtrust's own store (the store is read as the same JSON shapes the AWS CLI prints). */
/** `--podtrust-imds ROLE_ARN`: podtrust's metadata endpoint as one more node the pods may reach. */
function addPodtrustImds(side: ScanInputs['side'], flags: Map<string, string[]>): void {
  for (const arn of flags.get('--podtrust-imds') ?? []) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn))
      throw new UsageError(`--podtrust-imds '${arn}' is not a role ARN`)
    side.nodes = [...(side.nodes ?? []), podtrustImdsNode(arn)]
  }
}

async function loadStoreInputs(io: CliIo, flags: Map<string, string[]>): Promise<ScanInputs> {
  const files = collectManifestFiles(io, flags.get('--k8s') ?? [])
  const parsed = parseKubeDocuments(files)
  const db = await openStore(
    {
      ...(flags.has('--data-dir') ? { 'data-dir': flags.get('--data-dir')![0]! } : {}),
      ...(flags.has('--store') ? { store: flags.get('--store')![0]! } : {}),
    },
    io,
  )
  try {
    const accountId = await storeAccount(db, flags.get('--account-id')?.[0])
    const json = await loadStoreAsScanJson(db, accountId)
    const side: ScanInputs['side'] = {
      oidcProviders: parseOidcProviders(json.providers, 'store', accountId),
      associations: parsePodIdentityAssociations(json.associations, 'store'),
      accessKeys: parseAccessKeys(json.accessKeys, 'store'),
      azure: json.azure,
      gcp: json.gcp,
    }
    addPodtrustImds(side, flags)
    addCloudInputs(io, flags, side)
    return {
      kube: buildKubeInventory(parsed.objects, parsed.skipped),
      iam: parseGaad(json.gaad, 'store'),
      side,
    }
  } finally {
    await db.close()
  }
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'Audit which pod can reach which cloud role, with which permissions (offline)',
  usage,
  async run(argv, io) {
    const { flags, bools } = splitArgs(argv)
    const format = flags.get('--format')?.[0] ?? 'text'
    if (!['text', 'json', 'sarif', 'html'].includes(format))
      throw new UsageError(`unknown --format '${format}'`, 'use text, json, sarif or html')
    const failOn = flags.get('--fail-on')?.[0]
    if (failOn !== undefined && !isSeverity(failOn))
      throw new UsageError(
        `unknown --fail-on '${failOn}'`,
        'use critical, high, medium, low or info',
      )
    const nowText = flags.get('--now')?.[0]
    const now = nowText === undefined ? new Date() : new Date(nowText)
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now '${nowText}' is not a date`)
    let inputs: ScanInputs
    try {
      if (flags.has('--data-dir') || flags.has('--store')) {
        if (flags.has('--gaad')) throw new UsageError('give --gaad or --data-dir/--store, not both')
        inputs = await loadStoreInputs(io, flags)
      } else inputs = loadScanInputs(io, flags)
    } catch (err) {
      if (err instanceof UsageError) throw err
      const e = err as Error & { hint?: string }
      throw new UsageError(e.message, e.hint)
    }
    const onProgress = progress(io)
    const issuers = flags.get('--issuer')
    const knownAccounts = flags.get('--known-account')
    const actionCatalog = await loadActionCatalog(inputs.iam)
    const report = scan(inputs, {
      now,
      federation: federationEvaluator(),
      actionCatalog,
      ...(issuers !== undefined ? { issuers } : {}),
      ...(knownAccounts !== undefined ? { knownAccounts } : {}),
      allPrincipals: bools.has('--all-principals'),
      ...(onProgress !== undefined ? { onProgress } : {}),
    })
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string }
    const text =
      format === 'json'
        ? renderJson(report)
        : format === 'sarif'
          ? renderSarif(report, { version: pkg.version })
          : format === 'html'
            ? renderHtml(report, {
                generatedAt: now.toISOString(),
                // File inputs only: a --store URL may carry a password.
                inputs: INPUT_FILE_FLAGS.flatMap((name) => flags.get(name) ?? []),
              })
            : renderText(report)
    const out = flags.get('--out')?.[0]
    if (out !== undefined) writeFileSync(resolve(io.cwd, out), text)
    else io.stdout.write(text)
    return failsOn(report, failOn as FindingSeverity | undefined) ? 1 : 0
  },
}
