/**
 * @module dbproxy/wire
 * The socket plumbing both wire protocols share: a framed reader for the start-up phase (bounded buffering,
 * one pending read, errors and close surfaced as rejections), the byte-for-byte relay with back-pressure
 * that carries a session once it is authenticated, and a safe close.
 */
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { type SecureContext, TLSSocket } from 'node:tls'

export class ConnectionClosed extends Error {}

/** Reads frames from a socket during start-up; `detach()` hands back what arrived after the last frame. */
export class FrameReader {
  #socket: Socket
  #buffer: Buffer = Buffer.alloc(0)
  #waiter: (() => void) | undefined
  #failure: Error | undefined
  readonly #maxBuffered: number
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    if (this.#buffer.length > this.#maxBuffered) {
      this.#fail(new ConnectionClosed('too much data before authentication'))
      this.#socket.destroy()
      return
    }
    this.#wake()
  }
  readonly #onEnd = (): void => this.#fail(new ConnectionClosed('peer closed the connection'))
  readonly #onError = (err: Error): void => this.#fail(err)

  constructor(socket: Socket, maxBuffered: number) {
    this.#socket = socket
    this.#maxBuffered = maxBuffered
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('close', this.#onEnd)
    socket.on('error', this.#onError)
    // A socket paused by the protocol sniffer does not resume by itself when a 'data' listener is added.
    socket.resume()
  }

  #wake(): void {
    const w = this.#waiter
    this.#waiter = undefined
    w?.()
  }

  #fail(err: Error): void {
    if (this.#failure === undefined) this.#failure = err
    this.#wake()
  }

  /** Waits until `parse` returns a frame from the buffered bytes (it throws on malformed input). */
  async read<T>(parse: (buffer: Buffer) => { value: T; consumed: number } | undefined): Promise<T> {
    for (;;) {
      const got = parse(this.#buffer)
      if (got !== undefined) {
        this.#buffer = this.#buffer.subarray(got.consumed)
        return got.value
      }
      if (this.#failure !== undefined) throw this.#failure
      await new Promise<void>((resolve) => (this.#waiter = resolve))
    }
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.#buffer.length
  }

  /** Stops reading; returns unread bytes. The socket keeps an 'error' listener (see `guard`). */
  detach(): Buffer {
    this.#socket.off('data', this.#onData)
    this.#socket.off('end', this.#onEnd)
    this.#socket.off('close', this.#onEnd)
    this.#socket.off('error', this.#onError)
    guard(this.#socket)
    const rest = this.#buffer
    this.#buffer = Buffer.alloc(0)
    return rest
  }
}

/** Keeps an 'error' listener on the socket so a late error never becomes an uncaught exception. */
export function guard(socket: Socket): void {
  if (socket.listenerCount('error') === 0) socket.on('error', () => {})
}

/** Ends a socket after flushing `last` (when given), and destroys it if the peer does not close in time. */
export function closeSocket(socket: Socket, last?: Buffer): void {
  guard(socket)
  if (socket.destroyed) return
  if (last !== undefined && socket.writable) socket.end(last)
  else socket.end()
  setTimeout(() => socket.destroy(), 2000).unref()
}

/**
 * Relays bytes both ways until either side ends or fails, then closes both. Back-pressure: a side that
 * cannot take more pauses the other. Resolves when both sockets are closed.
 */
export function relay(client: Socket, backend: Socket, onClose?: () => void): Promise<void> {
  return new Promise((resolve) => {
    let closed = false
    const finish = (): void => {
      if (closed) return
      closed = true
      client.destroy()
      backend.destroy()
      onClose?.()
      resolve()
    }
    const pipeOne = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) {
          from.pause()
          to.once('drain', () => from.resume())
        }
      })
      from.on('end', () => {
        // A half-close is a session end for both protocols: end the other side cleanly.
        if (to.writable) to.end()
        setTimeout(finish, 2000).unref()
      })
      from.on('error', finish)
      from.on('close', finish)
    }
    pipeOne(client, backend)
    pipeOne(backend, client)
    client.resume()
    backend.resume()
  })
}

/**
 * Turns an accepted socket into a server-side TLS socket. `early` holds bytes that arrived before the
 * switch and belong to the handshake (a MySQL client sends its ClientHello right after the SSLRequest, with
 * no answer to wait for); they are replayed through a small duplex in front of the socket.
 */
/** The server side's TLS: the default context and, optionally, a per-name (SNI) choice. */
export interface ServerTls {
  secureContext: SecureContext
  SNICallback?: (
    servername: string,
    callback: (err: Error | null, ctx?: SecureContext) => void,
  ) => void
}

export function upgradeToTls(
  raw: Socket,
  serverTls: ServerTls,
  timeoutMs: number,
  early: Buffer = Buffer.alloc(0),
  alpn?: string[],
): Promise<TLSSocket> {
  let transport: Socket | Duplex = raw
  if (early.length > 0) {
    const duplex = new Duplex({
      read() {
        raw.resume()
      },
      write(chunk: Buffer, _encoding, callback) {
        raw.write(chunk, callback)
      },
      final(callback) {
        raw.end()
        callback()
      },
      destroy(err, callback) {
        raw.destroy()
        callback(err)
      },
    })
    duplex.push(early)
    raw.on('data', (d: Buffer) => {
      if (!duplex.push(d)) raw.pause()
    })
    raw.on('end', () => duplex.push(null))
    raw.on('close', () => duplex.destroy())
    guard(raw)
    transport = duplex
  }
  return new Promise((resolve, reject) => {
    const tls = new TLSSocket(transport as Socket, {
      isServer: true,
      secureContext: serverTls.secureContext,
      ...(serverTls.SNICallback === undefined ? {} : { SNICallback: serverTls.SNICallback }),
      ...(alpn === undefined ? {} : { ALPNProtocols: alpn }),
    })
    const timer = setTimeout(() => {
      tls.destroy()
      reject(new ConnectionClosed('TLS handshake timed out'))
    }, timeoutMs)
    tls.once('secure', () => {
      clearTimeout(timer)
      tls.off('error', onError)
      resolve(tls)
    })
    const onError = (err: Error): void => {
      clearTimeout(timer)
      tls.destroy()
      raw.destroy()
      reject(new ConnectionClosed(`TLS handshake failed: ${err.message}`))
    }
    tls.once('error', onError)
  })
}
