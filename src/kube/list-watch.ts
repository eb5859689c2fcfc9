/**
 * @module kube/list-watch
 * A reflector in the manner of client-go's: list (paginated with `limit`/`continue`), then watch from the
 * list's resourceVersion with bookmarks on, through @kubernetes/client-node's `Watch`. A watch that ends
 * (server timeout, `--resync-period`) restarts from the last resourceVersion seen; a 410 Gone (an ERROR
 * event or status, or an expired `continue`) relists; other failures back off exponentially and retry,
 * so the process never stops watching. Objects are stripped before anything keeps them.
 * Not client-node's `ListWatch` informer: it stops for good on the first non-410 error (no retry, no
 * back-off), asks for no bookmarks, does not paginate its list and keeps whole objects.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import { errorText, type WebhookLogger } from './log.ts'

/** One page of a list call. */
export interface ListPage {
  items: readonly unknown[]
  resourceVersion: string
  continueToken: string | undefined
}

/** A client-node list response as one page: its items, resourceVersion and continue token. */
export function listPage(list: {
  items: readonly unknown[]
  metadata?: { resourceVersion?: string; _continue?: string }
}): ListPage {
  return {
    items: list.items,
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continueToken: list.metadata?._continue,
  }
}

export interface ReflectorOptions<T> {
  /** For logs: `serviceaccounts`, `configmaps`. */
  name: string
  kubeConfig: KubeConfig
  /** The collection path, e.g. `/api/v1/serviceaccounts`. */
  path: string
  fieldSelector?: string
  /** One list call; `continueToken` undefined for the first page. */
  list(continueToken: string | undefined, limit: number): Promise<ListPage>
  /** Page size (default 500, client-go's). */
  pageSize?: number
  /** Watch `timeoutSeconds`: the server ends the watch after this and it restarts (default 60). */
  watchTimeoutSeconds?: number
  strip(object: unknown): T | undefined
  onReplace(items: T[]): void
  onUpsert(item: T): void
  onDelete(item: T): void
  /** Called on each failure (metrics); the reflector retries by itself. */
  onError?(err: unknown): void
  log: WebhookLogger
  /** Backoff bounds in milliseconds (default 250 … 30000). */
  backoff?: { initialMs: number; maxMs: number }
}

type WatchEnd = 'closed' | 'expired' | 'failed'

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown } | undefined
  if (typeof e?.statusCode === 'number') return e.statusCode
  if (typeof e?.code === 'number') return e.code
  return undefined
}

export class Reflector<T> {
  readonly #o: ReflectorOptions<T>
  #resourceVersion = ''
  #stopped = false
  #synced = false
  #abort: AbortController | undefined
  #endWatch: (() => void) | undefined
  #sleepTimer: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  #loop: Promise<void> | undefined
  #firstSync: Promise<void>
  #resolveFirstSync!: () => void

  constructor(options: ReflectorOptions<T>) {
    this.#o = options
    this.#firstSync = new Promise((r) => (this.#resolveFirstSync = r))
  }

  /** Starts the list/watch loop; it runs until `stop()`. */
  start(): void {
    this.#loop ??= this.#run()
  }

  /** Resolves after the first complete list. */
  firstSync(): Promise<void> {
    return this.#firstSync
  }

  isSynced(): boolean {
    return this.#synced
  }

