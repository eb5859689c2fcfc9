#!/usr/bin/env node
// Builds dist/: tsc compiles src/ (tsconfig.build.json: JavaScript + .d.ts, `.ts` import specifiers rewritten to
// `.js`), then every file under src/ that is not TypeScript (the SQLite writer's worker, demo.yaml, JSON data, …)
// is copied beside its compiled neighbours, since the code finds them through `new URL('./file', import.meta.url)`.
// Runs at `npm ci` / `npm install` in a checkout and at `npm pack` (prepare), before `npm start` (prestart), and
// from scripts/test.mjs when an e2e run finds dist/ older than src/.
// The tree is built beside dist/ and swapped in at the end, so a process running dist/ meanwhile (a parallel
// test run) never sees it half-written.
// Usage: node scripts/build.mjs
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src')
const dist = join(root, 'dist')
/** Written last: scripts/test.mjs compares its time with the newest file under src/. */
const BUILD_STAMP = '.build-stamp'

const out = join(root, `dist.build-${process.pid}`)
rmSync(out, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out],
  { cwd: root, stdio: 'inherit' },
)
if (result.status !== 0) {
  rmSync(out, { recursive: true, force: true })
  console.error('build: tsc failed')
  process.exit(result.status ?? 1)
}

function assets(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) found.push(...assets(full))
    else if (!/\.(ts|mts|cts)$/.test(name)) found.push(full)
  }
  return found
}

const copied = assets(src)
for (const file of copied) {
  const to = join(out, relative(src, file))
  mkdirSync(dirname(to), { recursive: true })
  copyFileSync(file, to)
}
// The package's `bin`: npm marks it executable when it installs the package, but `npx podtrust` in this
// checkout runs the file itself, so the build must.
chmodSync(join(out, 'cli', 'bin.js'), 0o755)
writeFileSync(join(out, BUILD_STAMP), `${new Date().toISOString()}\n`)

const old = join(root, `dist.old-${process.pid}`)
if (existsSync(dist)) renameSync(dist, old)
renameSync(out, dist)
rmSync(old, { recursive: true, force: true })
console.log(
  `build: dist/ compiled, ${copied.length} asset(s) copied: ${copied.map((f) => relative(src, f)).join(', ')}`,
)
