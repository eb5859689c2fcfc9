/**
 * @module dbproxy/cancel
 * PostgreSQL cancel keys: each client gets the proxy's own (process id, secret) in BackendKeyData, mapped to
 * the backend connection's real key, so a CancelRequest (sent on a new connection) reaches the right backend
 * session and a client can never cancel a session it does not hold the secret of. One registry per proxy.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'

export interface CancelTarget<T> {
  /** What the backend needs (where it is and its own key). */
  backend: T
  processId: number
  secretKey: number
}

export interface CancelRegistry<T> {
  /** Registers a session; returns the key to give the client and a function that forgets it. */
  register(target: CancelTarget<T>): { processId: number; secretKey: number; release(): void }
  /** The target for a client's key, or undefined (wrong secret and unknown id look the same). */
  lookup(processId: number, secretKey: number): CancelTarget<T> | undefined
  readonly size: number
}

export function createCancelRegistry<T>(): CancelRegistry<T> {
  const entries = new Map<number, { secret: Buffer; target: CancelTarget<T> }>()
  return {
    register(target) {
      // One draw for both halves (each randomBytes call crosses into C++; it showed in the -C profile).
      let key: Buffer
      let processId: number
      do {
        key = randomBytes(8)
        processId = key.readUInt32BE(0) & 0x7fffffff
      } while (processId === 0 || entries.has(processId))
      const secret = key.subarray(4)
      entries.set(processId, { secret, target })
      return {
        processId,
        secretKey: secret.readInt32BE(0),
        release: () => {
          if (entries.get(processId)?.secret === secret) entries.delete(processId)
        },
      }
    },
    lookup(processId, secretKey) {
      const entry = entries.get(processId)
      const given = Buffer.alloc(4)
      given.writeInt32BE(secretKey, 0)
      const expected = entry?.secret ?? Buffer.alloc(4)
      const same = timingSafeEqual(given, expected)
      return entry !== undefined && same ? entry.target : undefined
    },
    get size() {
      return entries.size
    },
  }
}