  get resourceVersion(): string {
    return this.#resourceVersion
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#abort?.abort()
    // The watch request may still be waiting for response headers: end it without waiting for them.
    this.#endWatch?.()
    if (this.#sleepTimer !== undefined) clearTimeout(this.#sleepTimer)
    this.#wake?.()
    await this.#loop
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve
      this.#sleepTimer = setTimeout(resolve, ms)
    })
  }

  async #run(): Promise<void> {
    const initial = this.#o.backoff?.initialMs ?? 250
    const max = this.#o.backoff?.maxMs ?? 30_000
    let delay = initial
    let needList = true
    while (!this.#stopped) {
      if (needList) {
        try {
          await this.#listAll()
          needList = false
          delay = initial
        } catch (err) {
          if (this.#stopped) return
          this.#o.onError?.(err)
          this.#o.log.error('kube.list_failed', {
            resource: this.#o.name,
            status: statusOf(err),
            error: errorText(err),
            retryInMs: delay,
          })
          await this.#sleep(delay)
          delay = Math.min(max, delay * 2)
          continue
        }
      }
      const started = performance.now()
      const end = await this.#watchOnce()
      if (this.#stopped) return
      if (end === 'expired') {
        this.#o.log.info('kube.watch_expired', { resource: this.#o.name, relist: true })
        needList = true
        continue
      }
      if (end === 'failed') {
        this.#o.onError?.(new Error('watch failed'))
        await this.#sleep(delay)
        delay = Math.min(max, delay * 2)
        continue
      }
      // A watch the server closed at once (e.g. a proxy dropping it) must not spin.
      if (performance.now() - started < 1000) {
        await this.#sleep(delay)
        delay = Math.min(max, delay * 2)
      } else delay = initial
    }
  }

  async #listAll(): Promise<void> {
    const limit = this.#o.pageSize ?? 500
    for (;;) {
      const items: T[] = []
      let resourceVersion = ''
      let token: string | undefined
      let expired = false
      do {
        let page: ListPage
        try {
          page = await this.#o.list(token, limit)
        } catch (err) {
          // An expired continue token (410): start the list again from the beginning.
          if (token !== undefined && statusOf(err) === 410) {
            expired = true
            break
          }
          throw err
        }
        if (resourceVersion === '') resourceVersion = page.resourceVersion
        for (const raw of page.items) {
          const item = this.#o.strip(raw)
          if (item !== undefined) items.push(item)
        }
        token = page.continueToken === '' ? undefined : page.continueToken
      } while (token !== undefined && !this.#stopped)
      if (this.#stopped) return
      if (expired) {
        this.#o.log.info('kube.list_continue_expired', { resource: this.#o.name })
        continue
      }
      this.#o.onReplace(items)
      this.#resourceVersion = resourceVersion
      if (!this.#synced) {
        this.#synced = true
        this.#resolveFirstSync()
      }
      this.#o.log.info('kube.listed', {
        resource: this.#o.name,
        count: items.length,
        resourceVersion,
      })
      return
    }
  }

  async #watchOnce(): Promise<WatchEnd> {
    const { Watch } = await import('@kubernetes/client-node')
    const timeoutSeconds = this.#o.watchTimeoutSeconds ?? 60
    return new Promise<WatchEnd>((resolve) => {
      let outcome: WatchEnd = 'closed'
      let settled = false
      // The server ends the watch after timeoutSeconds; silence well beyond that means a dead connection.
      let watchdog: NodeJS.Timeout | undefined
      const arm = () => {
        if (watchdog !== undefined) clearTimeout(watchdog)
        watchdog = setTimeout(
          () => {
            this.#o.log.warn('kube.watch_stalled', { resource: this.#o.name })
            outcome = 'failed'
            this.#abort?.abort()
            finish()
          },
          (timeoutSeconds + 30) * 1000,
        )
      }
      const finish = () => {
        if (settled) return
        settled = true
        if (watchdog !== undefined) clearTimeout(watchdog)
        resolve(outcome)
      }
      this.#endWatch = finish
      arm()
      const onEvent = (type: string, object: unknown) => {
        arm()
        const rv = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
          ?.resourceVersion
        if (type === 'ERROR') {
          const status = object as { code?: unknown; message?: unknown; reason?: unknown }
          if (status.code === 410) outcome = 'expired'
          else {
            outcome = 'failed'
            this.#o.log.error('kube.watch_error', {
              resource: this.#o.name,
              status: status.code,
              reason: status.reason,
              message: status.message,
            })
          }
          return
        }
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          const item = this.#o.strip(object)
          if (item !== undefined) {
            if (type === 'DELETED') this.#o.onDelete(item)
            else this.#o.onUpsert(item)
          }
        }
        // ADDED, MODIFIED, DELETED and BOOKMARK all move the resourceVersion forward.
        if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv
      }
      const onDone = (err: unknown) => {
        if (err !== null && err !== undefined && !this.#stopped && outcome === 'closed') {
          if (statusOf(err) === 410) outcome = 'expired'
          else {
            outcome = 'failed'
            this.#o.log.error('kube.watch_failed', {
              resource: this.#o.name,
              status: statusOf(err),
              error: errorText(err),
            })
          }
        }
        finish()
      }
      new Watch(this.#o.kubeConfig)
        .watch(
          this.#o.path,
          {
            allowWatchBookmarks: true,
            resourceVersion: this.#resourceVersion,
            timeoutSeconds,
            ...(this.#o.fieldSelector === undefined
              ? {}
              : { fieldSelector: this.#o.fieldSelector }),
          },
          onEvent,
          onDone,
        )
        .then((controller) => {
          this.#abort = controller
          if (this.#stopped || settled) controller.abort()
        })
        .catch((err: unknown) => onDone(err ?? new Error('watch failed')))
    })
  }
}
