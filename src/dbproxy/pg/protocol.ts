/**
 * @module dbproxy/pg/protocol
 * PostgreSQL frontend/backend protocol 3.0 framing: the messages the proxy reads and writes itself during the
 * start-up phase (https://www.postgresql.org/docs/current/protocol-message-formats.html). After
 * authentication the session is relayed byte for byte and never parsed. Pure: no sockets here.
 */

/** Protocol 3.0 (`196608`). */
export const PROTOCOL_3 = 196608
/** Special "protocol versions" of the untyped first packet. */
export const SSL_REQUEST_CODE = 80877103
export const GSSENC_REQUEST_CODE = 80877104
export const CANCEL_REQUEST_CODE = 80877102
/** PostgreSQL's own bound on a start-up packet (MAX_STARTUP_PACKET_LENGTH in src/include/libpq/pqcomm.h). */
export const MAX_STARTUP_PACKET = 10_000
/** An IAM token with a session token is about 1–2 KiB; PostgreSQL accepts auth packets up to 64 KiB. */
export const MAX_PASSWORD_MESSAGE = 16_384

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  | { kind: 'startup'; protocol: number; parameters: Map<string, string> }

export class ProtocolViolation extends Error {}

/**
 * Reads the untyped first packet (length + code + body) from `buffer`; `undefined` until it is complete.
 * Throws `ProtocolViolation` for an oversized or malformed packet.
 */
export function readStartupPacket(
  buffer: Buffer,
): { packet: StartupPacket; consumed: number } | undefined {
  if (buffer.length < 8) return undefined
  const length = buffer.readUInt32BE(0)
  if (length < 8 || length > MAX_STARTUP_PACKET)
    throw new ProtocolViolation('invalid length of startup packet')
  if (buffer.length < length) return undefined
  const code = buffer.readUInt32BE(4)
  const body = buffer.subarray(8, length)
  if (code === SSL_REQUEST_CODE && length === 8) return { packet: { kind: 'ssl' }, consumed: 8 }
  if (code === GSSENC_REQUEST_CODE && length === 8)
    return { packet: { kind: 'gssenc' }, consumed: 8 }
  if (code === CANCEL_REQUEST_CODE) {
    if (length !== 16) throw new ProtocolViolation('invalid length of cancel request')
    return {
      packet: {
        kind: 'cancel',
        processId: body.readInt32BE(0),
        secretKey: body.readInt32BE(4),
      },
      consumed: 16,
    }
  }
  if (code >> 16 !== 3) throw new ProtocolViolation('unsupported frontend protocol')
  const parameters = new Map<string, string>()
  let offset = 0
  for (;;) {
    const end = body.indexOf(0, offset)
    if (end === -1) throw new ProtocolViolation('invalid startup packet layout')
    if (end === offset) break
    const name = body.toString('utf8', offset, end)
    const valueEnd = body.indexOf(0, end + 1)
    if (valueEnd === -1) throw new ProtocolViolation('invalid startup packet layout')
    parameters.set(name, body.toString('utf8', end + 1, valueEnd))
    offset = valueEnd + 1
  }
  return { packet: { kind: 'startup', protocol: code, parameters }, consumed: length }
}

/** One typed message (1-byte type, int32 length including itself, body). */
export interface Message {
  type: string
  body: Buffer
}

/** Reads one typed message; `undefined` until complete. `maxLength` bounds the declared length. */
export function readMessage(
  buffer: Buffer,
  maxLength: number,
): { message: Message; consumed: number } | undefined {
  if (buffer.length < 5) return undefined
  const length = buffer.readUInt32BE(1)
  if (length < 4 || length > maxLength) throw new ProtocolViolation('invalid message length')
  if (buffer.length < length + 1) return undefined
  return {
    message: { type: String.fromCharCode(buffer[0]!), body: buffer.subarray(5, length + 1) },
    consumed: length + 1,
  }
}

function typed(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length)
  out[0] = type.charCodeAt(0)
  out.writeUInt32BE(body.length + 4, 1)
  body.copy(out, 5)
  return out
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeInt32BE(n, 0)
  return b
}

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])])
}

// ---- backend → frontend ---------------------------------------------------------------------------------

export const AUTH_OK = 0
export const AUTH_CLEARTEXT = 3
export const AUTH_MD5 = 5
export const AUTH_SASL = 10
export const AUTH_SASL_CONTINUE = 11
export const AUTH_SASL_FINAL = 12

export function authenticationCleartextPassword(): Buffer {
  return typed('R', int32(AUTH_CLEARTEXT))
}

export function authenticationOk(): Buffer {
  return typed('R', int32(AUTH_OK))
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  return typed('K', Buffer.concat([int32(processId), int32(secretKey)]))
}

export interface ErrorFields {
  severity: 'FATAL' | 'ERROR'
  code: string
  message: string
  /** Extra fields by their one-letter type (`D` detail, `H` hint, `R` routine …). */
  extra?: Record<string, string>
}

/** ErrorResponse: `S` (localized) and `V` severity, `C` SQLSTATE, `M` message. */
export function errorResponse(fields: ErrorFields): Buffer {
  const parts = [
    Buffer.from('S'),
    cstring(fields.severity),
    Buffer.from('V'),
    cstring(fields.severity),
    Buffer.from('C'),
    cstring(fields.code),
    Buffer.from('M'),
    cstring(fields.message),
  ]
  for (const [k, v] of Object.entries(fields.extra ?? {})) parts.push(Buffer.from(k), cstring(v))
  parts.push(Buffer.from([0]))
  return typed('E', Buffer.concat(parts))
}

/** Parses an ErrorResponse / NoticeResponse body into its fields by type letter. */
export function parseErrorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>()
  let offset = 0
  while (offset < body.length && body[offset] !== 0) {
    const type = String.fromCharCode(body[offset]!)
    const end = body.indexOf(0, offset + 1)
    if (end === -1) break
    fields.set(type, body.toString('utf8', offset + 1, end))
    offset = end + 1
  }
  return fields
}

// ---- frontend → backend ---------------------------------------------------------------------------------

export function startupMessage(parameters: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [int32(PROTOCOL_3)]
  for (const [k, v] of parameters) parts.push(cstring(k), cstring(v))
  parts.push(Buffer.from([0]))
  const body = Buffer.concat(parts)
  return Buffer.concat([int32(body.length + 4), body])
}

export function sslRequest(): Buffer {
  return Buffer.concat([int32(8), int32(SSL_REQUEST_CODE)])
}

export function cancelRequest(processId: number, secretKey: number): Buffer {
  return Buffer.concat([int32(16), int32(CANCEL_REQUEST_CODE), int32(processId), int32(secretKey)])
}

/** PasswordMessage (`p`) with a NUL-terminated password. */
export function passwordMessage(password: string): Buffer {
  return typed('p', cstring(password))
}

/** SASLInitialResponse (`p`): mechanism name, then the length-prefixed client-first message. */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return typed('p', Buffer.concat([cstring(mechanism), int32(data.length), data]))
}

/** SASLResponse (`p`): the raw client-final message. */
export function saslResponse(data: Buffer): Buffer {
  return typed('p', data)
}

export function terminate(): Buffer {
  return typed('X', Buffer.alloc(0))
}

/** The NUL-terminated password of a PasswordMessage body. */
export function passwordOf(body: Buffer): string | undefined {
  const end = body.indexOf(0)
  if (end !== body.length - 1) return undefined
  return body.toString('utf8', 0, end)
}
