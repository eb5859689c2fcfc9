/**
 * @module server/config
 * The declarative config over the app's sections (every module's, assembled in src/server/modules.ts):
 * what the server (config files, the demo seed), `podtrust apply` / `export` and tests call.
 * `config/apply.ts` itself knows no module: it takes the section list.
 */
import {
  applyConfig as applySections,
  exportConfig as exportSections,
  parseConfig as parseSections,
  type ParsedConfig,
} from '../config/apply.ts'
import type { ConfigEnv, ConfigSection } from '../config/section.ts'
import type { Db, Queryable } from '../store/db.ts'
import { appConfigSections } from './modules.ts'

export { applyParsed, type ParsedConfig } from '../config/apply.ts'

export function parseConfig(
  yamlText: string,
  sections: readonly ConfigSection[] = appConfigSections,
): ParsedConfig {
  return parseSections(yamlText, sections)
}

export function applyConfig(
  db: Db,
  yamlText: string,
  env: ConfigEnv,
  sections: readonly ConfigSection[] = appConfigSections,
): Promise<string[]> {
  return applySections(db, yamlText, env, sections)
}

export function exportConfig(
  db: Queryable,
  env: ConfigEnv,
  sections: readonly ConfigSection[] = appConfigSections,
): Promise<string> {
  return exportSections(db, env, sections)
}
