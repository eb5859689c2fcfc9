/**
 * @module dbproxy/mysql/protocol
 * The MySQL client/server protocol's connection phase, as far as the proxy speaks it itself
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html): packet framing,
 * the Initial Handshake v10, SSLRequest and HandshakeResponse41, AuthSwitchRequest, OK and ERR packets,
 * and the `mysql_native_password` / `caching_sha2_password` scrambles for the backend. Pure.
 */
import { createHash } from 'node:crypto'

export const CLIENT_LONG_PASSWORD = 0x1
export const CLIENT_FOUND_ROWS = 0x2
export const CLIENT_LONG_FLAG = 0x4
export const CLIENT_CONNECT_WITH_DB = 0x8
export const CLIENT_PROTOCOL_41 = 0x200
export const CLIENT_SSL = 0x800
export const CLIENT_TRANSACTIONS = 0x2000
export const CLIENT_SECURE_CONNECTION = 0x8000
export const CLIENT_MULTI_STATEMENTS = 0x10000
export const CLIENT_MULTI_RESULTS = 0x20000
export const CLIENT_PS_MULTI_RESULTS = 0x40000
export const CLIENT_PLUGIN_AUTH = 0x80000
export const CLIENT_CONNECT_ATTRS = 0x100000
export const CLIENT_PLUGIN_AUTH_LENENC = 0x200000

/**
 * What the proxy offers before it knows the backend: capabilities every MySQL ≥ 5.7 and MariaDB ≥ 10
 * server has, so the session relayed after authentication keeps the format both ends agreed on (no
 * DEPRECATE_EOF, no SESSION_TRACK, no MariaDB extensions).
 */
export const PROXY_CAPABILITIES =
  CLIENT_LONG_PASSWORD |
  CLIENT_FOUND_ROWS |
  CLIENT_LONG_FLAG |
  CLIENT_CONNECT_WITH_DB |
  CLIENT_PROTOCOL_41 |
  CLIENT_SSL |
  CLIENT_TRANSACTIONS |
  CLIENT_SECURE_CONNECTION |
  CLIENT_MULTI_STATEMENTS |
  CLIENT_MULTI_RESULTS |
  CLIENT_PS_MULTI_RESULTS |
  CLIENT_PLUGIN_AUTH |
  CLIENT_CONNECT_ATTRS |
  CLIENT_PLUGIN_AUTH_LENENC

/** Connection-phase packets are small; anything larger before authentication is refused. */
export const MAX_HANDSHAKE_PACKET = 16_384

export class MysqlProtocolError extends Error {}

export interface Packet {
  sequence: number
  payload: Buffer
}

export function readPacket(
  buffer: Buffer,
  maxLength = MAX_HANDSHAKE_PACKET,
): { value: Packet; consumed: number } | undefined {
  if (buffer.length < 4) return undefined
  const length = buffer.readUIntLE(0, 3)
  if (length > maxLength)
    throw new MysqlProtocolError('packet too large during the connection phase')
  if (buffer.length < 4 + length) return undefined
  return {
    value: { sequence: buffer[3]!, payload: buffer.subarray(4, 4 + length) },
    consumed: 4 + length,
  }
}

export function packet(sequence: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUIntLE(payload.length, 0, 3)
  head[3] = sequence & 0xff
  return Buffer.concat([head, payload])
}

function nul(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])])
}

/** Initial Handshake v10 advertising `plugin` with a 20-byte `salt`. */
export function initialHandshake(input: {
  serverVersion: string
  connectionId: number
  salt: Buffer
  capabilities: number
  charset: number
  plugin: string
}): Buffer {
  const caps = Buffer.alloc(2)
  const out: Buffer[] = [Buffer.from([10]), nul(input.serverVersion)]
  const id = Buffer.alloc(4)
  id.writeUInt32LE(input.connectionId >>> 0, 0)
  out.push(id, input.salt.subarray(0, 8), Buffer.from([0]))
  caps.writeUInt16LE(input.capabilities & 0xffff, 0)
  out.push(Buffer.from(caps))
  const status = Buffer.alloc(2)
  status.writeUInt16LE(0x0002, 0) // SERVER_STATUS_AUTOCOMMIT
  out.push(Buffer.from([input.charset]), status)
  caps.writeUInt16LE((input.capabilities >>> 16) & 0xffff, 0)
  out.push(
    Buffer.from(caps),
    Buffer.from([21]),
    Buffer.alloc(10),
    input.salt.subarray(8, 20),
    Buffer.from([0]),
    nul(input.plugin),
  )
  return Buffer.concat(out)
}

