// `npm run conformance -- <suite> [DIR]`: runs one conformance suite and prints `passed/total` as its last line.
// Each suite module exports `run(dir?: string): Promise<SuiteResult>`; register it in `suites` below.
import type { SuiteResult } from './suite.ts'

const suites: Record<string, () => Promise<{ run(dir?: string): Promise<SuiteResult> }>> = {
  sigv4: () => import('./sigv4.ts'),
  'iam-policy': () => import('./iam-policy.ts'),
  'iam-api': () => import('./iam-api.ts'),
  webhook: () => import('./webhook.ts'),
}

const [name, dir] = process.argv.slice(2)
const load = name === undefined ? undefined : suites[name]
if (load === undefined) {
  console.error(
    `usage: npm run conformance -- <suite> [DIR]\nsuites: ${Object.keys(suites).join(', ') || '(none yet)'}`,
  )
  process.exit(2)
}
const result = await (await load()).run(dir)
for (const set of result.sets) {
  console.log(`${set.name}: ${set.passed}/${set.total}`)
  for (const failure of set.failures.slice(0, 50)) console.log(`  FAIL ${failure}`)
}
console.log(`${result.passed}/${result.total}`)
process.exit(result.passed === result.total ? 0 : 1)
