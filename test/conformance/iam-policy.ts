/**
 * Conformance suite `iam-policy`: runs the sets in ../shared/conformance/iam-policy through podtrust's engine and
 * reports passed/total per set. `run(dir)` runs any folder of engine-cases files instead.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import {
  compilePolicy,
  engineCaseSimulation,
  isResourcePattern,
  parseEngineCase,
  simulate,
  validatePolicy,
} from '../../src/policy/index.ts'
import { normalizeContext } from '../../src/policy/context.ts'
import {
  evaluateCondition,
  prepareResource,
  prepareResourcePattern,
  resourceElementMatches,
} from '../../src/policy/evaluate.ts'
import { parsePrincipal } from '../../src/policy/principal.ts'
import type { PolicyType } from '../../src/policy/index.ts'
import { conformanceRoot, summarize, type SetResult, type SuiteResult } from './suite.ts'
import { disputes } from './iam-policy/disputed.ts'

function jsonFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p))
    else if (name.endsWith('.json')) out.push(p)
  }
  return out
}

interface CaseOutcome {
  name: string
  ok: boolean
  detail: string
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join()
}

/** Runs one engine-cases file; Discovery-mode and skipped cases are not counted (the README's rule). */
export function runEngineFile(
  file: string,
  label: string,
): { outcomes: CaseOutcome[]; disputed: string[] } {
  const cases = JSON.parse(readFileSync(file, 'utf8')) as unknown[]
  const outcomes: CaseOutcome[] = []
  const disputed: string[] = []
  for (const raw of cases) {
    const c = raw as {
      name?: string
      skip?: boolean
      simulation?: { mode?: string }
      expected?: { response: string; blockedBy?: string[] }
    }
    const name = c.name ?? '(unnamed)'
    if (c.skip === true || (c.simulation?.mode !== undefined && c.simulation.mode !== 'Strict'))
      continue
    if (c.expected === undefined) continue
    let expected = c.expected.response
    const expectedBlocked = c.expected.blockedBy ?? []
    // By file name and case name, so a copy of the corpus run from another folder is judged the same.
    const dispute = disputes.find((d) => basename(d.file) === basename(label) && d.name === name)
    if (dispute !== undefined) {
      expected = dispute.ours
      disputed.push(name)
    }
    try {
      // The corpus asks an analyzer's questions (a request resource may be a pattern): the simulator answers.
      const result = simulate(engineCaseSimulation(parseEngineCase(raw)))
      const ok =
        result.decision === expected &&
        (dispute !== undefined || sameSet(result.blockedBy, expectedBlocked))
      outcomes.push({
        name,
        ok,
        detail: `expected ${expected} [${expectedBlocked.join(',')}], got ${result.decision} [${result.blockedBy.join(',')}]${result.errors.length > 0 ? ` errors: ${result.errors.join('; ')}` : ''}`,
      })
    } catch (err) {
      outcomes.push({
        name,
        ok: false,
        detail: `threw ${err instanceof Error ? err.message : String(err)}`,
      })
    }
  }
  return { outcomes, disputed }
}

function toSet(name: string, outcomes: CaseOutcome[], disputed: string[] = []): SetResult {
  return {
    name:
      disputed.length > 0
        ? `${name} (${disputed.length} disputed, judged by the AWS docs: ${disputed.join('; ')})`
        : name,
    passed: outcomes.filter((o) => o.ok).length,
    total: outcomes.length,
    failures: outcomes.filter((o) => !o.ok).map((o) => `${o.name}: ${o.detail}`),
  }
}

/** Engine-case sets: one per top-level file or folder of `dir`. */
export function engineSets(dir: string, root: string): SetResult[] {
  const groups = new Map<string, { outcomes: CaseOutcome[]; disputed: string[] }>()
  for (const file of jsonFiles(dir)) {
    const rel = relative(dir, file)
    const top = rel.split('/')[0]!
    const group = `${relative(root, dir) || '.'}/${top}`
    const r = runEngineFile(file, relative(root, file))
    const g = groups.get(group) ?? { outcomes: [], disputed: [] }
    g.outcomes.push(...r.outcomes)
    g.disputed.push(...r.disputed)
    groups.set(group, g)
  }
  return [...groups].map(([name, g]) => toSet(name, g.outcomes, g.disputed))
}

interface OperatorFile {
  operator: string
  cases: {
    name: string
    requestContext?: Record<string, string | string[]>
    policyValues: string[]
    testValue: string
    expected: boolean
  }[]
}

