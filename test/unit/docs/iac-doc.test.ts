/**
 * docs/iac.md cannot rot: every ```yaml block that starts with `version: 1` is a workload spec that parses
 * and generates every target; every block that starts with `# fails: MESSAGE` fails with exactly that message.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ConfigError } from '../../../src/config/errors.ts'
import { GENERATE_TARGETS, generate, parseSpec } from '../../../src/generate/index.ts'

const doc = readFileSync(new URL('../../../docs/iac.md', import.meta.url), 'utf8')
const blocks = [...doc.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)

void describe('docs/iac.md', () => {
  void it('has spec examples and error examples', () => {
    assert.ok(blocks.some((b) => b.startsWith('version: 1\n')))
    assert.ok(blocks.some((b) => b.startsWith('# fails: ')))
  })
  void it('every spec example generates every target', () => {
    for (const block of blocks.filter((b) => b.startsWith('version: 1\n'))) {
      const spec = parseSpec(block)
      for (const target of GENERATE_TARGETS) assert.ok(generate(target, spec).length > 0, target)
    }
  })
  void it('every error example fails with its message', () => {
    for (const block of blocks.filter((b) => b.startsWith('# fails: '))) {
      const expected = block.slice('# fails: '.length, block.indexOf('\n'))
      assert.throws(
        () => parseSpec(block),
        (err: unknown) => err instanceof ConfigError && err.message === expected,
      )
    }
  })
})