export interface ServerHandshake {
  serverVersion: string
  connectionId: number
  capabilities: number
  charset: number
  salt: Buffer
  plugin: string
}

export function parseInitialHandshake(p: Buffer): ServerHandshake {
  if (p[0] === 0xff) throw new MysqlProtocolError(parseErr(p).message)
  if (p[0] !== 10) throw new MysqlProtocolError(`unsupported handshake protocol ${p[0]}`)
  let o = 1
  const vEnd = p.indexOf(0, o)
  const serverVersion = p.toString('utf8', o, vEnd)
  o = vEnd + 1
  const connectionId = p.readUInt32LE(o)
  o += 4
  const salt1 = p.subarray(o, o + 8)
  o += 9
  let capabilities = p.readUInt16LE(o)
  o += 2
  const charset = p[o]!
  o += 3
  capabilities |= p.readUInt16LE(o) << 16
  capabilities >>>= 0
  o += 2
  const authLen = p[o]!
  o += 11
  const salt2Len = Math.max(13, authLen - 8)
  const salt2 = p.subarray(o, o + salt2Len - 1)
  o += salt2Len
  const pEnd = p.indexOf(0, o)
  const plugin = p.toString('utf8', o, pEnd === -1 ? p.length : pEnd)
  return {
    serverVersion,
    connectionId,
    capabilities,
    charset,
    salt: Buffer.concat([salt1, salt2]),
    plugin,
  }
}

export interface HandshakeResponse {
  capabilities: number
  maxPacket: number
  charset: number
  user: string
  authResponse: Buffer
  database: string | undefined
  plugin: string | undefined
  /** Raw connect attributes (length-encoded block), when sent. */
  attributes: Buffer | undefined
}

function readLenenc(p: Buffer, o: number): { value: number; next: number } {
  const first = p[o]
  if (first === undefined) throw new MysqlProtocolError('truncated length-encoded integer')
  if (first < 0xfb) return { value: first, next: o + 1 }
  if (first === 0xfc) return { value: p.readUInt16LE(o + 1), next: o + 3 }
  if (first === 0xfd) return { value: p.readUIntLE(o + 1, 3), next: o + 4 }
  if (first === 0xfe) return { value: Number(p.readBigUInt64LE(o + 1)), next: o + 9 }
  throw new MysqlProtocolError('invalid length-encoded integer')
}

function lenenc(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n])
  if (n < 0x10000) {
    const b = Buffer.alloc(3)
    b[0] = 0xfc
    b.writeUInt16LE(n, 1)
    return b
  }
  const b = Buffer.alloc(4)
  b[0] = 0xfd
  b.writeUIntLE(n, 1, 3)
  return b
}

/** The SSLRequest is the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set. */
export function isSslRequest(p: Buffer): boolean {
  return p.length === 32 && (p.readUInt32LE(0) & CLIENT_SSL) !== 0
}

