/**
 * @module dbproxy/pg/backend
 * The proxy's client side towards the real PostgreSQL: connects (plain TCP, TLS when the backend URL
 * asks for it, or a Unix-domain socket when its host is a directory), sends the start-up message as the
 * authenticated database user, answers the server's authentication request (trust, cleartext, MD5 or
 * SCRAM-SHA-256) with the configured backend password, and collects ParameterStatus, BackendKeyData and
 * the first ReadyForQuery to hand on to the client.
 */
import { createHash } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls'
import { FrameReader, closeSocket } from '../wire.ts'
import {
  AUTH_CLEARTEXT,
  AUTH_MD5,
  AUTH_OK,
  AUTH_SASL,
  AUTH_SASL_CONTINUE,
  AUTH_SASL_FINAL,
  cancelRequest,
  parseErrorFields,
  passwordMessage,
  readMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
  terminate,
  type Message,
} from './protocol.ts'
import { SCRAM_SHA_256, ScramClient } from './scram.ts'

/** Largest message accepted from the backend during start-up (ParameterStatus, errors, SASL data). */
const MAX_BACKEND_STARTUP_MESSAGE = 1024 * 1024

export interface BackendTarget {
  host: string
  port: number
  /** `disable` (default), `require` (TLS, no verification) or `verify-full` (TLS, verified against `ca`). */
  sslMode: 'disable' | 'require' | 'verify-full'
  /** PEM CA bundle for verify-full (default: Node's trust store). */
  ca?: string
  /** A Unix-domain socket (`DIR/.s.PGSQL.PORT`) instead of TCP to host:port (then sslMode is `disable`). */
  socketPath?: string
}

/** Where a target is, for messages. */
function addressOf(target: BackendTarget): string {
  return target.socketPath ?? `${target.host}:${target.port}`
}

export interface BackendSession {
  socket: Socket
  /** Raw messages to replay to the client in order: ParameterStatus and NoticeResponse. */
  startupMessages: Buffer[]
  processId: number
  secretKey: number
  /** The raw ReadyForQuery message. */
  readyForQuery: Buffer
  /** Bytes that arrived after ReadyForQuery (normally none). */
  leftover: Buffer
}

/** The backend refused the session: its ErrorResponse, relayed to the client unchanged. */
export class BackendRefused extends Error {
  readonly raw: Buffer
  readonly fields: Map<string, string>
  constructor(raw: Buffer, fields: Map<string, string>) {
    super(fields.get('M') ?? 'backend refused the connection')
    this.raw = raw
    this.fields = fields
  }
}

export class BackendUnavailable extends Error {}

function openSocket(target: BackendTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const to =
      target.socketPath === undefined
        ? { host: target.host, port: target.port }
        : { path: target.socketPath }
    const socket = netConnect(to)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new BackendUnavailable(`connect to ${addressOf(target)} timed out`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onError)
      // TCP only (a Unix socket has neither Nagle nor keep-alive; net.Socket ignores both there).
      socket.setNoDelay(true)
      socket.setKeepAlive(true, 60_000)
      resolve(socket)
    })
    const onError = (err: Error): void => {
      clearTimeout(timer)
      reject(new BackendUnavailable(`cannot connect to ${addressOf(target)}: ${err.message}`))
    }
    socket.once('error', onError)
  })
}

async function startTls(socket: Socket, target: BackendTarget): Promise<Socket> {
  const reader = new FrameReader(socket, 16)
  socket.write(sslRequest())
  const answer = await reader.read((b) =>
    b.length >= 1 ? { value: b[0], consumed: 1 } : undefined,
  )
  reader.detach()
  if (answer !== 0x53 /* 'S' */) {
    socket.destroy()
    throw new BackendUnavailable('the backend PostgreSQL does not accept TLS')
  }
  return new Promise((resolve, reject) => {
    const verify = target.sslMode === 'verify-full'
    const options: ConnectionOptions = {
      socket,
      rejectUnauthorized: verify,
      ...(/^[\d.]+$|:/.test(target.host) ? {} : { servername: target.host }),
      ...(verify && target.ca !== undefined ? { ca: target.ca } : {}),
      ...(verify ? {} : { checkServerIdentity: () => undefined }),
    }
    const tls = tlsConnect(options)
    tls.once('secureConnect', () => {
      tls.off('error', reject)
      resolve(tls)
    })
    tls.once('error', (err) => {
      socket.destroy()
      reject(new BackendUnavailable(`TLS to the backend failed: ${err.message}`))
    })
  })
}

function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(password + user, 'utf8')
    .digest('hex')
  return 'md5' + createHash('md5').update(inner, 'utf8').update(salt).digest('hex')
}

