import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { applyConfig, exportConfig, parseConfig } from '../../../src/server/config.ts'
import { demoConfigText } from '../../../src/config/demo.ts'
import { ConfigError } from '../../../src/config/errors.ts'
import { integer, join, list, object, string, stringMap } from '../../../src/config/schema.ts'
import type { ConfigSection } from '../../../src/config/section.ts'
import { appConfigSections } from '../../../src/server/modules.ts'

const configSections = [...appConfigSections]
import { listIssuers } from '../../../src/tokens/issuer.ts'
import { tempDb } from '../tokens/helpers.ts'

const env = {
  accountId: '000000000000',
  region: 'us-east-1',
  now: new Date('2026-01-01T00:00:00Z'),
}

interface Thing {
  name: string
  size: number
  tags: Record<string, string>
}

/** A test section that stores things in a table of its own. */
function thingsSection(log: string[]): ConfigSection<Thing[]> {
  return {
    key: 'things',
    parse(value, path) {
      return list(value, path).map((item, i) => {
        const p = join(path, i)
        const o = object(item, p, { required: ['name'], optional: ['size', 'tags'] })
        return {
          name: string(o['name'], join(p, 'name'), { pattern: /^[a-z]+$/ }),
          size:
            o['size'] === undefined ? 1 : integer(o['size'], join(p, 'size'), { min: 1, max: 10 }),
          tags: o['tags'] === undefined ? {} : stringMap(o['tags'], join(p, 'tags')),
        }
      })
    },
    async apply(tx, value) {
      log.push('things')
      await tx.run(
        'CREATE TABLE IF NOT EXISTS things (name TEXT PRIMARY KEY, size INTEGER NOT NULL, tags TEXT NOT NULL)',
      )
      for (const t of value) {
        await tx.run(
          'INSERT INTO things (name, size, tags) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET size = excluded.size, tags = excluded.tags',
          [t.name, t.size, JSON.stringify(t.tags)],
        )
      }
    },
    async export(db) {
      const rows = await db
        .all<{ name: string; size: number; tags: string }>('SELECT * FROM things ORDER BY name')
        .catch(() => [])
      return rows.length === 0
        ? undefined
        : rows.map((r) => ({
            name: r.name,
            size: r.size,
            tags: JSON.parse(r.tags) as Record<string, string>,
          }))
    },
  }
}

function failsAt(text: string, sections: ConfigSection[], path: string, message: RegExp): void {
  assert.throws(
    () => parseConfig(text, sections),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e))
      assert.equal(e.path, path, e.message)
      assert.match(e.message, message)
      if (path !== '') assert.ok(e.message.startsWith(`${path}: `), e.message)
      return true
    },
    text,
  )
}

void describe('config loader', () => {
  const sections = [thingsSection([]) as ConfigSection]

  void it('names the path of every malformed value', () => {
    failsAt('things: [', sections, '', /invalid YAML at line 1/)
    failsAt('a: 1\na: 2\n', sections, '', /invalid YAML/)
    failsAt('- 1\n- 2\n', sections, '', /must be a mapping/)
    failsAt('"just a string"', sections, '', /must be a mapping/)
    failsAt('thingz: []\n', sections, 'thingz', /unknown section `thingz`/)
    failsAt('version: 2\n', sections, 'version', /unsupported config version/)
    failsAt('things: {}\n', sections, 'things', /expected a list, got a mapping/)
    failsAt(
      'things:\n  - name: ok\n  - nmae: typo\n',
      sections,
      'things[1].nmae',
      /unknown key `nmae`/,
    )
    failsAt('things:\n  - size: 2\n', sections, 'things[0].name', /is required/)
    failsAt(
      'things:\n  - name: 42\n',
      sections,
      'things[0].name',
      /expected a string, got a number/,
    )
    failsAt(
      'things:\n  - name: ok\n    size: "3"\n',
      sections,
      'things[0].size',
      /expected an integer, got a string/,
    )
    failsAt('things:\n  - name: ok\n    size: 11\n', sections, 'things[0].size', /at most 10/)
    failsAt('things:\n  - name: Bad\n', sections, 'things[0].name', /does not match/)
    failsAt(
      'things:\n  - name: ok\n    tags: {a: [1]}\n',
      sections,
      'things[0].tags.a',
      /expected a string/,
    )
    failsAt(
      'things:\n  - name: ok\n    tags: [a]\n',
      sections,
      'things[0].tags',
      /expected a mapping/,
    )
  })

  void it('unknown-key errors carry a hint listing the allowed keys', () => {
    try {
      parseConfig('things:\n  - nmae: x\n', sections)
      assert.fail('should throw')
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      assert.match(e.hint ?? '', /name, size, tags/)
    }
  })

  void it('accepts an empty document', () => {
    assert.deepEqual(parseConfig('', sections).sections, [])
    assert.deepEqual(parseConfig('# only a comment\n', sections).sections, [])
  })
})

