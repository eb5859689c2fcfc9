/**
 * @module setup/files
 * Writes rendered files into the output folder with their modes: private keys 0600 from creation (never a
 * moment world-readable), the rest 0644. Each file goes through a temporary name and a rename, so a
 * half-written key or config is never left in place.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { OutputFile } from './render.ts'

export async function writeOutputFiles(
  outDir: string,
  files: readonly OutputFile[],
): Promise<void> {
  for (const f of files) {
    const target = join(outDir, ...f.path.split('/'))
    await mkdir(dirname(target), { recursive: true, mode: 0o755 })
    const tmp = `${target}.tmp-${process.pid}`
    await writeFile(tmp, f.content, { mode: f.mode })
    // The mode given to writeFile is masked by the umask; set it exactly.
    await chmod(tmp, f.mode)
    await rename(tmp, target)
  }
}

export async function readOutputFile(outDir: string, path: string): Promise<string> {
  return readFile(join(outDir, ...path.split('/')), 'utf8')
}