/**
 * Opens an authenticated backend session as `user`. `parameters` are the client's start-up parameters
 * (user and database already set by the caller). Throws `BackendRefused` (relay its ErrorResponse) or
 * `BackendUnavailable`.
 */
export async function connectBackend(
  target: BackendTarget,
  parameters: ReadonlyMap<string, string>,
  password: string | undefined,
  options: { timeoutMs?: number } = {},
): Promise<BackendSession> {
  const timeoutMs = options.timeoutMs ?? 10_000
  let socket = await openSocket(target, timeoutMs)
  const timer = setTimeout(
    () => socket.destroy(new BackendUnavailable('backend start-up timed out')),
    timeoutMs,
  )
  try {
    if (target.sslMode !== 'disable' && target.socketPath === undefined)
      socket = await startTls(socket, target)
    const reader = new FrameReader(socket, MAX_BACKEND_STARTUP_MESSAGE * 2)
    socket.write(startupMessage(parameters))
    const user = parameters.get('user') ?? ''
    const next = (): Promise<Message> =>
      reader.read((b) => {
        const got = readMessage(b, MAX_BACKEND_STARTUP_MESSAGE)
        return got === undefined ? undefined : { value: got.message, consumed: got.consumed }
      })
    const needPassword = (): string => {
      if (password === undefined)
        throw new BackendUnavailable(
          `the backend asks for a password for user "${user}" and none is configured`,
        )
      return password
    }
    let scram: ScramClient | undefined
    const startupMessages: Buffer[] = []
    let processId = 0
    let secretKey = 0
    for (;;) {
      const m = await next()
      const raw = rawOf(m)
      if (m.type === 'E') throw new BackendRefused(raw, parseErrorFields(m.body))
      if (m.type === 'R') {
        const code = m.body.readInt32BE(0)
        if (code === AUTH_OK) continue
        if (code === AUTH_CLEARTEXT) socket.write(passwordMessage(needPassword()))
        else if (code === AUTH_MD5)
          socket.write(passwordMessage(md5Password(user, needPassword(), m.body.subarray(4, 8))))
        else if (code === AUTH_SASL) {
          const mechanisms = m.body.subarray(4).toString('utf8').split('\u0000')
          if (!mechanisms.includes(SCRAM_SHA_256))
            throw new BackendUnavailable(
              `the backend offers no supported SASL mechanism (${mechanisms.filter(Boolean).join(', ')})`,
            )
          scram = new ScramClient(needPassword())
          socket.write(saslInitialResponse(SCRAM_SHA_256, Buffer.from(scram.first(), 'utf8')))
        } else if (code === AUTH_SASL_CONTINUE && scram !== undefined) {
          socket.write(saslResponse(Buffer.from(scram.final(m.body.toString('utf8', 4)), 'utf8')))
        } else if (code === AUTH_SASL_FINAL && scram !== undefined) {
          scram.verify(m.body.toString('utf8', 4))
        } else throw new BackendUnavailable(`unsupported backend authentication request ${code}`)
        continue
      }
      if (m.type === 'S' || m.type === 'N') {
        startupMessages.push(raw)
        continue
      }
      if (m.type === 'K') {
        processId = m.body.readInt32BE(0)
        secretKey = m.body.readInt32BE(4)
        continue
      }
      if (m.type === 'Z') {
        clearTimeout(timer)
        const leftover = reader.detach()
        return { socket, startupMessages, processId, secretKey, readyForQuery: raw, leftover }
      }
      throw new BackendUnavailable(`unexpected backend message '${m.type}' during start-up`)
    }
  } catch (err) {
    clearTimeout(timer)
    closeSocket(socket, err instanceof BackendRefused ? undefined : terminate())
    throw err
  }
}

/** The message's bytes as received: `readMessage` cuts the body right after its 5-byte header, so a view. */
function rawOf(m: Message): Buffer {
  const start = m.body.byteOffset - 5
  const view = start >= 0 ? Buffer.from(m.body.buffer, start, m.body.length + 5) : undefined
  if (
    view !== undefined &&
    view[0] === m.type.charCodeAt(0) &&
    view.readUInt32BE(1) === m.body.length + 4
  )
    return view
  const out = Buffer.allocUnsafe(5 + m.body.length)
  out[0] = m.type.charCodeAt(0)
  out.writeUInt32BE(m.body.length + 4, 1)
  m.body.copy(out, 5)
  return out
}

/** Sends a CancelRequest for (processId, secretKey) over a new connection, as PostgreSQL expects. */
export async function cancelBackend(
  target: BackendTarget,
  processId: number,
  secretKey: number,
): Promise<void> {
  const socket = await openSocket(target, 5000)
  await new Promise<void>((resolve) => {
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    socket.end(cancelRequest(processId, secretKey))
    setTimeout(() => {
      socket.destroy()
      resolve()
    }, 5000).unref()
  })
}