export function parseHandshakeResponse(p: Buffer): HandshakeResponse {
  if (p.length < 33) throw new MysqlProtocolError('handshake response too short')
  const capabilities = p.readUInt32LE(0)
  if ((capabilities & CLIENT_PROTOCOL_41) === 0)
    throw new MysqlProtocolError('client does not speak protocol 4.1')
  const maxPacket = p.readUInt32LE(4)
  const charset = p[8]!
  let o = 32
  const uEnd = p.indexOf(0, o)
  if (uEnd === -1) throw new MysqlProtocolError('malformed user name')
  const user = p.toString('utf8', o, uEnd)
  o = uEnd + 1
  let authResponse: Buffer
  if (capabilities & CLIENT_PLUGIN_AUTH_LENENC) {
    const l = readLenenc(p, o)
    authResponse = p.subarray(l.next, l.next + l.value)
    o = l.next + l.value
  } else if (capabilities & CLIENT_SECURE_CONNECTION) {
    const l = p[o] ?? 0
    authResponse = p.subarray(o + 1, o + 1 + l)
    o += 1 + l
  } else {
    const e = p.indexOf(0, o)
    authResponse = p.subarray(o, e === -1 ? p.length : e)
    o = e === -1 ? p.length : e + 1
  }
  let database: string | undefined
  if (capabilities & CLIENT_CONNECT_WITH_DB && o < p.length) {
    const e = p.indexOf(0, o)
    database = p.toString('utf8', o, e === -1 ? p.length : e)
    o = e === -1 ? p.length : e + 1
    if (database === '') database = undefined
  }
  let plugin: string | undefined
  if (capabilities & CLIENT_PLUGIN_AUTH && o < p.length) {
    const e = p.indexOf(0, o)
    plugin = p.toString('utf8', o, e === -1 ? p.length : e)
    o = e === -1 ? p.length : e + 1
  }
  let attributes: Buffer | undefined
  if (capabilities & CLIENT_CONNECT_ATTRS && o < p.length) {
    const l = readLenenc(p, o)
    attributes = p.subarray(o, l.next + l.value)
  }
  return { capabilities, maxPacket, charset, user, authResponse, database, plugin, attributes }
}

export function handshakeResponse(r: HandshakeResponse): Buffer {
  const head = Buffer.alloc(32)
  head.writeUInt32LE(r.capabilities >>> 0, 0)
  head.writeUInt32LE(r.maxPacket >>> 0, 4)
  head[8] = r.charset
  const parts: Buffer[] = [head, nul(r.user)]
  if (r.capabilities & CLIENT_PLUGIN_AUTH_LENENC)
    parts.push(lenenc(r.authResponse.length), r.authResponse)
  else parts.push(Buffer.from([r.authResponse.length]), r.authResponse)
  if (r.capabilities & CLIENT_CONNECT_WITH_DB) parts.push(nul(r.database ?? ''))
  if (r.capabilities & CLIENT_PLUGIN_AUTH) parts.push(nul(r.plugin ?? ''))
  if (r.capabilities & CLIENT_CONNECT_ATTRS && r.attributes !== undefined) parts.push(r.attributes)
  return Buffer.concat(parts)
}

export function authSwitchRequest(plugin: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xfe]), nul(plugin), data])
}

export function errPacket(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(3)
  head[0] = 0xff
  head.writeUInt16LE(code, 1)
  return Buffer.concat([head, Buffer.from(`#${sqlState}`, 'ascii'), Buffer.from(message, 'utf8')])
}

export function parseErr(p: Buffer): { code: number; sqlState: string; message: string } {
  const code = p.readUInt16LE(1)
  const hasState = p[3] === 0x23
  return {
    code,
    sqlState: hasState ? p.toString('ascii', 4, 9) : 'HY000',
    message: p.toString('utf8', hasState ? 9 : 3),
  }
}

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!
  return out
}

/** mysql_native_password: SHA1(pw) XOR SHA1(salt ‖ SHA1(SHA1(pw))); empty password → empty response. */
export function nativePasswordScramble(password: string, salt: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0)
  const stage1 = sha1(Buffer.from(password, 'utf8'))
  return xor(stage1, sha1(salt.subarray(0, 20), sha1(stage1)))
}

/** caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) ‖ salt). */
export function cachingSha2Scramble(password: string, salt: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0)
  const p1 = sha256(Buffer.from(password, 'utf8'))
  return xor(p1, sha256(sha256(p1), salt.subarray(0, 20)))
}
