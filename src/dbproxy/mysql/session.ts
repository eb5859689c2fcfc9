/**
 * @module dbproxy/mysql/session
 * One client connection of the MySQL protocol, as RDS for MySQL / MariaDB does IAM authentication
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.AWSCLI.html):
 * the proxy greets, requires TLS (SSLRequest), asks for the password with `mysql_clear_password` (an
 * AuthSwitchRequest unless the client already used that plugin), treats it as the IAM token, and after the
 * connect decision logs in to the backend as the token's user (`mysql_native_password` or the
 * `caching_sha2_password` fast path) with the client's own capabilities, database and attributes, forwards
 * the backend's OK, then relays byte for byte.
 *
 * Errors are the server's: a refused token is 1045 (28000) `Access denied for user 'U'@'HOST' (using
 * password: YES)` whatever the cause; a client without TLS gets 3159 (HY000), as with
 * `require_secure_transport=ON`. Limitation: the connection id in the greeting is the proxy's, so
 * `KILL QUERY <id>` must use the backend's `CONNECTION_ID()`.
 */
import { randomBytes } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { AuditedDecision, ConnectAttempt } from '../iam.ts'
import type { BackendUrl, DbInstance } from '../instances.ts'
import {
  closeSocket,
  ConnectionClosed,
  FrameReader,
  relay,
  type ServerTls,
  upgradeToTls,
} from '../wire.ts'
import {
  authSwitchRequest,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_PLUGIN_AUTH,
  CLIENT_SSL,
  cachingSha2Scramble,
  errPacket,
  handshakeResponse,
  initialHandshake,
  isSslRequest,
  MAX_HANDSHAKE_PACKET,
  MysqlProtocolError,
  nativePasswordScramble,
  packet,
  type Packet,
  parseErr,
  parseHandshakeResponse,
  parseInitialHandshake,
  PROXY_CAPABILITIES,
  readPacket,
} from './protocol.ts'

export const CLEAR_PASSWORD = 'mysql_clear_password'
const SERVER_VERSION = '8.0.40-podtrust-dbproxy'
const UTF8MB4_GENERAL_CI = 45

export interface MysqlSessionDeps {
  tls: ServerTls
  decide(attempt: ConnectAttempt): Promise<AuditedDecision>
  auditRefusal(attempt: Omit<ConnectAttempt, 'token'>, reason: string): Promise<void>
  backendFor(
    instance: DbInstance,
    dbUser: string,
  ): { url: BackendUrl; password: string | undefined }
  authTimeoutMs: number
  idleTimeoutMs: number
  log: {
    info(e: string, f?: Record<string, unknown>): void
    warn(e: string, f?: Record<string, unknown>): void
  }
  onSession?(done: Promise<void>): void
}

const readOne = (b: Buffer) => readPacket(b)

function accessDenied(user: string, ip: string): Buffer {
  return errPacket(1045, '28000', `Access denied for user '${user}'@'${ip}' (using password: YES)`)
}

