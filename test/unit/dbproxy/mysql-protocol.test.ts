/**
 * MySQL connection-phase packets (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html):
 * the proxy's Initial Handshake v10 parses back, HandshakeResponse41 round-trips with every optional part,
 * the 32-byte SSLRequest is recognized, ERR packets carry errno and SQLSTATE, oversized packets are refused.
 * (The scrambles are checked against the real MariaDB in test/e2e/dbproxy-mysql.test.ts.)
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  errPacket,
  handshakeResponse,
  initialHandshake,
  isSslRequest,
  MysqlProtocolError,
  nativePasswordScramble,
  packet,
  parseErr,
  parseHandshakeResponse,
  parseInitialHandshake,
  PROXY_CAPABILITIES,
  readPacket,
} from '../../../src/dbproxy/mysql/protocol.ts'

void describe('MySQL connection phase', () => {
  void it('the greeting parses back (version, id, capabilities, 20-byte salt, plugin)', () => {
    const salt = Buffer.from('0123456789abcdefghij')
    const g = parseInitialHandshake(
      initialHandshake({
        serverVersion: '8.0.40-x',
        connectionId: 77,
        salt,
        capabilities: PROXY_CAPABILITIES,
        charset: 45,
        plugin: 'mysql_clear_password',
      }),
    )
    assert.equal(g.serverVersion, '8.0.40-x')
    assert.equal(g.connectionId, 77)
    assert.equal(g.capabilities, PROXY_CAPABILITIES)
    assert.deepEqual(g.salt, salt)
    assert.equal(g.plugin, 'mysql_clear_password')
  })

  void it('HandshakeResponse41 round-trips with database, plugin and attributes; SSLRequest is 32 bytes', () => {
    const caps =
      CLIENT_PROTOCOL_41 |
      CLIENT_SECURE_CONNECTION |
      CLIENT_PLUGIN_AUTH |
      CLIENT_PLUGIN_AUTH_LENENC |
      CLIENT_CONNECT_WITH_DB |
      CLIENT_CONNECT_ATTRS
    const attrs = Buffer.concat([
      Buffer.from([10]),
      Buffer.from([4]),
      Buffer.from('_pid'),
      Buffer.from([4]),
      Buffer.from('1234'),
    ])
    const r = {
      capabilities: caps,
      maxPacket: 1 << 24,
      charset: 45,
      user: 'app',
      authResponse: Buffer.from('token\0'),
      database: 'orders',
      plugin: 'mysql_clear_password',
      attributes: attrs,
    }
    assert.deepEqual(parseHandshakeResponse(handshakeResponse(r)), r)
    const ssl = handshakeResponse({ ...r, capabilities: caps | CLIENT_SSL }).subarray(0, 32)
    assert.ok(isSslRequest(ssl))
    assert.ok(!isSslRequest(handshakeResponse(r)))
    assert.throws(() => parseHandshakeResponse(Buffer.alloc(10)), MysqlProtocolError)
  })

  void it('frames packets, refuses oversized ones, and builds ERR packets', () => {
    const p = packet(3, Buffer.from('hello'))
    assert.deepEqual(readPacket(p)?.value, { sequence: 3, payload: Buffer.from('hello') })
    assert.equal(readPacket(p.subarray(0, 6)), undefined)
    const big = Buffer.alloc(4)
    big.writeUIntLE(1 << 20, 0, 3)
    assert.throws(() => readPacket(big), MysqlProtocolError)
    assert.deepEqual(
      parseErr(errPacket(1045, '28000', "Access denied for user 'a'@'h' (using password: YES)")),
      {
        code: 1045,
        sqlState: '28000',
        message: "Access denied for user 'a'@'h' (using password: YES)",
      },
    )
    assert.equal(nativePasswordScramble('', Buffer.alloc(20)).length, 0)
    assert.equal(nativePasswordScramble('pw', Buffer.alloc(20, 1)).length, 20)
  })
})
