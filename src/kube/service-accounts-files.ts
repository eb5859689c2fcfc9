/**
 * @module kube/service-accounts-files
 * ServiceAccounts from a directory of YAML/JSON manifests (`--service-accounts-dir`, for local use and
 * `podtrust webhook mutate`): every `*.yaml`, `*.yml` and `*.json` file, several documents each, read at
 * start and again when the directory changes. A ServiceAccount without a namespace is in `default`. A
 * file that no longer parses keeps the last good set (logged); at start it is an error.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ServiceAccount } from '../mutation/types.ts'
import { WebhookError } from './errors.ts'
import { watchDirectory } from './file-watch.ts'
import { errorText, type WebhookLogger } from './log.ts'
import { MAX_MANIFEST_BYTES, parseManifests } from './manifests.ts'
import {
  ServiceAccountCache,
  type ServiceAccountSource,
  stripServiceAccount,
} from './service-accounts.ts'

/** ServiceAccounts in a manifest text (other kinds are skipped). */
export function serviceAccountsFromText(
  text: string,
  file: string,
  keep: (key: string) => boolean,
  defaultNamespace = 'default',
): ServiceAccount[] {
  const out: ServiceAccount[] = []
  for (const obj of parseManifests(text, file)) {
    if (obj['kind'] !== 'ServiceAccount') continue
    const sa = stripServiceAccount(obj, keep, defaultNamespace)
    if (sa === undefined) {
      throw new WebhookError('SOURCE_INVALID', `\`${file}\`: a ServiceAccount has no metadata.name`)
    }
    out.push(sa)
  }
  return out
}

/** Reads every manifest file in `dir` (not recursing; dot-files such as Kubernetes' `..data` skipped). */
export function readServiceAccountsDir(
  dir: string,
  keep: (key: string) => boolean,
): ServiceAccount[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw new WebhookError('SOURCE_INVALID', `cannot read ServiceAccounts directory \`${dir}\``, {
      cause: err,
    })
  }
  const out: ServiceAccount[] = []
  for (const name of names.sort()) {
    if (name.startsWith('.') || !/\.(ya?ml|json)$/.test(name)) continue
    const file = join(dir, name)
    const st = statSync(file, { throwIfNoEntry: false })
    if (st === undefined || !st.isFile()) continue
    if (st.size > MAX_MANIFEST_BYTES) {
      throw new WebhookError(
        'SOURCE_INVALID',
        `\`${file}\` is larger than ${MAX_MANIFEST_BYTES} bytes`,
      )
    }
    out.push(...serviceAccountsFromText(readFileSync(file, 'utf8'), file, keep))
  }
  return out
}

export function startFileServiceAccountSource(options: {
  dir: string
  keep: (key: string) => boolean
  log: WebhookLogger
  onSize?(n: number): void
  onError?(err: unknown): void
  pollMs?: number
}): ServiceAccountSource {
  const cache = new ServiceAccountCache(options.onSize)
  const initial = readServiceAccountsDir(options.dir, options.keep)
  cache.replace(initial)
  options.log.info('serviceaccounts.loaded', { dir: options.dir, count: cache.size })
  let last = JSON.stringify(initial)
  const reload = () => {
    try {
      const items = readServiceAccountsDir(options.dir, options.keep)
      const text = JSON.stringify(items)
      if (text === last) return
      last = text
      cache.replace(items)
      options.log.info('serviceaccounts.loaded', { dir: options.dir, count: items.length })
    } catch (err) {
      options.onError?.(err)
      options.log.error('serviceaccounts.reload_failed', {
        dir: options.dir,
        error: errorText(err),
      })
    }
  }
  const watcher = watchDirectory(
    options.dir,
    reload,
    options.pollMs === undefined ? {} : { pollMs: options.pollMs },
  )
  return {
    get: (namespace, name) => cache.get(namespace, name),
    lookup: (namespace, name, waitMs) => cache.waitFor(namespace, name, waitMs),
    size: () => cache.size,
    synced: () => true,
    close: () => {
      watcher.close()
      return Promise.resolve()
    },
  }
}
