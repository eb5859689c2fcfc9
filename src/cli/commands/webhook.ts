/**
 * @module cli/commands/webhook
 * `podtrust webhook serve`: the mutating admission webhook (drop-in for aws/amazon-eks-pod-identity-webhook
 * on `/mutate` and Azure/azure-workload-identity on `/mutate-v1-pod`, same flags where they exist).
 * `podtrust webhook mutate`: "what will the webhook do to my pod?": the same decoding and mutation on a
 * pod file, printing the JSON Patch and the mutated pod.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { stringify } from 'yaml'
import { UsageError } from '../../errors.ts'
import { decodeAdmissionReview } from '../../kube/admission.ts'
import { WebhookError } from '../../kube/errors.ts'
import {
  flagUsage,
  parseMutateFlags,
  parseServeFlags,
  type WebhookMutateOptions,
} from '../../kube/flags.ts'
import { MAX_MANIFEST_BYTES, parseManifests } from '../../kube/manifests.ts'
import { parseIdentitiesFile } from '../../kube/pod-identity.ts'
import { relevantKeys } from '../../kube/service-accounts.ts'
import { serviceAccountsFromText } from '../../kube/service-accounts-files.ts'
import { startWebhook } from '../../kube/webhook.ts'
import { applyJsonPatch, mutate } from '../../mutation/index.ts'
import type { MutationResult, Pod, ServiceAccount } from '../../mutation/types.ts'
import { createLogger } from '../../server/logger.ts'
import type { CliIo, Command } from '../command.ts'
import { dataDirOf } from '../store-options.ts'

const AZURE_USE_LABEL = 'azure.workload.identity/use'
const AZURE_TENANT_ANNOTATION = 'azure.workload.identity/tenant-id'

const usage = `Usage:
  podtrust webhook serve [flags]
  podtrust webhook mutate --pod POD.yaml [--service-account SA.yaml] [flags] [--patch|--json]

serve: the mutating admission webhook over HTTPS: POST /mutate (IRSA, Pod Identity, GCP; register with
failurePolicy Ignore), POST /mutate-v1-pod (Azure; failurePolicy Fail), GET /healthz; /metrics on the
metrics port. Flags are written as the reference webhooks' (--flag=value, --flag value, --bool=false).

mutate: decodes POD.yaml as the webhook would receive it and prints the JSON Patch and the mutated pod
(YAML); --patch prints only the patch (one JSON array), --json one object with everything.

Mutation flags (serve and mutate):
${flagUsage(['common'])}

Server flags (serve; accepted and ignored by mutate):
${flagUsage(['serve'])}

mutate flags:
${flagUsage(['mutate'])}
`

function readText(file: string, cwd: string, what: string): string {
  try {
    const path = resolve(cwd, file)
    const text = readFileSync(path, 'utf8')
    if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
      throw new UsageError(`${what} \`${file}\` is larger than ${MAX_MANIFEST_BYTES} bytes`)
    }
    return text
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError(
      `cannot read ${what} \`${file}\` (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
}

function readPod(options: WebhookMutateOptions, cwd: string): Pod {
  const text = readText(options.podFile, cwd, 'pod file')
  let docs: Record<string, unknown>[]
  try {
    docs = parseManifests(text, options.podFile)
  } catch (err) {
    if (err instanceof WebhookError) throw new UsageError(err.message)
    throw err
  }
  if (docs.length !== 1) {
    throw new UsageError(`\`${options.podFile}\` must hold one Pod, found ${docs.length} objects`)
  }
  const pod = docs[0] as Record<string, unknown>
  if (pod['kind'] !== undefined && pod['kind'] !== 'Pod') {
    throw new UsageError(`\`${options.podFile}\` is a ${String(pod['kind'])}, not a Pod`)
  }
  return pod as Pod
}

/**
 * The pod's ServiceAccount from `--service-account`, and the namespace the admission happens in: the
 * pod's own, else (a pod manifest without one) that of the only ServiceAccount of that name in the file,
 * else `default` (kubectl's).
 */
function findServiceAccount(
  options: WebhookMutateOptions,
  cwd: string,
  podNamespace: string | undefined,
  name: string,
): { serviceAccount: ServiceAccount | undefined; namespace: string } {
  if (options.serviceAccountFile === undefined) {
    return { serviceAccount: undefined, namespace: podNamespace ?? 'default' }
  }
  const text = readText(options.serviceAccountFile, cwd, 'ServiceAccount file')
  let all: ServiceAccount[]
  try {
    all = serviceAccountsFromText(
      text,
      options.serviceAccountFile,
      relevantKeys(options.config.aws.annotationPrefix),
      podNamespace ?? 'default',
    )
  } catch (err) {
    if (err instanceof WebhookError) throw new UsageError(err.message)
    throw err
  }
  const named = all.filter((s) => s.metadata.name === name)
  const namespace =
    podNamespace ?? (named.length === 1 ? named[0]?.metadata.namespace : undefined) ?? 'default'
  const serviceAccount = named.find((s) => s.metadata.namespace === namespace)
  if (serviceAccount === undefined) {
    throw new UsageError(
      `\`${options.serviceAccountFile}\` has no ServiceAccount \`${namespace}/${name}\``,
      `the pod uses ServiceAccount ${name} in ${namespace}; leave --service-account out to see a pod whose ServiceAccount is unknown`,
    )
  }
  return { serviceAccount, namespace }
}

