/**
 * `npm run bench:cli`: start-up cost of the installed CLI. Wall time of `podtrust --version` and
 * `podtrust --help` from the compiled dist/ (built first with scripts/build.mjs, as `npm pack` builds it)
 * beside bare `node -e 0`, in the same run: rounds alternate the three commands so drift in machine load hits
 * each alike; medians are printed with their ratio to bare node. Goals (issue 10): --version ≤ 3×,
 * --help ≤ 6×. BENCH_RUNS overrides the number of rounds (default 21); BENCH_NO_BUILD=1 skips the build.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url))
const runs = Number(process.env['BENCH_RUNS'] ?? 21)

if (process.env['BENCH_NO_BUILD'] !== '1' || !existsSync(bin)) {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) throw new Error('bench:cli: the build failed')
}

interface Case {
  name: string
  args: string[]
  goal?: number
  times: number[]
}

const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'], times: [] },
  { name: 'podtrust --version', args: [bin, '--version'], goal: 3, times: [] },
  { name: 'podtrust --help', args: [bin, '--help'], goal: 6, times: [] },
]

function once(c: Case): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, c.args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString()}`)
  return ms
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

// Two warm-up rounds (file cache, V8 code cache) are not counted.
for (let i = 0; i < 2; i++) for (const c of cases) once(c)
for (let i = 0; i < runs; i++) for (const c of cases) c.times.push(once(c))

const base = median(cases[0]!.times)
console.log(`bench:cli — ${runs} runs each, medians (node ${process.version})`)
for (const c of cases) {
  const m = median(c.times)
  const ratio = m / base
  const goal =
    c.goal === undefined ? '' : `  goal ≤ ${c.goal}× ${ratio <= c.goal ? 'met' : 'NOT met'}`
  console.log(
    `  ${c.name.padEnd(20)} ${m.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}× bare node${goal}`,
  )
}
