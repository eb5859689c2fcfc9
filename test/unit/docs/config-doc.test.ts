/**
 * docs/config.md cannot rot: every ```yaml block that starts with `version: 1` must parse against the real
 * registered sections and apply to a fresh SQLite store (twice, changing nothing the second time, and its
 * export must re-apply without change); every block that starts with `# fails: MESSAGE` must fail with
 * exactly that ConfigError message; every registered section has its own heading, in apply order.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { applyConfig, exportConfig, parseConfig } from '../../../src/server/config.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { appConfigSections as configSections } from '../../../src/server/modules.ts'
import { DEMO } from '../../../src/cli/up-env.ts'
import { openTestDb } from '../store/engines.ts'

const DOC_URL = new URL('../../../docs/config.md', import.meta.url)
const doc = readFileSync(DOC_URL, 'utf8')

const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}

interface Block {
  /** 1-based line of the opening fence, for messages. */
  line: number
  text: string
}

/** The fenced ```yaml blocks of a markdown text. */
function yamlBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trimEnd() !== '```yaml') continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && lines[i]!.trimEnd() !== '```'; i++) body.push(lines[i]!)
    assert.ok(i < lines.length, `docs/config.md:${start + 1}: unterminated yaml block`)
    blocks.push({ line: start + 1, text: `${body.join('\n')}\n` })
  }
  return blocks
}

const blocks = yamlBlocks(doc)
const examples = blocks.filter((b) => b.text.startsWith('version: 1\n'))
const failing = blocks.filter((b) => b.text.startsWith('# fails: '))

async function withStore<T>(fn: (db: Awaited<ReturnType<typeof openTestDb>>['db']) => Promise<T>) {
  const t = await openTestDb('sqlite')
  try {
    return await fn(t.db)
  } finally {
    await t.cleanup()
  }
}

void describe('docs/config.md', () => {
  void it('has applicable examples and error examples to check', () => {
    assert.ok(examples.length >= 10, `only ${examples.length} version: 1 examples found`)
    assert.ok(failing.length >= 3, `only ${failing.length} error examples found`)
  })

  for (const block of examples) {
    void it(`example at line ${block.line} parses, applies idempotently and round-trips`, async () => {
      const parsed = parseConfig(block.text, configSections)
      assert.ok(
        parsed.sections.length > 0,
        `docs/config.md:${block.line}: no section in the example`,
      )
      await withStore(async (db) => {
        const where = `docs/config.md:${block.line}`
        try {
          await applyConfig(db, block.text, env)
        } catch (err) {
          assert.fail(`${where}: ${err instanceof Error ? err.message : String(err)}`)
        }
        const first = await exportConfig(db, env)
        await applyConfig(db, block.text, env)
        assert.equal(await exportConfig(db, env), first, `${where}: re-applying changed the store`)
        await applyConfig(db, first, env)
        assert.equal(await exportConfig(db, env), first, `${where}: the export does not round-trip`)
        for (const { section } of parsed.sections) {
          assert.match(first, new RegExp(`^${section.key}:`, 'm'), `${where}: nothing exported`)
        }
      })
    })
  }

  for (const block of failing) {
    const expected = block.text.slice('# fails: '.length, block.text.indexOf('\n'))
    void it(`error example at line ${block.line} fails with its message`, async () => {
      await withStore(async (db) => {
        await assert.rejects(applyConfig(db, block.text, env), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.equal(err.message, expected, `docs/config.md:${block.line}`)
          return true
        })
      })
    })
  }

  void it('documents every registered section, under its own heading, in apply order', () => {
    const headings = [...doc.matchAll(/^##+ `([A-Za-z]+)`/gm)].map((m) => m[1])
    const keys = configSections.map((s) => s.key)
    assert.deepEqual(
      headings.filter((h) => keys.includes(h!)),
      keys,
      'docs/config.md must have a "## `KEY`" (or ###) heading per registered section, in apply order',
    )
  })

  void it('describes the demo seed it ships', () => {
    const demo = doc.slice(doc.indexOf('## The demo seed'))
    assert.ok(demo.length > 0)
    for (const text of [
      'src/config/demo.yaml',
      DEMO.roleName,
      `system:serviceaccount:${DEMO.namespace}:${DEMO.serviceAccount}`,
      'AmazonS3ReadOnlyAccess',
    ]) {
      assert.ok(demo.includes(text), `the demo section does not mention ${text}`)
    }
    const seed = readFileSync(new URL('../../../src/config/demo.yaml', import.meta.url), 'utf8')
    assert.match(seed, new RegExp(`name: ${DEMO.roleName}\\n`))
    assert.match(seed, /AmazonS3ReadOnlyAccess/)
  })

  void it('extracts yaml blocks exactly (the extractor itself)', () => {
    const md =
      'text\n```yaml\nversion: 1\nroles: []\n```\n```json\n{}\n```\n```yaml\n# fails: x\n```\n'
    assert.deepEqual(yamlBlocks(md), [
      { line: 2, text: 'version: 1\nroles: []\n' },
      { line: 9, text: '# fails: x\n' },
    ])
  })
})