function hasPodIdentity(options: WebhookMutateOptions, cwd: string, namespace: string, sa: string) {
  if (options.podIdentity) return true
  if (options.containerCredentialsConfig === undefined) return false
  const file = options.containerCredentialsConfig
  try {
    return parseIdentitiesFile(readText(file, cwd, 'container credentials file'), file).some(
      (i) => i.namespace === namespace && i.serviceAccount === sa,
    )
  } catch (err) {
    if (err instanceof WebhookError) throw new UsageError(err.message)
    throw err
  }
}

const uniformRandom = () => Math.random()

async function runMutate(argv: string[], io: CliIo): Promise<number> {
  const options = parseMutateFlags(argv, io.env)
  const raw = readPod(options, io.cwd)
  const labels = (raw.metadata?.labels ?? {}) as Record<string, unknown>
  const endpoint = options.endpoint ?? (labels[AZURE_USE_LABEL] === 'true' ? 'azure' : 'aws')
  const podNamespace =
    typeof raw.metadata?.namespace === 'string' && raw.metadata.namespace !== ''
      ? raw.metadata.namespace
      : undefined
  const saName =
    (typeof raw.spec?.serviceAccountName === 'string' && raw.spec.serviceAccountName) || 'default'
  const { serviceAccount, namespace } = findServiceAccount(options, io.cwd, podNamespace, saName)
  // The same decoding as the server: a pod the webhook would refuse is refused here with its message.
  const decoded = decodeAdmissionReview(
    Buffer.from(
      JSON.stringify({ request: { uid: 'podtrust-webhook-mutate', namespace, object: raw } }),
    ),
    endpoint,
  )
  if (!decoded.ok) {
    io.stderr.write(`podtrust: the webhook would deny this pod: ${decoded.message}\n`)
    return 1
  }
  const pod = decoded.request.pod
  if (
    endpoint === 'azure' &&
    options.tenantMissing &&
    serviceAccount?.metadata.annotations?.[AZURE_TENANT_ANNOTATION] === undefined
  ) {
    throw new UsageError(
      'the azure endpoint needs a tenant: --azure-tenant-id or AZURE_TENANT_ID',
      `or annotate the ServiceAccount with ${AZURE_TENANT_ANNOTATION}`,
    )
  }
  const result = mutate({
    endpoint,
    pod,
    namespace,
    serviceAccount,
    podIdentity: endpoint === 'aws' && hasPodIdentity(options, io.cwd, namespace, saName),
    config: options.config,
    random: uniformRandom,
  })
  return printResult(result, endpoint, pod, options.output, io)
}

function printResult(
  result: MutationResult,
  endpoint: 'aws' | 'azure',
  pod: Pod,
  output: WebhookMutateOptions['output'],
  io: CliIo,
): number {
  const patch = result.kind === 'patch' ? result.patch : []
  const mutated = applyJsonPatch(pod, patch)
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`)
  if (output === 'json') {
    io.stdout.write(
      `${JSON.stringify({
        endpoint,
        result: result.kind,
        ...(result.kind === 'patch' ? { modes: result.modes } : {}),
        ...(result.kind === 'allow' ? { reason: result.reason } : {}),
        ...(result.kind === 'deny' ? { message: result.message } : {}),
        warnings: result.warnings,
        patch,
        ...(result.kind === 'deny' ? {} : { pod: mutated }),
      })}\n`,
    )
    return result.kind === 'deny' ? 1 : 0
  }
  if (result.kind === 'deny') {
    io.stderr.write(`podtrust: denied (${endpoint} endpoint): ${result.message}\n`)
    return 1
  }
  if (output === 'patch') {
    io.stdout.write(`${JSON.stringify(patch)}\n`)
    return 0
  }
  const path = endpoint === 'aws' ? '/mutate' : '/mutate-v1-pod'
  const what =
    result.kind === 'patch'
      ? `mutated (${result.modes.join(', ') || 'no change'})`
      : `admitted unmutated: ${result.reason}`
  io.stdout.write(`# ${path}: ${what}\n# JSON Patch:\n${JSON.stringify(patch, null, 2)}\n`)
  io.stdout.write(`---\n# The pod after the patch:\n${stringify(mutated)}`)
  return 0
}

async function runServe(argv: string[], io: CliIo): Promise<number> {
  const options = parseServeFlags(argv, io.env)
  if (options.tls.kind === 'ca') options.tls.dataDir = dataDirOf(options.tls.dataDir, io)
  const log = createLogger({
    stream: io.stderr,
    level: options.logLevel,
    base: { component: 'webhook' },
  })
  const hook = await startWebhook(options, {
    env: io.env,
    log,
    defaultDataDir: dataDirOf(undefined, io),
  })
  if (hook.caBundle !== undefined) {
    io.stdout.write(`caBundle: ${hook.caBundle}\n`)
  }
  io.stdout.write(
    `podtrust webhook listening on https port ${hook.port} (/mutate, /mutate-v1-pod, /healthz), metrics on http port ${hook.metricsPort} (/metrics)\n`,
  )
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done())
    process.once('SIGTERM', () => done())
  })
  await hook.close()
  return 0
}

export const webhookCommand: Command = {
  name: 'webhook',
  summary: 'Run the mutating admission webhook, or show what it does to a pod',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === 'serve') return runServe(rest, io)
    if (sub === 'mutate') return runMutate(rest, io)
    throw new UsageError(
      sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`,
      'serve or mutate',
    )
  },
}
