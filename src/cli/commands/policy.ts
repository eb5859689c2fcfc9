/**
 * @module cli/commands/policy
 * `podtrust policy validate` (IAM save-time errors + Access-Analyzer-style findings) and `podtrust policy simulate`
 * (one request through the policy engine, with its explanation).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { PodtrustError, UsageError } from '../../errors.ts'
import {
  simulate as simulateRequest,
  compilePolicy,
  engineCaseSimulation,
  parseEngineCase,
  policyTypes,
  validatePolicy,
  type SimulationRequest,
  type AuthorizationResult,
  type CompiledPolicy,
  type Finding,
  type PolicyType,
} from '../../policy/index.ts'
import type { CliIo, Command } from '../command.ts'

const usage = `Usage:
  podtrust policy validate FILE... [--type TYPE] [--json] [--strict]
  podtrust policy simulate --action ACTION --principal PRINCIPAL [--resource ARN] [policies...] [--context K=V]... [--json]
  podtrust policy simulate --request CASE.json [--json]

validate: checks each document as IAM does when saving it (exit 1 when IAM would reject it, with IAM's exact
MalformedPolicyDocument message) and reports Access-Analyzer-style findings (exit 0 unless --strict).
  --type TYPE      ${policyTypes.join('|')} (default managed: a customer managed identity policy)
  --strict         exit 1 on any finding too
  --json           machine-readable output

simulate: decides one request and explains it (exit 0 Allowed, 1 denied). A resource with * or ? asks about every
resource it names: an Allow counts when it could apply to one of them, a Deny only when it covers them all.
  --identity FILE          identity policy (repeatable)
  --resource-policy FILE   resource-based policy
  --trust FILE             role trust policy (a gate: it must allow by itself)
  --boundary FILE          permissions boundary (repeatable)
  --session FILE           session policy (repeatable)
  --scp FILE               one SCP level, root first (repeatable)
  --rcp FILE               one RCP level, root first; RCPFullAWSAccess is added to each (repeatable)
  --vpce FILE              VPC endpoint policy the request passes through (repeatable)
  --resource ARN           an ARN or a pattern; default "*" (any resource)
  --wildcard-only          the action has no resource-level permissions: "*" is the literal resource
  --resource-account ID    default: the principal's account
  --management-account ID  the organization's management account: SCPs and RCPs do not apply to it
  --context KEY=VALUE      condition key (repeatable; repeat a key, or give a JSON array, for a list)
  --request FILE           one case object in the conformance engine-cases format
  --json                   machine-readable output ("decision", "blockedBy", "matched", "unmatched")
`

function readText(io: CliIo, file: string): string {
  try {
    return readFileSync(resolve(io.cwd, file), 'utf8')
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error'
    throw new UsageError(`cannot read '${file}' (${code})`, 'give the path of a policy JSON file')
  }
}

function parseType(value: string | undefined): PolicyType {
  if (value === undefined) return 'managed'
  if (!(policyTypes as readonly string[]).includes(value)) {
    throw new UsageError(`unknown policy type '${value}'`, `use one of ${policyTypes.join(', ')}`)
  }
  return value as PolicyType
}

async function validate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { type: { type: 'string' }, json: { type: 'boolean' }, strict: { type: 'boolean' } },
  })
  if (positionals.length === 0)
    throw new UsageError('no policy file given', 'podtrust policy validate FILE')
  const type = parseType(values.type)
  const files = positionals.map((file) => {
    const r = validatePolicy(readText(io, file), { type })
    return { file, valid: r.errors.length === 0, errors: r.errors, findings: r.findings }
  })
  const rejected = files.some((f) => !f.valid)
  const flagged = files.some((f) => f.findings.length > 0)
  if (values.json === true) {
    const all = files.flatMap((f) =>
      [...f.errors, ...f.findings].map((x) => ({ file: f.file, ...x })),
    )
    io.stdout.write(
      `${JSON.stringify({ type, valid: !rejected, findings: all, files }, null, 2)}\n`,
    )
  } else {
    for (const f of files) {
      io.stdout.write(`${f.file}: ${f.valid ? 'accepted by IAM' : 'rejected by IAM'} (${type})\n`)
      const line = (x: Finding): string =>
        `  ${x.severity.padEnd(16)} ${x.code}: ${x.message}${x.path === undefined ? '' : ` [${x.path}]`}\n`
      for (const e of f.errors) io.stdout.write(line(e))
      for (const x of f.findings) io.stdout.write(line(x))
    }
  }
  return rejected || (values.strict === true && flagged) ? 1 : 0
}

function compileFile(io: CliIo, file: string, id: string, type: PolicyType): CompiledPolicy {
  const text = readText(io, file)
  try {
    return compilePolicy(text, { id, type })
  } catch (err) {
    if (err instanceof PodtrustError) {
      throw new UsageError(
        `policy file '${file}': ${err.message}`,
        'run podtrust policy validate on it',
      )
    }
    throw err
  }
}

function parseContext(pairs: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0)
      throw new UsageError(
        `--context '${pair}' is not KEY=VALUE`,
        'e.g. --context aws:SourceIp=10.0.0.1',
      )
    const key = pair.slice(0, eq)
    const raw = pair.slice(eq + 1)
    let value: string | string[] = raw
    if (raw.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(raw)
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
          throw new Error('not a list')
        value = parsed as string[]
      } catch {
        throw new UsageError(`--context ${key}: '${raw}' is not a JSON array of strings`)
      }
    }
    const prev = out[key]
    if (prev === undefined) out[key] = value
    else
      out[key] = [
        ...(Array.isArray(prev) ? prev : [prev]),
        ...(Array.isArray(value) ? value : [value]),
      ]
  }
  return out
}

function requestFromFile(io: CliIo, file: string): SimulationRequest {
  let json: unknown
  try {
    json = JSON.parse(readText(io, file))
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError(`request file '${file}' is not valid JSON`)
  }
  try {
    return engineCaseSimulation(parseEngineCase(json))
  } catch (err) {
    if (err instanceof PodtrustError) throw new UsageError(`request file '${file}': ${err.message}`)
    throw err
  }
}

function explain(r: AuthorizationResult): string {
  const lines = [`Decision: ${r.decision}`]
  if (r.blockedBy.length > 0) lines.push(`Blocked by: ${r.blockedBy.join(', ')}`)
  const ref = (s: {
    policyType: string
    policyId: string
    index: number
    sid?: string
    effect: string
  }): string =>
    `${s.policyType} policy '${s.policyId}' statement ${s.index}${s.sid === undefined || s.sid === '' ? '' : ` (${s.sid})`} ${s.effect}`
  for (const m of r.matched) lines.push(`  matched      ${ref(m)}`)
  for (const u of r.unmatched) {
    lines.push(
      `  not matched  ${ref(u)}: ${u.element}${u.detail === undefined ? '' : ` ${u.detail}`}`,
    )
  }
  for (const e of r.errors) lines.push(`  error: ${e}`)
  return `${lines.join('\n')}\n`
}

async function simulate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      action: { type: 'string' },
      principal: { type: 'string' },
      resource: { type: 'string' },
      'resource-account': { type: 'string' },
      'management-account': { type: 'string' },
      identity: { type: 'string', multiple: true },
      'resource-policy': { type: 'string' },
      trust: { type: 'string' },
      boundary: { type: 'string', multiple: true },
      session: { type: 'string', multiple: true },
      scp: { type: 'string', multiple: true },
      rcp: { type: 'string', multiple: true },
      vpce: { type: 'string', multiple: true },
      'wildcard-only': { type: 'boolean' },
      context: { type: 'string', multiple: true },
      request: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`)
  let request: SimulationRequest
  if (values.request !== undefined) {
    const others = Object.keys(values).filter((k) => k !== 'request' && k !== 'json')
    if (others.length > 0) throw new UsageError(`--request cannot be combined with --${others[0]}`)
    request = requestFromFile(io, values.request)
  } else {
    if (values.action === undefined)
      throw new UsageError('--action is required', 'e.g. --action s3:GetObject')
    if (values.principal === undefined) {
      throw new UsageError(
        '--principal is required',
        'an ARN, an account id, a service principal or anonymous',
      )
    }
    if (values.trust !== undefined && values['resource-policy'] !== undefined) {
      throw new UsageError('give either --trust or --resource-policy, not both')
    }
    const list = (files: string[] | undefined, type: PolicyType): CompiledPolicy[] =>
      (files ?? []).map((f, i) => compileFile(io, f, `${type}${i}`, type))
    const resourceFile = values.trust ?? values['resource-policy']
    request = {
      principal: values.principal,
      action: values.action,
      resource: values.resource ?? '*',
      ...(values['resource-account'] === undefined
        ? {}
        : { resourceAccount: values['resource-account'] }),
      ...(values['management-account'] === undefined
        ? {}
        : { managementAccount: values['management-account'] }),
      context: parseContext(values.context ?? []),
      identityPolicies: list(values.identity, 'identity'),
      ...(resourceFile === undefined
        ? {}
        : {
            resourcePolicy: compileFile(
              io,
              resourceFile,
              'resource',
              values.trust === undefined ? 'resource' : 'trust',
            ),
            resourcePolicyIsGate: values.trust !== undefined,
          }),
      permissionBoundaries: list(values.boundary, 'boundary'),
      ...(values.vpce === undefined ? {} : { endpointPolicies: list(values.vpce, 'vpce') }),
      ...(values['wildcard-only'] === true ? { wildcardOnlyAction: true } : {}),
      ...(values.session === undefined ? {} : { sessionPolicies: list(values.session, 'session') }),
      ...(values.scp === undefined
        ? {}
        : {
            serviceControlPolicies: list(values.scp, 'scp').map((p, i) => ({
              orgIdentifier: `level${i}`,
              policies: [p],
            })),
          }),
      ...(values.rcp === undefined
        ? {}
        : {
            resourceControlPolicies: list(values.rcp, 'rcp').map((p, i) => ({
              orgIdentifier: `level${i}`,
              policies: [p],
            })),
          }),
    }
  }
  const result = simulateRequest(request)
  if (values.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else io.stdout.write(explain(result))
  return result.decision === 'Allowed' ? 0 : 1
}

export const policyCommand: Command = {
  name: 'policy',
  summary: 'Validate IAM policy documents and simulate requests through the policy engine',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === 'validate') return validate(rest, io)
    if (sub === 'simulate') return simulate(rest, io)
    throw new UsageError(
      sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`,
      'use validate or simulate',
    )
  },
}
