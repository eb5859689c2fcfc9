/**
 * The import graph of `src/` and the layer rules of docs/architecture.md, as plain functions so the test can
 * check the real tree and synthetic graphs with the same code.
 *
 * Rules (docs/architecture.md, "Layers and modules"): every file belongs to one module of the table; an
 * import goes to the same module, down the layer order, or sideways only to a module the importer's row
 * lists under "uses"; no file-level cycle. Every kind of import counts: static, dynamic `import()`,
 * type-only, and re-exports (`export … from`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import ts from 'typescript'

export interface LayerRow {
  layer: string
  /** Repo-relative path: a folder ending in `/` (`src/aws/`) or a file (`src/errors.ts`). */
  module: string
  /** Modules of the same layer this one may import (repo-relative paths as in `module`). */
  uses: string[]
}

export interface LayerTable {
  /** Layer names, top first. */
  layers: string[]
  rows: LayerRow[]
}

/** `[file, imported file]` pairs, repo-relative. */
export type ImportGraph = Map<string, string[]>

const CODE = /\.(ts|mts|mjs|js)$/

/** Cells of one markdown table row. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim())
}

function paths(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => {
    const p = m[1] as string
    return p.startsWith('src/') ? p : `src/${p}`
  })
}

/** Reads the first table under the heading `## Layers and modules`. */
export function parseLayerTable(markdown: string): LayerTable {
  const lines = markdown.split('\n')
  const start = lines.findIndex((l) => /^##\s+Layers and modules\s*$/.test(l))
  if (start === -1) throw new Error('docs/architecture.md has no "## Layers and modules" section')
  let i = start + 1
  while (i < lines.length && !lines[i]!.trim().startsWith('|')) i++
  const header = cells(lines[i] ?? '').map((h) => h.toLowerCase())
  const col = (name: string) => header.indexOf(name)
  if (col('layer') === -1 || col('module') === -1 || col('uses') === -1)
    throw new Error(
      `layer table header must name layer, module and uses columns: ${header.join(', ')}`,
    )
  i += 2 // header and separator
  const rows: LayerRow[] = []
  const layers: string[] = []
  for (; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
    const c = cells(lines[i]!)
    const layer = c[col('layer')] ?? ''
    const modules = paths(c[col('module')] ?? '')
    if (layer === '' || modules.length !== 1)
      throw new Error(`layer table row needs one layer and one module: ${lines[i]}`)
    if (!layers.includes(layer)) layers.push(layer)
    else if (layers[layers.length - 1] !== layer)
      throw new Error(`layer \`${layer}\` rows must be contiguous (top layer first)`)
    rows.push({ layer, module: modules[0]!, uses: paths(c[col('uses')] ?? '') })
  }
  if (rows.length === 0) throw new Error('the layer table is empty')
  return { layers, rows }
}

/** Every code file under `dir` (repo-relative), sorted. */
export function listFiles(root: string, dir = 'src'): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`
      if (e.isDirectory()) walk(p)
      else if (CODE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}

/**
 * Relative imports of one file, resolved to repo-relative paths: static and dynamic imports, `import type`,
 * `export … from`, `require`. Package imports are not part of the graph.
 */
export function importsOf(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true)
  const out: string[] = []
  for (const ref of info.importedFiles) {
    const spec = ref.fileName
    if (!spec.startsWith('.')) continue
    out.push(
      normalize(join(dirname(file), spec))
        .split('\\')
        .join('/'),
    )
  }
  return out
}

export function buildGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map()
  for (const file of listFiles(root)) {
    graph.set(file, importsOf(file, readFileSync(join(root, file), 'utf8')))
  }
  return graph
}

/** The module row a file belongs to: the longest module path that contains it. */
export function moduleOf(table: LayerTable, file: string): LayerRow | undefined {
  let best: LayerRow | undefined
  for (const row of table.rows) {
    const hit = row.module.endsWith('/') ? file.startsWith(row.module) : file === row.module
    if (hit && (best === undefined || row.module.length > best.module.length)) best = row
  }
  return best
}

/** Files in strongly connected components of more than one file (or importing themselves). */
export function cycles(graph: ImportGraph): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    indices.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!))
    }
    if (low.get(v) === indices.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!indices.has(v)) visit(v)
  return found
}

/**
 * Problems of the table itself: a `uses` entry that is no module of the same layer, or sideways uses that
 * form a cycle (modules of one layer must form a hierarchy too).
 */
export function tableProblems(table: LayerTable): string[] {
  const out: string[] = []
  const byModule = new Map(table.rows.map((r) => [r.module, r]))
  for (const row of table.rows) {
    for (const used of row.uses) {
      const target = byModule.get(used)
      if (target === undefined)
        out.push(`${row.module} uses ${used}, which is no module of the table`)
      else if (target.layer !== row.layer)
        out.push(`${row.module} uses ${used} of another layer (only sideways uses are listed)`)
    }
  }
  const useGraph: ImportGraph = new Map(table.rows.map((r) => [r.module, r.uses]))
  for (const scc of cycles(useGraph)) out.push(`the uses of ${scc.join(', ')} form a cycle`)
  return out
}

/** Every rule broken by `graph` under `table`, as readable lines (empty when the tree is clean). */
export function violations(graph: ImportGraph, table: LayerTable): string[] {
  const out: string[] = [...tableProblems(table)]
  const rank = (row: LayerRow) => table.layers.indexOf(row.layer)
  for (const [file, imports] of graph) {
    const from = moduleOf(table, file)
    if (from === undefined) {
      out.push(`${file}: in no module of the layer table (docs/architecture.md)`)
      continue
    }
    for (const target of imports) {
      if (!graph.has(target)) {
        out.push(`${file} → ${target}: imports a file that does not exist`)
        continue
      }
      const to = moduleOf(table, target)
      if (to === undefined || to === from) continue
      if (rank(to) > rank(from)) continue
      if (rank(to) === rank(from) && from.uses.includes(to.module)) continue
      out.push(
        rank(to) < rank(from)
          ? `${file} → ${target}: goes UP from ${from.layer} (${from.module}) to ${to.layer} (${to.module})`
          : `${file} → ${target}: sideways from ${from.module} to ${to.module}, which its row does not list under "uses"`,
      )
    }
  }
  for (const scc of cycles(graph)) out.push(`import cycle: ${scc.join(' → ')}`)
  return out
}

export function repoRelative(root: string, path: string): string {
  return relative(root, path).split('\\').join('/')
}
