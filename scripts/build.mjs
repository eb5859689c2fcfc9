#!/usr/bin/env node
// Builds dist/: tsc compiles src/ (tsconfig.build.json: JavaScript + .d.ts, `.ts` import specifiers rewritten to
// `.js`), then every file under src/ that is not TypeScript (the SQLite writer's worker, demo.yaml, …) is copied
// beside its compiled neighbours, since the code finds them through `new URL('./file', import.meta.url)`.
// Runs at `npm ci` / `npm install` in a checkout and at `npm pack` (prepare), and before `npm start` (prestart).
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src')
const dist = join(root, 'dist')

rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
})
if (result.status !== 0) {
  console.error('build: tsc failed')
  process.exit(result.status ?? 1)
}

function assets(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) out.push(...assets(full))
    else if (!/\.(ts|mts|cts)$/.test(name)) out.push(full)
  }
  return out
}

const copied = assets(src)
for (const file of copied) {
  const to = join(dist, relative(src, file))
  mkdirSync(dirname(to), { recursive: true })
  copyFileSync(file, to)
}
console.log(
  `build: dist/ compiled, ${copied.length} asset(s) copied: ${copied.map((f) => relative(src, f)).join(', ')}`,
)