export async function serveMysqlClient(raw: Socket, deps: MysqlSessionDeps): Promise<void> {
  raw.setNoDelay(true)
  raw.setKeepAlive(true, 60_000)
  let socket: Socket = raw
  const timer = setTimeout(() => socket.destroy(), deps.authTimeoutMs)
  timer.unref()
  const sourceIp = (raw.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  let reader = new FrameReader(raw, MAX_HANDSHAKE_PACKET * 2)
  let seq = 0
  const send = (payload: Buffer): void => {
    socket.write(packet(seq, payload))
    seq = (seq + 1) & 0xff
  }
  const fail = (payload: Buffer): void => {
    closeSocket(socket, packet(seq, payload))
  }
  const next = async (): Promise<Packet> => {
    const p = await reader.read(readOne)
    seq = (p.sequence + 1) & 0xff
    return p
  }
  try {
    const salt = randomBytes(20).map((b) => b & 0x7f || 1)
    send(
      initialHandshake({
        serverVersion: SERVER_VERSION,
        connectionId: randomBytes(4).readUInt32LE(0) & 0x7fffffff,
        salt: Buffer.from(salt),
        capabilities: PROXY_CAPABILITIES,
        charset: UTF8MB4_GENERAL_CI,
        plugin: CLEAR_PASSWORD,
      }),
    )
    let first = await next()
    let tls = false
    if (isSslRequest(first.payload)) {
      // The client's ClientHello may already be here: it does not wait for an answer to SSLRequest.
      const early = reader.detach()
      socket = await upgradeToTls(raw, deps.tls, deps.authTimeoutMs, early)
      tls = true
      reader = new FrameReader(socket, MAX_HANDSHAKE_PACKET * 2)
      first = await next()
    }
    const hello = parseHandshakeResponse(first.payload)
    const base = {
      engine: 'mysql' as const,
      dbUser: hello.user,
      database: hello.database,
      sourceIp,
      serverName: tls ? (socket as TLSSocket).servername || undefined : undefined,
      tls,
    }
    if (!tls) {
      await deps.auditRefusal(base, 'NoEncryption: plaintext connection refused (TLS required)')
      fail(
        errPacket(
          3159,
          'HY000',
          'Connections using insecure transport are prohibited while --require_secure_transport=ON.',
        ),
      )
      return
    }
    let token: string
    if (hello.plugin === CLEAR_PASSWORD) token = hello.authResponse.toString('utf8')
    else {
      send(authSwitchRequest(CLEAR_PASSWORD, Buffer.alloc(0)))
      token = (await next()).payload.toString('utf8')
    }
    token = token.replace(/\0+$/, '')
    const { decision, recorded } = await deps.decide({ ...base, token })
    if (!decision.allowed) {
      fail(
        (await recorded)
          ? accessDenied(hello.user, sourceIp)
          : errPacket(1040, '08004', 'Too many connections'),
      )
      deps.log.info('dbproxy.denied', { sourceIp, user: hello.user, reason: decision.reason })
      return
    }
    let backendTarget
    try {
      backendTarget = deps.backendFor(decision.instance, hello.user)
    } catch (err) {
      deps.log.warn('dbproxy.backend_password_unavailable', {
        instance: decision.instance.name,
        error: (err as Error).message,
      })
      fail(errPacket(2013, 'HY000', 'Lost connection to the database server behind the proxy'))
      return
    }
    const { url, password } = backendTarget
    const opening = loginBackend(url, hello, password ?? '', deps.authTimeoutMs)
    opening.catch(() => {})
    if (!(await recorded)) {
      void opening.then(
        (b) => b.socket.destroy(),
        () => {},
      )
      fail(errPacket(1040, '08004', 'Too many connections'))
      return
    }
    let backend
    try {
      backend = await opening
    } catch (err) {
      if (err instanceof BackendError) {
        // The backend's own access denial (no such user, wrong backend password) reads as ours.
        const refused = parseErr(err.payload)
        if (refused.code === 1045 || refused.sqlState === '28000') {
          deps.log.warn('dbproxy.backend_refused', {
            instance: decision.instance.name,
            code: refused.code,
          })
          fail(accessDenied(hello.user, sourceIp))
        } else fail(err.payload)
      } else {
        deps.log.warn('dbproxy.backend_unavailable', {
          instance: decision.instance.name,
          error: (err as Error).message,
        })
        fail(errPacket(2013, 'HY000', 'Lost connection to the database server behind the proxy'))
      }
      return
    }
    send(backend.ok)
    const pending = reader.detach()
    if (pending.length > 0) backend.socket.write(pending)
    if (backend.leftover.length > 0) socket.write(backend.leftover)
    clearTimeout(timer)
    if (deps.idleTimeoutMs > 0) socket.setTimeout(deps.idleTimeoutMs, () => socket.destroy())
    const done = relay(socket, backend.socket)
    deps.onSession?.(done)
    await done
  } catch (err) {
    clearTimeout(timer)
    reader.detach()
    if (err instanceof MysqlProtocolError) fail(errPacket(1043, '08S01', 'Bad handshake'))
    else if (err instanceof ConnectionClosed) socket.destroy()
    else {
      deps.log.warn('dbproxy.connection_error', { sourceIp, error: (err as Error).message })
      socket.destroy()
    }
  }
}

/** The backend refused the login: its ERR payload is relayed to the client. */
class BackendError extends Error {
  readonly payload: Buffer
  constructor(payload: Buffer) {
    super('backend refused the login')
    this.payload = payload
  }
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port })
    const t = setTimeout(() => {
      s.destroy()
      reject(new Error(`connect to ${host}:${port} timed out`))
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(t)
      s.off('error', onError)
      s.setNoDelay(true)
      s.setKeepAlive(true, 60_000)
      resolve(s)
    })
    const onError = (err: Error): void => {
      clearTimeout(t)
      reject(err)
    }
    s.once('error', onError)
  })
}

