/**
 * @module dbproxy/pg/session
 * One client connection of the PostgreSQL protocol, from the first byte to the end of the session:
 * SSLRequest → TLS (required: a plaintext start-up is refused as RDS with `rds.force_ssl` refuses it),
 * StartupMessage, AuthenticationCleartextPassword, the IAM token as the password, the connect decision, the
 * backend session as the token's database user, then the backend's ParameterStatus / ReadyForQuery with the
 * proxy's own BackendKeyData, and a byte-for-byte relay (prepared statements, COPY, notifications are never
 * parsed). CancelRequests are routed to the backend session that owns the key.
 * https://www.postgresql.org/docs/current/protocol-flow.html
 *
 * Error texts are PostgreSQL's: a failed IAM authentication is PAM's `auth_failed` message, SQLSTATE 28000
 * (src/backend/libpq/auth.c: only password/MD5/SCRAM failures use 28P01), the same for every cause so a
 * client never learns whether the user exists; a plaintext start-up gets `no pg_hba.conf entry … no
 * encryption` (28000), as a `hostssl`-only pg_hba answers.
 */
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { CancelRegistry } from '../cancel.ts'
import type { AuditedDecision, ConnectAttempt } from '../iam.ts'
import type { DbInstance } from '../instances.ts'
import {
  closeSocket,
  ConnectionClosed,
  FrameReader,
  relay,
  type ServerTls,
  upgradeToTls,
} from '../wire.ts'
import { BackendRefused, type BackendTarget, cancelBackend, connectBackend } from './backend.ts'
import {
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  errorResponse,
  MAX_PASSWORD_MESSAGE,
  MAX_STARTUP_PACKET,
  PROTOCOL_3,
  passwordOf,
  ProtocolViolation,
  readMessage,
  readStartupPacket,
  terminate,
  type StartupPacket,
} from './protocol.ts'

export interface PgSessionDeps {
  tls: ServerTls
  decide(attempt: ConnectAttempt): Promise<AuditedDecision>
  auditRefusal(attempt: Omit<ConnectAttempt, 'token'>, reason: string): Promise<void>
  /** The backend and password for an allowed instance and user. */
  backendFor(
    instance: DbInstance,
    dbUser: string,
  ): { target: BackendTarget; password: string | undefined }
  cancelKeys: CancelRegistry<BackendTarget>
  /** Whole start-up (TLS, start-up packet, password, decision, backend) must finish within this. */
  authTimeoutMs: number
  /** Close sessions idle this long (0 = never). */
  idleTimeoutMs: number
  log: {
    info(e: string, f?: Record<string, unknown>): void
    warn(e: string, f?: Record<string, unknown>): void
  }
  /** Called with the relay's promise so the server can drain sessions at shutdown. */
  onSession?(done: Promise<void>): void
}

export function pamFailure(user: string): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: '28000',
    message: `PAM authentication failed for user "${user}"`,
  })
}

function noEncryption(ip: string, user: string, database: string): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: '28000',
    message: `no pg_hba.conf entry for host "${ip}", user "${user}", database "${database}", no encryption`,
  })
}

function backendUnavailable(): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: '08006',
    message: 'could not connect to the database server behind the proxy',
  })
}

/** Fail closed, retryably, when the decision cannot be recorded (57P03 cannot_connect_now). */
function auditUnavailable(): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: '57P03',
    message: 'the database system is not accepting connections',
    extra: { D: 'The proxy cannot record the audit event; try again.' },
  })
}

function protocolViolation(message: string): Buffer {
  return errorResponse({ severity: 'FATAL', code: '08P01', message })
}

/** The one-byte answers to SSLRequest / GSSENCRequest (buffers, not strings: no encoding per connection). */
const SSL_ACCEPTED = Buffer.from('S')
const GSS_REFUSED = Buffer.from('N')

const readStartup = (b: Buffer) => {
  const got = readStartupPacket(b)
  return got === undefined ? undefined : { value: got.packet, consumed: got.consumed }
}

function sourceIpOf(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
}

