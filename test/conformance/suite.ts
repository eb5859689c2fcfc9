import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** The result of one conformance set (one fixture file or folder). */
export interface SetResult {
  name: string
  passed: number
  total: number
  /** One line per failing case: its name and what differed. */
  failures: string[]
}

export interface SuiteResult {
  sets: SetResult[]
  passed: number
  total: number
}

export function summarize(sets: SetResult[]): SuiteResult {
  return {
    sets,
    passed: sets.reduce((n, s) => n + s.passed, 0),
    total: sets.reduce((n, s) => n + s.total, 0),
  }
}

/** Where the shared fixtures live: `../shared/conformance` beside the project root, or $PODTRUST_CONFORMANCE. */
export function conformanceRoot(): string {
  return (
    process.env['PODTRUST_CONFORMANCE'] ??
    new URL('../../../shared/conformance', import.meta.url).pathname
  )
}

/**
 * Why a test that reads `sub` under the shared fixtures must skip, or `false` when they are there. A
 * stranger's clone has no ../shared beside it (the fixtures are never copied into the repository).
 */
export function conformanceMissing(sub: string): string | false {
  const path = join(conformanceRoot(), sub)
  return existsSync(path)
    ? false
    : `shared conformance fixtures not found at ${path} (set PODTRUST_CONFORMANCE or check out ../shared)`
}
