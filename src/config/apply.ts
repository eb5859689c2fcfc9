/**
 * @module config/apply
 * The declarative config: one YAML document whose top-level keys are the given sections (plus `version`).
 * `applyConfig` validates everything first, then applies the sections in list order in one transaction,
 * idempotently; `exportConfig` writes the current state back so apply/export round-trip. The section list
 * is an argument: the composition root assembles it from the modules (src/server/config.ts); config/ imports
 * no module.
 */
import { parseDocument, stringify } from 'yaml'
import type { Db, Queryable } from '../store/db.ts'
import { ConfigError } from './errors.ts'
import type { ConfigEnv, ConfigSection } from './section.ts'

export const CONFIG_VERSION = 1
const MAX_CONFIG_BYTES = 4 * 1024 * 1024

export interface ParsedConfig {
  /** Parsed values of the sections present, in registry order. */
  sections: { section: ConfigSection; value: unknown }[]
}

/** Parses YAML text into validated section values; throws `ConfigError` naming the path. */
export function parseConfig(yamlText: string, sections: readonly ConfigSection[]): ParsedConfig {
  if (Buffer.byteLength(yamlText) > MAX_CONFIG_BYTES) {
    throw new ConfigError(
      'CONFIG_YAML_INVALID',
      '',
      `config is larger than ${MAX_CONFIG_BYTES} bytes`,
    )
  }
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true })
  const first = doc.errors[0]
  if (first !== undefined) {
    const pos = first.linePos?.[0]
    const where = pos === undefined ? '' : ` at line ${pos.line}, column ${pos.col}`
    throw new ConfigError(
      'CONFIG_YAML_INVALID',
      '',
      `invalid YAML${where}: ${first.message.split('\n')[0]}`,
    )
  }
  const root: unknown = doc.toJS({ maxAliasCount: 100 })
  if (root === null || root === undefined) return { sections: [] }
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new ConfigError('CONFIG_INVALID', '', 'the config must be a mapping of sections', {
      hint: `known sections: ${sections.map((s) => s.key).join(', ')}`,
    })
  }
  const o = root as Record<string, unknown>
  const known = new Map(sections.map((s) => [s.key, s]))
  for (const key of Object.keys(o)) {
    if (key === 'version') continue
    if (!known.has(key)) {
      throw new ConfigError('CONFIG_INVALID', key, `unknown section \`${key}\``, {
        hint: `known sections: ${[...known.keys()].join(', ') || '(none)'}`,
      })
    }
  }
  if (o['version'] !== undefined && o['version'] !== CONFIG_VERSION) {
    throw new ConfigError(
      'CONFIG_INVALID',
      'version',
      `unsupported config version \`${String(o['version'])}\``,
      {
        hint: `this podtrust reads version ${CONFIG_VERSION}`,
      },
    )
  }
  const parsed: ParsedConfig['sections'] = []
  for (const section of sections) {
    const raw = o[section.key]
    if (raw === undefined || raw === null) continue
    parsed.push({ section, value: section.parse(raw, section.key) })
  }
  return { sections: parsed }
}

/** Applies a parsed config in one transaction. */
export async function applyParsed(db: Db, config: ParsedConfig, env: ConfigEnv): Promise<string[]> {
  return db.transaction(async (tx: Queryable) => {
    const applied: string[] = []
    for (const { section, value } of config.sections) {
      try {
        await section.apply(tx, value, env)
      } catch (err) {
        if (err instanceof ConfigError) throw err
        const detail = err instanceof Error ? err.message : String(err)
        throw new ConfigError('CONFIG_APPLY_FAILED', section.key, `cannot apply: ${detail}`, {
          cause: err,
        })
      }
      applied.push(section.key)
    }
    return applied
  })
}

/**
 * Validates and applies a YAML config; resolves to the keys of the sections applied.
 *
 * @example await applyConfig(db, 'roles:\n  - name: app\n', { accountId: '000000000000', region: 'us-east-1', now: new Date() })
 */
export async function applyConfig(
  db: Db,
  yamlText: string,
  env: ConfigEnv,
  sections: readonly ConfigSection[],
): Promise<string[]> {
  return applyParsed(db, parseConfig(yamlText, sections), env)
}

/** The current state as a config document (sections with nothing to export are left out). */
export async function exportConfig(
  db: Queryable,
  env: ConfigEnv,
  sections: readonly ConfigSection[],
): Promise<string> {
  const out: Record<string, unknown> = { version: CONFIG_VERSION }
  for (const section of sections) {
    const value = await section.export(db, env)
    if (value !== undefined) out[section.key] = value
  }
  return stringify(out, { lineWidth: 0 })
}
