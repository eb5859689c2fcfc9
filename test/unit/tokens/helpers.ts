import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Db } from '../../../src/store/db.ts'
import { openDb } from '../../../src/server/store.ts'

export async function tempDb(): Promise<{ db: Db; dir: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-tokens-'))
  const db = await openDb({ dataDir: dir })
  return {
    db,
    dir,
    async cleanup() {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
