/**
 * The Dockerfile's steps checked against the package (no Docker needed): multi-stage; the build stage
 * compiles with the package's own `build` script; the runtime dependencies come from `npm ci --omit=dev`;
 * the image holds dist/ (the package's `bin`), runs as a non-root user, exposes the server's default ports,
 * uses a Node version the package's `engines` allow; every file it copies exists.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { DEFAULT_PORT } from '../../../src/server/start.ts'
import { DEFAULT_HTTPS_PORT } from '../../../src/tokens/issuer.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>
  scripts: Record<string, string>
  engines: { node: string }
}
// Instructions with continuation lines joined; comments dropped.
const lines = text
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
const stages: { name: string | undefined; from: string; steps: string[] }[] = []
for (const l of lines) {
  const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(l)
  if (from !== null) stages.push({ from: from[1]!, name: from[2], steps: [] })
  else stages[stages.length - 1]?.steps.push(l)
}
const final = stages[stages.length - 1]!

void describe('Dockerfile', () => {
  void it('is multi-stage: build, production dependencies, a final image from both', () => {
    assert.ok(stages.length >= 3)
    const build = stages.find((s) => s.steps.some((x) => x === 'RUN npm run build'))
    assert.ok(build?.name !== undefined, 'a named stage runs the package build script')
    assert.ok(pkg.scripts['build'] !== undefined)
    const deps = stages.find((s) => s.steps.some((x) => /^RUN npm ci --omit=dev\b/.test(x)))
    assert.ok(deps?.name !== undefined, 'a named stage installs production dependencies with npm ci --omit=dev')
    assert.ok(final.steps.includes(`COPY --from=${deps.name} /app/node_modules ./node_modules`))
    assert.ok(final.steps.some((x) => x.startsWith(`COPY --from=${build.name} `) && x.includes('/dist ./dist')))
    assert.ok(!final.steps.some((x) => /npm (ci|install)/.test(x)), 'no npm install in the final image')
  })

  void it('runs the package bin from dist/ as a non-root user', () => {
    const bin = pkg.bin['podtrust']!
    assert.match(bin, /^dist\//)
    const entry = final.steps.find((x) => x.startsWith('ENTRYPOINT'))!
    assert.ok(entry.includes(`/app/${bin}`), entry)
    assert.ok(existsSync(join(ROOT, 'src', bin.replace(/^dist\//, '').replace(/\.js$/, '.ts'))))
    const user = final.steps.find((x) => x.startsWith('USER'))
    assert.ok(user !== undefined)
    assert.doesNotMatch(user, /^USER\s+(0|root)\b/)
  })

  void it('exposes the default ports; Node as engines allow; copies only files that exist', () => {
    assert.ok(final.steps.includes(`EXPOSE ${DEFAULT_PORT} ${DEFAULT_HTTPS_PORT}`))
    const min = Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1])
    const node = Number(/^ARG NODE_VERSION=(\d+)/m.exec(text)![1])
    assert.ok(node >= min)
    for (const s of stages)
      for (const step of s.steps) {
        const m = /^COPY\s+(?!--from)(.+)\s+\S+$/.exec(step)
        if (m === null) continue
        for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: missing`)
      }
  })
})
