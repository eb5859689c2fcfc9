/**
 * @module store/lock
 * A FIFO async mutex. The SQLite engine has one connection: while a transaction is open, statements from
 * other requests wait here instead of landing inside that transaction.
 */
export interface Mutex {
  /** Resolves with a release function once the lock is held. */
  acquire(): Promise<() => void>
  readonly locked: boolean
}

export function createMutex(): Mutex {
  const waiters: (() => void)[] = []
  let locked = false
  const release = (): void => {
    const next = waiters.shift()
    if (next === undefined) locked = false
    else next()
  }
  return {
    get locked() {
      return locked
    },
    acquire() {
      if (!locked) {
        locked = true
        return Promise.resolve(once(release))
      }
      return new Promise((resolve) => waiters.push(() => resolve(once(release))))
    },
  }
}

function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}
