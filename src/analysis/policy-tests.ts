/**
 * @module analysis/policy-tests
 * `podtrust test`: policy-as-code scenarios checked with the same engine STS uses. Pure: YAML text and a model
 * (roles with their policies, OIDC providers, Pod Identity associations) in, results with explanations out.
 *
 * Scenario file:
 * ```yaml
 * scenarios:
 *   - name: payments API reads invoices          # optional
 *     workload: payments/api                      # namespace/serviceaccount
 *     can: s3:GetObject                           # or cannot:; patterns allowed (iam:*)
 *     on: arn:aws:s3:::invoices/*                 # default "*"
 *   - workload: payments/api
 *     cannot: "iam:*"
 *   - role: arn:aws:iam::111122223333:role/deployer
 *     only-namespaces: [ci]                       # nobody outside these namespaces can assume it
 *   - role: arn:aws:iam::111122223333:role/app
 *     assumable-by: [payments/api]                # exactly these ServiceAccounts (of those known) can
 * ```
 * `can` holds when one of the workload's roles allows the action on the pattern's own witness (`invoices/*` →
 * `invoices/<marker>`, a name no narrower grant covers: the whole pattern must be granted); `cannot` holds when no
 * action matching the pattern is allowed on any resource matching `on` (wildcard intersection,
 * src/analysis/intersect.ts).
 */
import { parse } from 'yaml'
import { PodtrustError } from '../errors.ts'
import { explainDenial, type DoctorRole } from './doctor.ts'
import { allowsSome, fill } from './intersect.ts'
import type { OidcProvider, PodIdentityAssociation } from './model.ts'
import { engineOracle, type PermissionOracle } from './oracle.ts'
import {
  DEFAULT_AUDIENCE,
  evaluatePodIdentity,
  evaluateWebIdentity,
  subjectOf,
} from './reachability.ts'

export class ScenarioError extends PodtrustError<'SCENARIO_INVALID'> {
  constructor(message: string) {
    super('SCENARIO_INVALID', message, { hint: 'see docs/scan.md, "podtrust test"' })
  }
}

export type Scenario =
  | { kind: 'can' | 'cannot'; name: string; workload: string; action: string; resource: string }
  | { kind: 'only-namespaces'; name: string; role: string; namespaces: string[] }
  | { kind: 'assumable-by'; name: string; role: string; subjects: string[] }

export interface TestModel {
  now: Date
  roles: Map<string, DoctorRole>
  providers: OidcProvider[]
  associations: PodIdentityAssociation[]
  /** Known ServiceAccounts (`ns/sa`) and namespaces, for exhaustive "only" checks. */
  serviceAccounts: string[]
}

export interface ScenarioResult {
  scenario: Scenario
  ok: boolean
  detail: string
}

const PROBE = 'zz-podtrust-probe'

