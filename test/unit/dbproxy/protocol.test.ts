/**
 * PostgreSQL start-up framing (https://www.postgresql.org/docs/current/protocol-message-formats.html):
 * SSLRequest, GSSENCRequest, CancelRequest and StartupMessage parse; oversized or malformed packets are
 * refused (PostgreSQL's MAX_STARTUP_PACKET_LENGTH is 10000).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  cancelRequest,
  errorResponse,
  MAX_STARTUP_PACKET,
  parseErrorFields,
  passwordMessage,
  passwordOf,
  ProtocolViolation,
  readMessage,
  readStartupPacket,
  sslRequest,
  startupMessage,
} from '../../../src/dbproxy/pg/protocol.ts'

void describe('PostgreSQL start-up packets', () => {
  void it('parses SSLRequest, CancelRequest and a StartupMessage; waits for incomplete input', () => {
    assert.deepEqual(readStartupPacket(sslRequest())?.packet, { kind: 'ssl' })
    assert.deepEqual(readStartupPacket(cancelRequest(1234, -5))?.packet, {
      kind: 'cancel',
      processId: 1234,
      secretKey: -5,
    })
    const startup = startupMessage(
      new Map([
        ['user', 'app'],
        ['database', 'orders'],
        ['application_name', 'psql'],
      ]),
    )
    const got = readStartupPacket(startup)
    assert.equal(got?.consumed, startup.length)
    assert.equal(got?.packet.kind, 'startup')
    if (got?.packet.kind === 'startup') {
      assert.equal(got.packet.parameters.get('user'), 'app')
      assert.equal(got.packet.parameters.get('database'), 'orders')
      assert.equal(got.packet.protocol, 196608)
    }
    assert.equal(readStartupPacket(startup.subarray(0, startup.length - 1)), undefined)
    assert.equal(readStartupPacket(Buffer.alloc(3)), undefined)
  })

  void it('refuses oversized, undersized, unknown-protocol and unterminated packets', () => {
    const big = Buffer.alloc(8)
    big.writeUInt32BE(MAX_STARTUP_PACKET + 1, 0)
    assert.throws(() => readStartupPacket(big), ProtocolViolation)
    const small = Buffer.alloc(8)
    small.writeUInt32BE(4, 0)
    assert.throws(() => readStartupPacket(small), ProtocolViolation)
    const v2 = Buffer.alloc(9)
    v2.writeUInt32BE(9, 0)
    v2.writeUInt32BE(2 << 16, 4)
    assert.throws(() => readStartupPacket(v2), ProtocolViolation)
    const unterminated = Buffer.from(startupMessage(new Map([['user', 'x']])))
    unterminated[unterminated.length - 1] = 0x41
    unterminated[unterminated.length - 2] = 0x41
    assert.throws(() => readStartupPacket(unterminated), ProtocolViolation)
  })

  void it('bounds typed messages and round-trips a password and an ErrorResponse', () => {
    const p = passwordMessage('host:5432/?Action=connect')
    const m = readMessage(p, 100)
    assert.equal(m?.message.type, 'p')
    assert.equal(passwordOf(m!.message.body), 'host:5432/?Action=connect')
    assert.throws(() => readMessage(p, 10), ProtocolViolation)
    const e = errorResponse({
      severity: 'FATAL',
      code: '28000',
      message: 'PAM authentication failed for user "a"',
    })
    const fields = parseErrorFields(readMessage(e, 1000)!.message.body)
    assert.equal(fields.get('C'), '28000')
    assert.equal(fields.get('S'), 'FATAL')
    assert.equal(fields.get('M'), 'PAM authentication failed for user "a"')
  })
})
