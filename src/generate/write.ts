/**
 * @module generate/write
 * Writes generated files under one directory: each file atomically (temporary file, then rename), never
 * outside the directory.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { GenerateError } from './errors.ts'
import type { GeneratedFile } from './terraform.ts'

/** Writes `files` under `dir` (created when missing); returns the paths written. */
export function writeGeneratedFiles(dir: string, files: readonly GeneratedFile[]): string[] {
  const root = resolve(dir)
  return files.map((file) => {
    const target = resolve(root, file.path)
    const rel = relative(root, target)
    if (rel.startsWith('..') || rel.split(sep).includes('..') || rel === '') {
      throw new GenerateError('GENERATE_INPUT', `refusing to write '${file.path}' outside ${root}`)
    }
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(`${target}.tmp`, file.content, { mode: 0o644 })
    renameSync(`${target}.tmp`, target)
    return target
  })
}
