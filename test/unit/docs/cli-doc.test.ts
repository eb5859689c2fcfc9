/**
 * docs/cli.md is generated from the command registry (scripts/gen-cli-docs.ts); this fails when a command,
 * summary or usage text changed without regenerating it.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import type { Command } from '../../../src/cli/command.ts'
import { loadCommands } from '../../../src/cli/commands/index.ts'
import { CLI_DOC_URL, renderCliDocs } from '../../../scripts/gen-cli-docs.ts'

void describe('docs/cli.md', () => {
  void it('is up to date with the command registry', async () => {
    const expected = await renderCliDocs()
    const actual = readFileSync(CLI_DOC_URL, 'utf8')
    if (actual === expected) return
    const want = expected.split('\n')
    const have = actual.split('\n')
    const first = want.findIndex((l, i) => l !== have[i])
    const line = first === -1 ? want.length : first
    assert.fail(
      `docs/cli.md is out of date with src/cli/commands: run npm run docs:cli ` +
        `(first difference at line ${line + 1}: expected ${JSON.stringify(want[line])}, ` +
        `found ${JSON.stringify(have[line])})`,
    )
  })

  void it('renders the same bytes on every run', async () => {
    assert.equal(await renderCliDocs(), await renderCliDocs())
  })

  void it('has a section with the full usage of every command', async () => {
    const fake: Command = {
      name: 'frob',
      summary: 'Frobnicate | things',
      usage: 'Usage:\n  podtrust frob add NAME\n  podtrust frob remove NAME\n\n',
      run: async () => 0,
    }
    const commands = await loadCommands()
    const page = await renderCliDocs([...commands, fake])
    for (const c of [...commands, fake]) {
      assert.ok(page.includes(`\n## \`podtrust ${c.name}\`\n`), `no section for ${c.name}`)
      assert.ok(page.includes(`\n${c.usage.trimEnd()}\n\`\`\``), `usage of ${c.name} missing`)
      assert.ok(page.includes(`(#podtrust-${c.name})`), `${c.name} missing from the index`)
    }
    assert.ok(
      page.includes('| Frobnicate \\| things |'),
      'a | in a summary must not break the table',
    )
  })

  void it('shows a usage error exactly as the CLI prints it', async () => {
    const page = await renderCliDocs()
    assert.match(
      page,
      /podtrust: unknown subcommand 'frobnicate'\n {2}hint: use 'audit tail', 'audit query' or 'audit prune'\n\nUsage:/,
    )
  })
})
