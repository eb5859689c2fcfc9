import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { goCsvFirstRecord, parseGoBool, parseGoInt64 } from '../../../src/mutation/parse.ts'
import { lookalike, MAX_WARNINGS, Warnings } from '../../../src/mutation/warnings.ts'

void describe('Go parsers', () => {
  void it('strconv.ParseInt(s, 10, 64) and its error texts', () => {
    const ok: [string, bigint][] = [
      ['0', 0n],
      ['3600', 3600n],
      ['-5', -5n],
      ['+7', 7n],
      ['007', 7n],
      ['9223372036854775807', 9223372036854775807n],
      ['-9223372036854775808', -9223372036854775808n],
    ]
    for (const [text, value] of ok) assert.deepEqual(parseGoInt64(text), { ok: true, value }, text)
    const syntax = ['', ' 1', '1 ', '1_000', '0x10', '1e3', '3600s', '+', '١٢']
    for (const text of syntax) {
      assert.deepEqual(
        parseGoInt64(text),
        { ok: false, error: `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax` },
        text,
      )
    }
    assert.deepEqual(parseGoInt64('9223372036854775808'), {
      ok: false,
      error: 'strconv.ParseInt: parsing "9223372036854775808": value out of range',
    })
    const long = parseGoInt64('x'.repeat(1000))
    assert.ok(!long.ok && long.error.length < 200)
  })

  void it('strconv.ParseBool', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true, t)
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
      assert.equal(parseGoBool(f), false, f)
    for (const bad of ['', 'yes', 'tRUE', ' true', '2'])
      assert.equal(parseGoBool(bad), undefined, bad)
  })

  void it("encoding/csv's first record (defaults: comma, no trimming, strict quotes)", () => {
    const cases: [string, string[] | undefined][] = [
      ['a', ['a']],
      ['a,b', ['a', 'b']],
      ['a, b', ['a', ' b']],
      ['a,', ['a', '']],
      [',', ['', '']],
      ['"a,b",c', ['a,b', 'c']],
      ['"a""b"', ['a"b']],
      ['"a\nb",c', ['a\nb', 'c']],
      ['a\nb,c', ['a']],
      ['\n\na,b', ['a', 'b']],
      ['a\r\nb', ['a']],
      ['', undefined],
      ['\n', undefined],
      ['a"b', undefined],
      ['"a', undefined],
      ['"a"b', undefined],
      [' "a"', undefined],
    ]
    for (const [text, want] of cases)
      assert.deepEqual(goCsvFirstRecord(text), want, JSON.stringify(text))
  })
})

void describe('warnings', () => {
  void it('lookalike: case, separators, small edits, long stems; not unrelated names', () => {
    const known = ['role-arn', 'audience', 'sts-regional-endpoints', 'token-expiration']
    const cases: [string, string | undefined][] = [
      ['Role-Arn', 'role-arn'],
      ['role_arn', 'role-arn'],
      ['rolearn', 'role-arn'],
      ['role-ran', 'role-arn'],
      ['audiance', 'audience'],
      ['token-expiry', 'token-expiration'],
      ['sts-regional-endpoint', 'sts-regional-endpoints'],
      ['role-arn', undefined],
      ['role', undefined],
      ['pod-identity', undefined],
      ['x'.repeat(200), undefined],
    ]
    for (const [name, want] of cases) assert.equal(lookalike(name, known), want, name)
  })

  void it('bounded: at most 16, each at most 256 characters, no duplicates', () => {
    const w = new Warnings()
    w.add('same')
    w.add('same')
    w.add('y'.repeat(1000))
    for (let i = 0; i < 40; i++) w.add(`w${i}`)
    assert.equal(w.list.length, MAX_WARNINGS)
    assert.equal(w.list.filter((x) => x === 'same').length, 1)
    assert.equal(w.list[1]?.length, 256)
    assert.ok(w.list[1]?.endsWith('…'))
  })
})
