#!/usr/bin/env node
// Runs the test tiers through node's built-in test runner in one process tree, so CI reads one summary.
// Usage: node scripts/test.mjs [unit|conformance|e2e ...] [--only PATTERN]
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
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

// Some e2e tests run the compiled CLI (`npx podtrust`, the packed tarball): when such a test is selected, rebuild
// dist/ first if any file under src/ is newer than the last build (npm ci builds it; a checkout edited since
// would run stale code). A failed build is reported and those tests then fail on their own.
function newestMtime(dir) {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const st = statSync(full)
    newest = Math.max(newest, st.isDirectory() ? newestMtime(full) : st.mtimeMs)
  }
  return newest
}
const runsDist = files.some((f) =>
  /'npx'|\['pack'|dist\//.test(readFileSync(join(root, f), 'utf8')),
)
if (runsDist) {
  let built = 0
  try {
    built = statSync(join(root, 'dist', '.build-stamp')).mtimeMs
  } catch {
    // never built
  }
  if (built < newestMtime(join(root, 'src'))) {
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
      cwd: root,
      stdio: 'inherit',
    })
    if (build.status !== 0)
      console.error('test: the build of dist/ failed; tests that run dist/ will fail')
  }
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PODTRUST_TEST: '1' } },
)
process.exit(result.status ?? 1)
