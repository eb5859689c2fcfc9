/**
 * `responseSink`: how a backend answer reaches the client — hop-by-hop headers dropped, the client's
 * backpressure passed on, the backend request ended when the client goes away (also when it left before the
 * answer began), and a backend answer cut short never made to look complete.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { responseSink, type Exchange } from '../../../src/gateway/exchange.ts'

class FakeResponse extends EventEmitter {
  destroyed = false
  head: [number, string[]] | undefined
  written: string[] = []
  ended = false
  accept = true
  writeHead(status: number, headers: string[]) {
    this.head = [status, headers]
  }
  write(chunk: Buffer) {
    this.written.push(chunk.toString())
    return this.accept
  }
  end() {
    this.ended = true
  }
  destroy() {
    this.destroyed = true
    this.emit('close')
  }
}

const exchangeWith = (res: FakeResponse) => ({ res }) as unknown as Exchange

void test('headers without hop-by-hop ones, body with backpressure, then the end', () => {
  const res = new FakeResponse()
  const sink = responseSink(exchangeWith(res))
  let resumed = 0
  const aborts: string[] = []
  sink.start(
    200,
    [
      'Connection',
      'keep-alive',
      'ETag',
      '"x"',
      'Transfer-Encoding',
      'chunked',
      'Content-Length',
      '3',
    ],
    () => resumed++,
    (err) => aborts.push(err.message),
  )
  assert.deepEqual(res.head, [200, ['ETag', '"x"', 'Content-Length', '3']])
  assert.equal(sink.data(Buffer.from('a')), true)
  res.accept = false
  assert.equal(sink.data(Buffer.from('bc')), false, 'a full client socket pauses the backend leg')
  res.emit('drain')
  assert.equal(resumed, 1, 'and its drain resumes it')
  sink.end()
  assert.equal(res.ended, true)
  res.emit('close')
  assert.deepEqual(aborts, [], 'a close after the end aborts nothing')
  assert.deepEqual(res.written, ['a', 'bc'])
})

void test('a client that goes away mid-answer ends the backend request', () => {
  const res = new FakeResponse()
  const sink = responseSink(exchangeWith(res))
  const aborts: string[] = []
  sink.start(
    200,
    [],
    () => undefined,
    (err) => aborts.push(err.message),
  )
  res.destroy()
  assert.deepEqual(aborts, ['the client went away'])
})

void test('a client gone before the answer began: the backend request is ended, nothing written', () => {
  const res = new FakeResponse()
  res.destroyed = true
  const sink = responseSink(exchangeWith(res))
  const aborts: string[] = []
  sink.start(
    200,
    ['ETag', '"x"'],
    () => undefined,
    (err) => aborts.push(err.message),
  )
  assert.deepEqual(aborts, ['the client went away'])
  assert.equal(res.head, undefined)
})

void test('a backend answer cut short destroys the client response instead of ending it', () => {
  const res = new FakeResponse()
  const sink = responseSink(exchangeWith(res))
  sink.start(
    200,
    [],
    () => undefined,
    () => undefined,
  )
  sink.fail(new Error('other side closed'))
  assert.equal(res.destroyed, true)
  assert.equal(res.ended, false)
})
