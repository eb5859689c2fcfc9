/**
 * The command table (src/cli/commands/index.ts) repeats each command's name and summary so `podtrust --help`
 * needs no command module; this keeps the copies equal, and keeps the modules that --version and --help load
 * (bin.ts, main.ts, errors.ts, the table) free of static imports of anything else.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { commandTable } from '../../../src/cli/commands/index.ts'

/** The specifiers a module imports at load time (type-only imports excluded; they are erased). */
function staticImports(url: URL): string[] {
  const text = readFileSync(url, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/^import\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    if (m[1] === undefined) out.push(m[2]!)
  }
  return out
}

void describe('command table', () => {
  void it("each row's name and summary are the module's own", async () => {
    const names = new Set<string>()
    for (const entry of commandTable) {
      assert.ok(!names.has(entry.name), `${entry.name} listed twice`)
      names.add(entry.name)
      const command = await entry.load()
      assert.equal(command.name, entry.name)
      assert.equal(command.summary, entry.summary, `summary of ${entry.name}`)
    }
  })

  void it('--version and --help load only main.ts, errors.ts and the table', () => {
    const light = new Map([
      ['bin.ts', ['./main.ts']],
      ['main.ts', ['node:fs', '../errors.ts', './commands/index.ts']],
      ['commands/index.ts', []],
    ])
    for (const [file, allowed] of light) {
      const imports = staticImports(new URL(`../../../src/cli/${file}`, import.meta.url))
      assert.deepEqual(
        imports.filter((s) => !allowed.includes(s)),
        [],
        `src/cli/${file} imports more than the light path allows`,
      )
    }
    assert.deepEqual(staticImports(new URL('../../../src/errors.ts', import.meta.url)), [])
  })
})
