#!/usr/bin/env node
// Runs the test tiers through node's built-in test runner in one process tree, so CI reads one summary.
// Usage: node scripts/test.mjs [unit|conformance|e2e ...] [--only PATTERN]
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const onlyIndex = args.indexOf('--only')
const only = onlyIndex >= 0 ? args.splice(onlyIndex, 2)[1] : undefined
const tiers = args.length > 0 ? args : ['unit', 'conformance', 'e2e']

function collect(dir) {
  let out = []
  let entries
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries.sort()) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) out = out.concat(collect(full))
    else if (/\.test\.(ts|mts|js|mjs)$/.test(name)) out.push(full)
  }
  return out
}

const files = tiers
  .flatMap((tier) => collect(join(root, 'test', tier)))
  .concat(tiers.includes('unit') ? collect(join(root, 'src')) : [])
  .map((f) => relative(root, f))
  .filter((f) => !only || f.includes(only))

if (files.length === 0) {
  console.error(`no test files for tiers: ${tiers.join(', ')}`)
  process.exit(1)
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PODTRUST_TEST: '1' } },
)
process.exit(result.status ?? 1)