/** Serves one accepted client socket (plain TCP; TLS is negotiated here). Never throws. */
export async function servePgClient(
  raw: Socket,
  deps: PgSessionDeps,
  initial?: Buffer,
): Promise<void> {
  raw.setNoDelay(true)
  raw.setKeepAlive(true, 60_000)
  let socket: Socket = raw
  const timer = setTimeout(() => socket.destroy(), deps.authTimeoutMs)
  timer.unref()
  const sourceIp = sourceIpOf(raw)
  let reader = new FrameReader(raw, MAX_STARTUP_PACKET + MAX_PASSWORD_MESSAGE)
  if (initial !== undefined && initial.length > 0) raw.unshift(initial)
  let tls = false
  try {
    // PostgreSQL 17's direct SSL (`sslnegotiation=direct`): the client opens with a TLS ClientHello (record
    // type 22) and must offer ALPN `postgresql`. https://www.postgresql.org/docs/current/protocol-flow.html
    const first = await reader.read((b) =>
      b.length > 0 ? { value: b[0], consumed: 0 } : undefined,
    )
    if (first === 0x16) {
      const early = reader.detach()
      const direct = await upgradeToTls(raw, deps.tls, deps.authTimeoutMs, early, ['postgresql'])
      socket = direct
      if (direct.alpnProtocol !== 'postgresql')
        throw new ConnectionClosed('direct SSL without ALPN postgresql')
      tls = true
      reader = new FrameReader(socket, MAX_STARTUP_PACKET + MAX_PASSWORD_MESSAGE)
    }
    let packet: StartupPacket
    for (;;) {
      packet = await reader.read(readStartup)
      if (packet.kind === 'ssl' && !tls) {
        // Bytes after SSLRequest and before the handshake would be read as if encrypted (CVE-2021-23214).
        if (reader.buffered > 0)
          throw new ProtocolViolation('received unencrypted data after SSL request')
        reader.detach()
        raw.write(SSL_ACCEPTED)
        socket = await upgradeToTls(raw, deps.tls, deps.authTimeoutMs)
        tls = true
        reader = new FrameReader(socket, MAX_STARTUP_PACKET + MAX_PASSWORD_MESSAGE)
        continue
      }
      if (packet.kind === 'gssenc' && !tls) {
        raw.write(GSS_REFUSED)
        continue
      }
      break
    }
    if (packet.kind === 'cancel') {
      reader.detach()
      closeSocket(socket)
      const target = deps.cancelKeys.lookup(packet.processId, packet.secretKey)
      if (target !== undefined) {
        await cancelBackend(target.backend, target.processId, target.secretKey).catch(() => {})
        deps.log.info('dbproxy.cancel', { sourceIp })
      }
      return
    }
    if (packet.kind !== 'startup') throw new ProtocolViolation('unsupported frontend protocol')
    const params = packet.parameters
    const user = params.get('user')
    if (user === undefined || user === '') {
      closeSocket(
        socket,
        errorResponse({
          severity: 'FATAL',
          code: '28000',
          message: 'no PostgreSQL user name specified in startup packet',
        }),
      )
      return
    }
    const database = params.get('database') ?? user
    const serverName = tls ? (socket as TLSSocket).servername || undefined : undefined
    const base = {
      engine: 'postgres' as const,
      dbUser: user,
      database,
      sourceIp,
      serverName: typeof serverName === 'string' ? serverName : undefined,
      tls,
      ...(params.get('application_name')
        ? { userAgent: params.get('application_name') as string }
        : {}),
    }
    if (!tls) {
      await deps.auditRefusal(base, 'NoEncryption: plaintext start-up refused (TLS required)')
      closeSocket(socket, noEncryption(sourceIp, user, database))
      return
    }
    socket.write(authenticationCleartextPassword())
    const message = await reader.read((b) => {
      const got = readMessage(b, MAX_PASSWORD_MESSAGE)
      return got === undefined ? undefined : { value: got.message, consumed: got.consumed }
    })
    if (message.type !== 'p')
      throw new ProtocolViolation(
        `expected password response, got message type ${message.type.charCodeAt(0)}`,
      )
    const token = passwordOf(message.body) ?? ''
    const { decision, recorded } = await deps.decide({ ...base, token })
    if (!decision.allowed) {
      closeSocket(socket, (await recorded) ? pamFailure(user) : auditUnavailable())
      deps.log.info('dbproxy.denied', { sourceIp, user, reason: decision.reason })
      return
    }
    let backendTarget
    try {
      backendTarget = deps.backendFor(decision.instance, user)
    } catch (err) {
      // The configured backend password source is unreadable (a missing Secret file): an operator problem.
      deps.log.warn('dbproxy.backend_password_unavailable', {
        instance: decision.instance.name,
        error: (err as Error).message,
      })
      closeSocket(socket, backendUnavailable())
      return
    }
    const { target, password } = backendTarget
    const forwarded = new Map<string, string>()
    for (const [k, v] of params) if (!k.startsWith('_pq_.')) forwarded.set(k, v)
    forwarded.set('user', user)
    forwarded.set('database', database)
    // The backend starts up while the audit record commits; the client hears nothing before it is durable.
    const opening = connectBackend(target, forwarded, password, { timeoutMs: deps.authTimeoutMs })
    opening.catch(() => {})
    if (!(await recorded)) {
      void opening.then(
        (b) => closeSocket(b.socket, terminate()),
        () => {},
      )
      closeSocket(socket, auditUnavailable())
      return
    }
    let backend
    try {
      backend = await opening
    } catch (err) {
      if (err instanceof BackendRefused) {
        // An authentication-class refusal by the backend (no such role, backend password wrong) reads as
        // the same PAM failure: a client never learns whether the user exists. Other errors (no such
        // database, too many connections) pass through as PostgreSQL gives them.
        const code = err.fields.get('C') ?? ''
        if (code.startsWith('28')) {
          deps.log.warn('dbproxy.backend_refused', { instance: decision.instance.name, user, code })
          closeSocket(socket, pamFailure(user))
        } else closeSocket(socket, err.raw)
      } else {
        deps.log.warn('dbproxy.backend_unavailable', {
          instance: decision.instance.name,
          error: (err as Error).message,
        })
        closeSocket(socket, backendUnavailable())
      }
      return
    }
    const key = deps.cancelKeys.register({
      backend: target,
      processId: backend.processId,
      secretKey: backend.secretKey,
    })
    const negotiate = negotiateProtocol(packet.protocol, params)
    socket.write(
      Buffer.concat([
        ...(negotiate === undefined ? [] : [negotiate]),
        authenticationOk(),
        ...backend.startupMessages,
        backendKeyData(key.processId, key.secretKey),
        backend.readyForQuery,
        backend.leftover,
      ]),
    )
    const pending = reader.detach()
    if (pending.length > 0) backend.socket.write(pending)
    clearTimeout(timer)
    if (deps.idleTimeoutMs > 0) {
      socket.setTimeout(deps.idleTimeoutMs, () => socket.destroy())
    }
    const done = relay(socket, backend.socket, key.release)
    deps.onSession?.(done)
    await done
  } catch (err) {
    clearTimeout(timer)
    reader.detach()
    if (err instanceof ProtocolViolation) closeSocket(socket, protocolViolation(err.message))
    else if (err instanceof ConnectionClosed) socket.destroy()
    else {
      deps.log.warn('dbproxy.connection_error', { sourceIp, error: (err as Error).message })
      socket.destroy()
    }
  }
}

/** NegotiateProtocolVersion when the client asked for a newer 3.x minor or `_pq_.` options we do not speak. */
function negotiateProtocol(
  protocol: number,
  params: ReadonlyMap<string, string>,
): Buffer | undefined {
  const unknown = [...params.keys()].filter((k) => k.startsWith('_pq_.'))
  if (protocol === PROTOCOL_3 && unknown.length === 0) return undefined
  const parts: Buffer[] = []
  const head = Buffer.alloc(8)
  head.writeInt32BE(PROTOCOL_3, 0)
  head.writeInt32BE(unknown.length, 4)
  parts.push(head)
  for (const k of unknown) parts.push(Buffer.from(k + '\u0000', 'utf8'))
  const body = Buffer.concat(parts)
  const out = Buffer.alloc(5)
  out[0] = 'v'.charCodeAt(0)
  out.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([out, body])
}