/** Logs in to the backend with the client's capabilities; resolves with the OK payload to forward. */
async function loginBackend(
  url: BackendUrl,
  hello: ReturnType<typeof parseHandshakeResponse>,
  password: string,
  timeoutMs: number,
): Promise<{ socket: Socket; ok: Buffer; leftover: Buffer }> {
  const socket = await connectTcp(url.host, url.port, timeoutMs)
  const reader = new FrameReader(socket, MAX_HANDSHAKE_PACKET * 4)
  try {
    const greet = parseInitialHandshake((await reader.read(readOne)).payload)
    const scramble = (plugin: string, salt: Buffer): Buffer => {
      if (plugin === 'mysql_native_password') return nativePasswordScramble(password, salt)
      if (plugin === 'caching_sha2_password') return cachingSha2Scramble(password, salt)
      if (plugin === CLEAR_PASSWORD) return Buffer.from(`${password}\0`, 'utf8')
      throw new Error(`unsupported backend authentication plugin ${plugin}`)
    }
    const capabilities =
      (hello.capabilities & ~CLIENT_SSL & greet.capabilities) |
      CLIENT_PLUGIN_AUTH |
      (hello.database !== undefined ? CLIENT_CONNECT_WITH_DB : 0)
    const plugin = greet.plugin === 'caching_sha2_password' ? greet.plugin : 'mysql_native_password'
    let seq = 1
    socket.write(
      packet(
        seq++,
        handshakeResponse({
          ...hello,
          capabilities: capabilities >>> 0,
          authResponse: scramble(plugin, greet.salt),
          plugin,
          attributes: capabilities & CLIENT_CONNECT_ATTRS ? hello.attributes : undefined,
        }),
      ),
    )
    for (;;) {
      const p = await reader.read(readOne)
      seq = (p.sequence + 1) & 0xff
      const kind = p.payload[0]
      if (kind === 0x00) return { socket, ok: p.payload, leftover: reader.detach() }
      if (kind === 0xff) throw new BackendError(p.payload)
      if (kind === 0xfe) {
        const end = p.payload.indexOf(0, 1)
        const switchPlugin = p.payload.toString('utf8', 1, end)
        const data = p.payload.subarray(end + 1).subarray(0, 20)
        socket.write(packet(seq++, scramble(switchPlugin, data)))
        continue
      }
      if (kind === 0x01) {
        if (p.payload[1] === 0x03) continue // caching_sha2_password: fast authentication succeeded
        throw new Error(
          'the backend wants caching_sha2_password full authentication (needs TLS or RSA); use mysql_native_password for the backend user',
        )
      }
      throw new Error(`unexpected backend packet 0x${(kind ?? 0).toString(16)} during login`)
    }
  } catch (err) {
    reader.detach()
    socket.destroy()
    throw err
  }
}