void describe('config apply/export', () => {
  void it('applies idempotently in one transaction and round-trips through export', async () => {
    const t = await tempDb()
    try {
      const log: string[] = []
      const sections = [...configSections, thingsSection(log) as ConfigSection]
      const text =
        'version: 1\nissuers:\n  - name: cluster:dev\nthings:\n  - name: apple\n    size: 3\n    tags: {color: red}\n'
      assert.deepEqual(await applyConfig(t.db, text, env, sections), ['issuers', 'things'])
      await applyConfig(t.db, text, env, sections)
      const exported = await exportConfig(t.db, env, sections)
      const doc = parse(exported) as Record<string, unknown>
      assert.equal(doc['version'], 1)
      assert.deepEqual(doc['things'], [{ name: 'apple', size: 3, tags: { color: 'red' } }])
      assert.deepEqual(doc['issuers'], [{ name: 'cluster:dev' }])
      // Re-applying the export changes nothing.
      await applyConfig(t.db, exported, env, sections)
      assert.equal(await exportConfig(t.db, env, sections), exported)
      // A failing section rolls the whole apply back.
      const failing: ConfigSection = {
        key: 'boom',
        parse: (v) => v,
        apply: async () => {
          throw new Error('nope')
        },
        export: async () => undefined,
      }
      await assert.rejects(
        applyConfig(t.db, 'issuers:\n  - name: cluster:new\nboom: 1\n', env, [
          ...sections,
          failing,
        ]),
        (e: unknown) =>
          e instanceof ConfigError && e.code === 'CONFIG_APPLY_FAILED' && e.path === 'boom',
      )
      assert.ok(!(await listIssuers(t.db)).some((i) => i.name === 'cluster:new'))
    } finally {
      await t.cleanup()
    }
  })

  void it('validates the issuers section', () => {
    failsAt(
      'issuers:\n  - name: "bad name"\n',
      configSections,
      'issuers[0].name',
      /invalid issuer name/,
    )
    failsAt('issuers:\n  - name: a\n  - name: a\n', configSections, 'issuers[1].name', /duplicate/)
    failsAt('issuers:\n  - name: a\n    url: ftp://x\n', configSections, 'issuers[0].url', /https/)
  })

  void it('the demo seed: provider and trust policy name the issuer given at start', () => {
    const text = demoConfigText({ issuerUrl: 'https://127.0.0.1:8443', accountId: '111122223333' })
    const parsed = parseConfig(text, configSections)
    assert.deepEqual(
      parsed.sections.map((s) => s.section.key),
      ['issuers', 'oidcProviders', 'roles'],
    )
    assert.match(text, /url: https:\/\/127\.0\.0\.1:8443\n/)
    assert.match(text, /arn:aws:iam::111122223333:oidc-provider\/127\.0\.0\.1:8443'/)
    assert.match(text, /'127\.0\.0\.1:8443:sub': system:serviceaccount:default:demo/)
    assert.doesNotMatch(text, /ISSUER_HOST_PATH|ACCOUNT_ID/)
  })
})