export function parseScenarios(text: string): Scenario[] {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw new ScenarioError(`scenario file is not YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  const list = Array.isArray(doc) ? doc : (doc as { scenarios?: unknown } | null)?.scenarios
  if (!Array.isArray(list) || list.length === 0)
    throw new ScenarioError('the file needs a non-empty `scenarios:` list')
  return list.map((raw, i) => {
    const s = raw as Record<string, unknown>
    const where = `scenarios[${i}]`
    const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : undefined)
    const strings = (k: string) =>
      Array.isArray(s[k])
        ? (s[k] as unknown[]).map(String)
        : typeof s[k] === 'string'
          ? [s[k] as string]
          : undefined
    if (typeof s !== 'object' || s === null) throw new ScenarioError(`${where} must be a mapping`)
    const workload = str('workload')
    const role = str('role')
    if (workload !== undefined) {
      if (!/^[^/\s]+\/[^/\s]+$/.test(workload))
        throw new ScenarioError(`${where}.workload must be namespace/serviceaccount`)
      const can = str('can')
      const cannot = str('cannot')
      if ((can === undefined) === (cannot === undefined))
        throw new ScenarioError(`${where} needs exactly one of can: or cannot:`)
      const action = (can ?? cannot)!
      const resource = str('on') ?? '*'
      return {
        kind: can !== undefined ? 'can' : 'cannot',
        name:
          str('name') ??
          `workload ${workload} ${can !== undefined ? 'can' : 'cannot'} ${action} on ${resource}`,
        workload,
        action,
        resource,
      }
    }
    if (role !== undefined) {
      const only = strings('only-namespaces') ?? strings('only-namespace')
      if (only !== undefined)
        return {
          kind: 'only-namespaces',
          name: str('name') ?? `only namespace(s) ${only.join(', ')} can assume ${role}`,
          role,
          namespaces: only,
        }
      const by = strings('assumable-by')
      if (by !== undefined)
        return {
          kind: 'assumable-by',
          name: str('name') ?? `${role} is assumable by exactly ${by.join(', ')}`,
          role,
          subjects: by,
        }
      throw new ScenarioError(`${where} with role: needs only-namespaces: or assumable-by:`)
    }
    throw new ScenarioError(`${where} needs workload: or role:`)
  })
}

/** Roles a ServiceAccount obtains: IRSA by evaluating every trust, plus its Pod Identity association's roles. */
export function rolesOfWorkload(
  model: TestModel,
  workload: string,
): { arn: string; via: string }[] {
  const [namespace, name] = workload.split('/') as [string, string]
  const out: { arn: string; via: string }[] = []
  for (const r of model.roles.values()) {
    for (const p of model.providers) {
      if (!p.clientIds.includes(DEFAULT_AUDIENCE)) continue
      if (
        evaluateWebIdentity(
          r.role,
          p,
          { sub: subjectOf(namespace, name), aud: DEFAULT_AUDIENCE },
          model.now,
        )?.decision === 'Allowed'
      ) {
        out.push({ arn: r.role.arn, via: 'irsa' })
        break
      }
    }
  }
  for (const a of model.associations) {
    if (a.namespace !== namespace || a.serviceAccount !== name) continue
    const role = model.roles.get(a.roleArn)
    if (
      role !== undefined &&
      evaluatePodIdentity(role.role, a, 'sts:AssumeRole', model.now)?.decision === 'Allowed'
    )
      out.push({ arn: a.targetRoleArn ?? a.roleArn, via: 'pod-identity' })
  }
  return out
}

/** Whether `sub` can assume the role through any provider (IRSA). */
function admits(model: TestModel, role: DoctorRole, sub: string): boolean {
  return model.providers.some(
    (p) =>
      evaluateWebIdentity(role.role, p, { sub, aud: DEFAULT_AUDIENCE }, model.now)?.decision ===
      'Allowed',
  )
}

export function runScenarios(
  scenarios: Scenario[],
  model: TestModel,
  oracle: PermissionOracle = engineOracle(),
): ScenarioResult[] {
  return scenarios.map((scenario) => {
    if (scenario.kind === 'can' || scenario.kind === 'cannot') {
      const roles = rolesOfWorkload(model, scenario.workload)
      if (roles.length === 0)
        return {
          scenario,
          ok: scenario.kind === 'cannot',
          detail: `${scenario.workload} obtains no role (no trust admits it, no Pod Identity association)`,
        }
      const allowedBy: string[] = []
      const explanations: string[] = []
      for (const { arn, via } of roles) {
        const role = model.roles.get(arn)
        if (role === undefined) continue
        const principal = {
          arn,
          identity: role.identity,
          ...(role.boundary !== undefined ? { boundary: role.boundary } : {}),
        }
        const context = { 'aws:PrincipalArn': arn, 'aws:PrincipalAccount': role.role.accountId }
        if (scenario.kind === 'can') {
          // "can A on R": the action (each concrete one named; a pattern's own witness) on the pattern's witness.
          const action = fill(scenario.action)
          const resource = fill(scenario.resource)
          const result = oracle.decide(principal, action, resource, context)
          if (result.decision === 'Allowed') allowedBy.push(`${role.role.name} (${via})`)
          else explanations.push(`${role.role.name}: ${explainDenial(result, context)}`)
        } else {
          const some = allowsSome(oracle, principal, scenario.action, scenario.resource, context)
          if (some.allowed) {
            allowedBy.push(`${role.role.name} (${via})`)
            explanations.push(
              `${role.role.name} allows ${some.witness!.action} on ${some.witness!.resource}`,
            )
          }
        }
      }
      if (scenario.kind === 'can')
        return {
          scenario,
          ok: allowedBy.length > 0,
          detail:
            allowedBy.length > 0
              ? `allowed through ${allowedBy.join(', ')}`
              : `denied for every role of the workload: ${explanations.join('; ')}`,
        }
      return {
        scenario,
        ok: allowedBy.length === 0,
        detail:
          allowedBy.length === 0
            ? `no role of ${scenario.workload} (${roles.map((r) => r.arn).join(', ')}) allows ${scenario.action} on ${scenario.resource}`
            : explanations.join('; '),
      }
    }
    const rest = scenario as Exclude<Scenario, { kind: 'can' | 'cannot' }>
    const role = model.roles.get(rest.role)
    if (role === undefined) return { scenario, ok: false, detail: `role ${rest.role} not found` }
    if (rest.kind === 'only-namespaces') {
      const outsiders: string[] = []
      const namespaces = new Set(model.serviceAccounts.map((s) => s.split('/')[0]!))
      const probes = [
        subjectOf(PROBE, PROBE),
        ...[...namespaces]
          .filter((n) => !rest.namespaces.includes(n))
          .map((n) => subjectOf(n, PROBE)),
      ]
      for (const sa of model.serviceAccounts) {
        const [ns, name] = sa.split('/') as [string, string]
        if (!rest.namespaces.includes(ns)) probes.push(subjectOf(ns, name))
      }
      for (const sub of probes) if (admits(model, role, sub)) outsiders.push(sub)
      for (const a of model.associations)
        if (a.roleArn === rest.role && !rest.namespaces.includes(a.namespace))
          outsiders.push(`Pod Identity association ${a.namespace}/${a.serviceAccount}`)
      return {
        scenario,
        ok: outsiders.length === 0,
        detail:
          outsiders.length === 0
            ? `no subject outside ${rest.namespaces.join(', ')} is admitted (probed ${probes.length})`
            : `also admitted: ${outsiders.join(', ')}`,
      }
    }
    const admitted = model.serviceAccounts.filter((sa) => {
      const [ns, name] = sa.split('/') as [string, string]
      return admits(model, role, subjectOf(ns, name))
    })
    const wide = admits(model, role, subjectOf(PROBE, PROBE))
    const want = [...rest.subjects].sort()
    const got = [
      ...new Set([
        ...admitted,
        ...rest.subjects.filter((s: string) =>
          admits(model, role, subjectOf(...(s.split('/') as [string, string]))),
        ),
      ]),
    ].sort()
    const ok = !wide && JSON.stringify(got) === JSON.stringify(want)
    return {
      scenario,
      ok,
      detail: ok
        ? `assumable by exactly ${want.join(', ')}`
        : wide
          ? 'the trust admits any ServiceAccount (a probe subject was allowed)'
          : `assumable by ${got.join(', ') || 'nobody'}`,
    }
  })
}

function yamlEscape(s: string): string {
  return JSON.stringify(s)
}

export function renderTap(results: ScenarioResult[]): string {
  const lines = ['TAP version 13', `1..${results.length}`]
  results.forEach((r, i) => {
    lines.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.scenario.name.replace(/#/g, '\\#')}`)
    if (!r.ok) lines.push('  ---', `  message: ${yamlEscape(r.detail)}`, '  ...')
  })
  const failed = results.filter((r) => !r.ok).length
  lines.push(`# pass ${results.length - failed}`, `# fail ${failed}`)
  return `${lines.join('\n')}\n`
}

function xml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}

export function renderJunit(results: ScenarioResult[], suite = 'podtrust test'): string {
  const failures = results.filter((r) => !r.ok).length
  const cases = results.map((r) =>
    r.ok
      ? `    <testcase classname="podtrust" name="${xml(r.scenario.name)}"/>`
      : `    <testcase classname="podtrust" name="${xml(r.scenario.name)}">\n      <failure message="${xml(r.detail)}">${xml(r.detail)}</failure>\n    </testcase>`,
  )
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${results.length}" failures="${failures}">\n  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`
}
