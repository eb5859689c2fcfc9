/**
 * @module kube/file-watch
 * Calls back when files under a directory may have changed: fs.watch on the directory (which sees the
 * atomic `..data` symlink swap Kubernetes uses for Secret and ConfigMap volumes, and editors' renames),
 * debounced, plus a slow poll as a safety net for events the OS drops. The callback re-reads and decides
 * whether anything changed.
 */
import { watch, type FSWatcher } from 'node:fs'

export interface DirectoryWatch {
  close(): void
}

export function watchDirectory(
  dir: string,
  onChange: () => void,
  options: { debounceMs?: number; pollMs?: number } = {},
): DirectoryWatch {
  const debounceMs = options.debounceMs ?? 100
  let timer: NodeJS.Timeout | undefined
  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      onChange()
    }, debounceMs)
  }
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dir, { persistent: false }, schedule)
    // A removed directory ends the watch; the poll keeps going.
    watcher.on('error', () => {
      watcher?.close()
      watcher = undefined
    })
  } catch {
    watcher = undefined
  }
  const poll = setInterval(onChange, options.pollMs ?? 10_000)
  poll.unref()
  return {
    close() {
      watcher?.close()
      clearInterval(poll)
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}