export function operatorSet(file: string): SetResult {
  const data = JSON.parse(readFileSync(file, 'utf8')) as OperatorFile[]
  const outcomes: CaseOutcome[] = []
  for (const op of data) {
    for (const c of op.cases) {
      const name = `${op.operator}: ${c.name}`
      try {
        const key = 'podtrust:conformanceTestValue'
        const policy = compilePolicy(
          {
            Statement: {
              Effect: 'Allow',
              Action: '*',
              Resource: '*',
              Condition: { [op.operator]: { [key]: c.policyValues } },
            },
          },
          { assumeVersion: '2012-10-17' },
        )
        const condition = policy.statements[0]!.conditions[0]!
        const got = evaluateCondition(
          condition,
          normalizeContext({ ...c.requestContext, [key]: c.testValue }),
        )
        outcomes.push({
          name,
          ok: got === c.expected,
          detail: `expected ${c.expected}, got ${got}`,
        })
      } catch (err) {
        outcomes.push({
          name,
          ok: false,
          detail: `threw ${err instanceof Error ? err.message : String(err)}`,
        })
      }
    }
  }
  return toSet('operator_cases.json', outcomes)
}

interface ResourceCase {
  name: string
  resourceStatements?: string[]
  notResourceStatements?: string[]
  resource: { resource: string; accountId: string }
  effect?: 'Allow' | 'Deny'
  policyType?: string
  context?: Record<string, string | string[]>
  expectMatch: boolean
  wildcardOnlyAction?: boolean
}

const corpusPolicyTypes: Record<string, PolicyType> = {
  identity: 'identity',
  resource: 'resource',
  scp: 'scp',
  rcp: 'rcp',
  session: 'session',
  pb: 'boundary',
  vpce: 'vpce',
}
const policyTypeOf = (t: string | undefined): PolicyType =>
  corpusPolicyTypes[t ?? 'identity'] ?? 'identity'

export function resourceSet(file: string): SetResult {
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    resourceTests: ResourceCase[]
    notResourceTests: ResourceCase[]
  }
  const outcomes: CaseOutcome[] = []
  const disputed: string[] = []
  for (const c of [...data.resourceTests, ...data.notResourceTests]) {
    try {
      const element =
        c.resourceStatements !== undefined
          ? { Resource: c.resourceStatements }
          : { NotResource: c.notResourceStatements }
      // The harness builds the statement without Version but still substitutes variables (README).
      const policy = compilePolicy(
        { Statement: { Effect: c.effect ?? 'Allow', ...element } },
        { assumeVersion: '2012-10-17', type: policyTypeOf(c.policyType) },
      )
      const got = resourceElementMatches(policy.statements[0]!, {
        action: 's3:getbucket',
        resource: c.resource.resource,
        resourceParts: prepareResource(c.resource.resource),
        ctx: normalizeContext(c.context),
        principal: parsePrincipal('principal'),
        hasBoundary: false,
        // A request resource with wildcards is a simulation question (the corpus README: "iam-simulate's
        // modelling of analyzer questions"), answered as `simulate` does.
        pattern:
          c.wildcardOnlyAction !== true && isResourcePattern(c.resource.resource)
            ? prepareResourcePattern(c.resource.resource)
            : undefined,
      })
      const dispute = disputes.find(
        (d) => d.file === 'resource_match_cases.json' && d.name === c.name,
      )
      if (dispute !== undefined) disputed.push(c.name)
      const expected = dispute === undefined ? c.expectMatch : dispute.ours === 'true'
      outcomes.push({
        name: c.name,
        ok: got === expected,
        detail: `expected ${expected}, got ${got}`,
      })
    } catch (err) {
      outcomes.push({
        name: c.name,
        ok: false,
        detail: `threw ${err instanceof Error ? err.message : String(err)}`,
      })
    }
  }
  return toSet('resource_match_cases.json', outcomes, disputed)
}

export function motoSet(file: string): SetResult {
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    invalid: { document: unknown; message: string }[]
    valid: unknown[]
  }
  const outcomes: CaseOutcome[] = []
  data.invalid.forEach((c, i) => {
    const got = validatePolicy(JSON.stringify(c.document)).errors[0]?.message
    outcomes.push({
      name: `invalid[${i}]`,
      ok: got === c.message,
      detail: `expected ${JSON.stringify(c.message)}, got ${JSON.stringify(got)}`,
    })
  })
  data.valid.forEach((doc, i) => {
    const errors = validatePolicy(JSON.stringify(doc)).errors
    outcomes.push({
      name: `valid[${i}]`,
      ok: errors.length === 0,
      detail: `expected no error, got ${JSON.stringify(errors.map((e) => e.message))}`,
    })
  })
  return toSet('moto-validation', outcomes)
}

export async function run(dir?: string): Promise<SuiteResult> {
  const root = join(conformanceRoot(), 'iam-policy')
  if (dir !== undefined) return summarize(engineSets(dir, dir))
  return summarize([
    ...engineSets(join(root, 'engine-cases'), root),
    operatorSet(join(root, 'operator_cases.json')),
    resourceSet(join(root, 'resource_match_cases.json')),
    motoSet(join(root, 'moto-validation', 'create_policy_validation_cases.json')),
  ])
}
