/**
 * `npm run bench:scan`: `podtrust scan`'s core on generated inputs at three sizes (default 100×1,000,
 * 1,000×10,000 and 10,000 roles × 100,000 pods; see generate.ts), each in a fresh child process pinned to one
 * core (taskset when present): parse (with the IAM action data the CLI loads), scan (with PERM-003 and the
 * federation rules the CLI passes) and JSON-render times and the peak RSS. Baseline measured in the same
 * run: reachability by naive all-pairs evaluation (every role × every ServiceAccount × every provider, no index)
 * at the two smaller sizes, against the indexed reachability on the same inputs (same edges asserted).
 * Goal (issue 14): the largest size in under 60 s on one core, growth near linear.
 * Usage: npm run bench:scan [-- --sizes 100x1000,1000x10000,10000x100000 --json]
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseGaad } from '../../src/analysis/inputs/gaad.ts'
import { buildKubeInventory, parseKubeDocuments } from '../../src/analysis/inputs/kube.ts'
import { parseOidcProviders } from '../../src/analysis/inputs/side.ts'
import {
  clusterProviders,
  evaluateWebIdentity,
  irsaReachability,
  subjectOf,
} from '../../src/analysis/reachability.ts'
import { renderJson } from '../../src/analysis/render/text.ts'
import { scan } from '../../src/analysis/scan.ts'
import { loadActionCatalog } from '../../src/cli/action-data.ts'
import { federationEvaluator } from '../../src/cli/scan-federation.ts'
import { generate } from './generate.ts'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100x1000,1000x10000,10000x100000' },
    child: { type: 'string' },
    baseline: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})

interface ChildResult {
  roles: number
  pods: number
  parseMs: number
  scanMs: number
  renderMs: number
  totalMs: number
  /** CPU time of the child (user + system): on a shared machine the fair measure of one core's work. */
  cpuMs: number
  peakRssMb: number
  findings: number
  trustEvaluations: number
  edges: number
  baseline?: {
    naiveMs: number
    indexedMs: number
    naiveEvaluations: number
    indexedEvaluations: number
  }
}

async function child(dir: string): Promise<ChildResult> {
  const t0 = performance.now()
  const read = (n: string) => readFileSync(join(dir, n), 'utf8')
  const parsed = parseKubeDocuments([
    { path: 'sa.json', text: read('sa.json') },
    { path: 'pods.json', text: read('pods.json') },
  ])
  const kube = buildKubeInventory(parsed.objects, parsed.skipped)
  const iam = parseGaad(read('gaad.json'))
  const oidcProviders = parseOidcProviders(JSON.parse(read('providers.json')), 'providers.json')
  // What the CLI adds: the IAM action data PERM-003 reads, and the Azure/GCP federation rules.
  const actionCatalog = await loadActionCatalog(iam)
  const t1 = performance.now()
  const report = scan(
    { kube, iam, side: { oidcProviders } },
    { now: new Date('2026-12-01T00:00:00Z'), actionCatalog, federation: federationEvaluator() },
  )
  const t2 = performance.now()
  const json = renderJson(report)
  const t3 = performance.now()
  const out: ChildResult = {
    roles: iam.roles.size,
    pods: kube.pods.length,
    parseMs: t1 - t0,
    scanMs: t2 - t1,
    renderMs: t3 - t2,
    totalMs: t3 - t0,
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    findings: report.findings.length,
    trustEvaluations: report.stats.trustEvaluations,
    edges: report.edges.length,
  }
  if (json.length === 0) throw new Error('empty report')
  if (values.baseline) {
    const now = new Date('2026-12-01T00:00:00Z')
    const providers = clusterProviders(iam.roles.values(), oidcProviders, undefined)
    const b0 = performance.now()
    const indexed = irsaReachability(
      kube.serviceAccounts.values(),
      iam.roles.values(),
      providers,
      now,
    )
    const b1 = performance.now()
    let naiveEdges = 0
    let naiveEvaluations = 0
    for (const p of providers)
      for (const role of iam.roles.values())
        for (const sa of kube.serviceAccounts.values()) {
          naiveEvaluations++
          if (
            evaluateWebIdentity(
              role,
              p,
              { sub: subjectOf(sa.namespace, sa.name), aud: 'sts.amazonaws.com' },
              now,
            )?.decision === 'Allowed'
          )
            naiveEdges++
        }
    const b2 = performance.now()
    if (naiveEdges !== indexed.edges.length)
      throw new Error(
        `index is not exact: naive ${naiveEdges} edges, indexed ${indexed.edges.length}`,
      )
    out.baseline = {
      naiveMs: b2 - b1,
      indexedMs: b1 - b0,
      naiveEvaluations,
      indexedEvaluations: indexed.evaluations,
    }
  }
  return out
}

if (values.child !== undefined) {
  process.stdout.write(`${JSON.stringify(await child(values.child))}\n`)
} else {
  const sizes = values.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number])
  const results: ChildResult[] = []
  const taskset = spawnSync('taskset', ['--version']).status === 0
  for (const [i, [roles, pods]] of sizes.entries()) {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-bench-scan-'))
    try {
      const g = generate(roles, pods)
      writeFileSync(join(dir, 'gaad.json'), g.gaad)
      writeFileSync(join(dir, 'pods.json'), g.pods)
      writeFileSync(join(dir, 'sa.json'), g.serviceAccounts)
      writeFileSync(join(dir, 'providers.json'), g.providers)
      const args = [
        '--import',
        'tsx',
        new URL('./run.ts', import.meta.url).pathname,
        '--child',
        dir,
        ...(i < sizes.length - 1 ? ['--baseline'] : []),
      ]
      const cmd = taskset ? 'taskset' : process.execPath
      const argv = taskset
        ? ['-c', '0', process.execPath, '--max-old-space-size=8192', ...args]
        : ['--max-old-space-size=8192', ...args]
      const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26 })
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
      results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  else {
    const f = (n: number) => n.toFixed(0).padStart(8)
    console.log(`bench:scan (one core${taskset ? ', taskset -c 0' : ''}; times in ms)`)
    console.log(
      '   roles     pods    parse     scan   render    total      cpu  peak MB  findings  trust evals  µs/(role+pod)',
    )
    for (const r of results) {
      console.log(
        `${String(r.roles).padStart(8)} ${String(r.pods).padStart(8)} ${f(r.parseMs)} ${f(r.scanMs)} ${f(r.renderMs)} ${f(r.totalMs)} ${f(r.cpuMs)} ${f(r.peakRssMb)} ${String(r.findings).padStart(9)} ${String(r.trustEvaluations).padStart(12)} ${((r.totalMs * 1000) / (r.roles + r.pods)).toFixed(1).padStart(14)}`,
      )
    }
    for (const r of results.filter((x) => x.baseline !== undefined)) {
      const b = r.baseline!
      console.log(
        `baseline ${r.roles} roles: naive all-pairs reachability ${b.naiveMs.toFixed(0)} ms (${b.naiveEvaluations} evaluations) vs indexed ${b.indexedMs.toFixed(0)} ms (${b.indexedEvaluations}): ${(b.naiveMs / b.indexedMs).toFixed(1)}× faster, same edges`,
      )
    }
    const last = results.at(-1)!
    console.log(
      `goal: largest (${last.roles} roles × ${last.pods} pods) < 60 s on one core: ${last.totalMs < 60_000 ? 'met' : 'NOT met'} (${(last.totalMs / 1000).toFixed(1)} s wall, ${(last.cpuMs / 1000).toFixed(1)} s CPU)`,
    )
  }
}
