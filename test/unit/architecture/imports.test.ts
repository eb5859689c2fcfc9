/**
 * The one-way layering of src/, checked against the layer table of docs/architecture.md (the table is
 * parsed, so the document and the check cannot drift): no file-level import cycle, no import up the table,
 * no sideways import the table does not list, no file outside the table.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  buildGraph,
  cycles,
  importsOf,
  listFiles,
  parseLayerTable,
  tableProblems,
  violations,
  type ImportGraph,
} from './import-graph.ts'

const root = new URL('../../../', import.meta.url).pathname
const table = parseLayerTable(readFileSync(`${root}docs/architecture.md`, 'utf8'))

const SYNTHETIC = `
# Architecture

## Layers and modules

| layer | module | job | uses |
| --- | --- | --- | --- |
| interfaces | \`src/server/\` | root | — |
| adapters | \`src/aws/\` | aws | — |
| adapters | \`src/kube/\` | kube | \`src/aws/\` |
| domain | \`src/identity/\` | identity | — |
| base | \`src/errors.ts\` | errors | — |
`

void describe('architecture: the import graph of src/', () => {
  void it('reads the layer table from docs/architecture.md', () => {
    assert.deepEqual(table.layers, [
      'interfaces',
      'protocol adapters',
      'domain',
      'infrastructure',
      'base',
    ])
    assert.ok(table.rows.some((r) => r.module === 'src/server/'))
    assert.ok(table.rows.some((r) => r.module === 'src/errors.ts'))
  })

  void it('sees every kind of import: static, dynamic, type-only, re-exports', () => {
    const text = [
      "import a from './a.ts'",
      "import type { B } from '../b.ts'",
      "export { c } from './c.ts'",
      "export * from './d.ts'",
      "const e = await import('./e.ts')",
      "import 'node:fs'",
      "import { f } from 'hono'",
    ].join('\n')
    assert.deepEqual(importsOf('src/x/y.ts', text).sort(), [
      'src/b.ts',
      'src/x/a.ts',
      'src/x/c.ts',
      'src/x/d.ts',
      'src/x/e.ts',
    ])
  })

  void it('catches a synthetic violation of every kind', () => {
    const t = parseLayerTable(SYNTHETIC)
    const graph: ImportGraph = new Map([
      ['src/server/start.ts', ['src/aws/a.ts', 'src/errors.ts']], // down: fine
      ['src/aws/a.ts', ['src/server/start.ts']], // up, and a cycle with start.ts
      ['src/kube/k.ts', ['src/aws/b.ts']], // sideways, listed: fine
      ['src/aws/b.ts', ['src/kube/k.ts', 'src/identity/i.ts']], // sideways, not listed
      ['src/identity/i.ts', ['src/identity/j.ts']],
      ['src/identity/j.ts', ['src/identity/i.ts']], // a cycle inside one module
      ['src/gateway/g.ts', []], // in no module
      ['src/errors.ts', []],
    ])
    const found = violations(graph, t)
    const has = (re: RegExp) =>
      assert.ok(
        found.some((v) => re.test(v)),
        `${re} in\n${found.join('\n')}`,
      )
    has(/^src\/aws\/a\.ts → src\/server\/start\.ts: goes UP from adapters/)
    has(/^src\/aws\/b\.ts → src\/kube\/k\.ts: sideways from src\/aws\/ to src\/kube\//)
    has(
      /^import cycle: src\/server\/start\.ts → src\/aws\/a\.ts|^import cycle: src\/aws\/a\.ts → src\/server\/start\.ts/,
    )
    has(/^import cycle: src\/identity\/i\.ts → src\/identity\/j\.ts/)
    has(/^src\/gateway\/g\.ts: in no module/)
    assert.ok(
      !found.some((v) => v.startsWith('src/kube/k.ts')),
      'a listed sideways import is allowed',
    )
    assert.ok(!found.some((v) => v.startsWith('src/server/start.ts →')), 'down is allowed')
    has(/^import cycle: src\/aws\/b\.ts → src\/kube\/k\.ts/)
    assert.equal(found.length, 6, found.join('\n'))
    assert.equal(cycles(new Map([['x', ['x']]])).length, 1, 'a file importing itself is a cycle')
  })

  void it('rejects a table whose sideways uses point elsewhere or go round', () => {
    const t = parseLayerTable(
      SYNTHETIC.replace('| aws | — |', '| aws | `src/kube/`, `src/identity/`, `src/nowhere/` |'),
    )
    const problems = tableProblems(t)
    assert.ok(
      problems.some((p) => /src\/aws\/ uses src\/identity\/ of another layer/.test(p)),
      problems.join('\n'),
    )
    assert.ok(problems.some((p) => /src\/aws\/ uses src\/nowhere\/, which is no module/.test(p)))
    assert.ok(problems.some((p) => /the uses of src\/aws\/, src\/kube\/ form a cycle/.test(p)))
    assert.deepEqual(tableProblems(table), [], 'the real table is well formed')
  })

  void it('src/ has no cycle, no upward or unlisted sideways import, no file outside the table', () => {
    const graph = buildGraph(root)
    assert.ok(listFiles(root).length > 100, 'the walk found the source tree')
    assert.deepEqual(violations(graph, table), [])
  })
})
