/**
 * @module kube/pod-identity-file
 * The reference's Pod Identity source: a JSON file (on EKS the control plane writes it) watched and
 * reloaded. A missing or empty file clears the set, as in the reference; a file that does not parse keeps
 * the last good set and logs an error, so a half-written file never drops every association.
 */
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { watchDirectory } from './file-watch.ts'
import { errorText, type WebhookLogger } from './log.ts'
import { IdentitySet, parseIdentitiesFile, type PodIdentitySource } from './pod-identity.ts'

/** Larger files are refused (an identity is ~60 bytes; EKS allows 5000 associations per cluster). */
const MAX_FILE_BYTES = 8 * 1024 * 1024

export function startFilePodIdentitySource(options: {
  file: string
  log: WebhookLogger
  onChange?(size: number): void
  onError?(err: unknown): void
  pollMs?: number
}): PodIdentitySource {
  const set = new IdentitySet()
  let lastText: string | undefined
  let lastBad: string | undefined
  const load = () => {
    let text: string
    try {
      text = readFileSync(options.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        options.onError?.(err)
        options.log.error('podidentity.file_unreadable', {
          file: options.file,
          error: errorText(err),
        })
        return
      }
      text = ''
    }
    if (text === lastText || text === lastBad) return
    try {
      if (Buffer.byteLength(text) > MAX_FILE_BYTES)
        throw new Error(`larger than ${MAX_FILE_BYTES} bytes`)
      set.replace(parseIdentitiesFile(text, options.file))
      lastText = text
      lastBad = undefined
      options.log.info('podidentity.file_loaded', { file: options.file, identities: set.size })
      options.onChange?.(set.size)
    } catch (err) {
      lastBad = text
      options.onError?.(err)
      options.log.error('podidentity.file_invalid', {
        file: options.file,
        error: errorText(err),
        keptIdentities: set.size,
      })
    }
  }
  load()
  const watcher = watchDirectory(
    dirname(options.file),
    load,
    options.pollMs === undefined ? {} : { pollMs: options.pollMs },
  )
  return {
    has: (ns, sa) => set.has(ns, sa),
    size: () => set.size,
    close: () => {
      watcher.close()
      return Promise.resolve()
    },
  }
}
