import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  applyJsonPatch,
  diffJson,
  JsonPatchError,
  type JsonPatchOperation,
} from '../../../src/mutation/index.ts'

void describe('applyJsonPatch (RFC 6902 add/replace/remove)', () => {
  // RFC 6902 appendix A examples for the three operations.
  const cases: [string, unknown, JsonPatchOperation[], unknown][] = [
    [
      'A.1 add an object member',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux' }],
      { foo: 'bar', baz: 'qux' },
    ],
    [
      'A.2 add an array element',
      { foo: ['bar', 'baz'] },
      [{ op: 'add', path: '/foo/1', value: 'qux' }],
      { foo: ['bar', 'qux', 'baz'] },
    ],
    [
      'A.3 remove an object member',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'remove', path: '/baz' }],
      { foo: 'bar' },
    ],
    [
      'A.4 remove an array element',
      { foo: ['bar', 'qux', 'baz'] },
      [{ op: 'remove', path: '/foo/1' }],
      { foo: ['bar', 'baz'] },
    ],
    [
      'A.5 replace a value',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'replace', path: '/baz', value: 'boo' }],
      { baz: 'boo', foo: 'bar' },
    ],
    [
      'A.10 add a nested member object',
      { foo: 'bar' },
      [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      { foo: 'bar', child: { grandchild: {} } },
    ],
    [
      'A.16 add an array value',
      { foo: ['bar'] },
      [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      { foo: ['bar', ['abc', 'def']] },
    ],
    ['add replaces an existing member', { a: 1 }, [{ op: 'add', path: '/a', value: 2 }], { a: 2 }],
    [
      'escaped tokens',
      { 'a/b': { '~c': 1 } },
      [{ op: 'replace', path: '/a~1b/~0c', value: 2 }],
      { 'a/b': { '~c': 2 } },
    ],
    ['the whole document', { a: 1 }, [{ op: 'replace', path: '', value: [1] }], [1]],
    [
      'add at the array end index',
      { a: [1] },
      [{ op: 'add', path: '/a/1', value: 2 }],
      { a: [1, 2] },
    ],
  ]
  for (const [name, doc, patch, want] of cases) {
    void it(name, () => {
      const before = JSON.stringify(doc)
      assert.deepEqual(applyJsonPatch(doc, patch), want)
      assert.equal(JSON.stringify(doc), before, 'the input is not modified')
    })
  }

  const errors: [string, unknown, JsonPatchOperation[], RegExp][] = [
    [
      'A.12 adding to a nonexistent target',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz/bat', value: 'qux' }],
      /does not exist/,
    ],
    ['remove a missing member', { a: 1 }, [{ op: 'remove', path: '/b' }], /does not exist/],
    [
      'replace a missing member',
      { a: 1 },
      [{ op: 'replace', path: '/b', value: 1 }],
      /does not exist/,
    ],
    ['index past the end', { a: [1] }, [{ op: 'add', path: '/a/2', value: 1 }], /out of range/],
    [
      'replace at the end index',
      { a: [1] },
      [{ op: 'replace', path: '/a/1', value: 1 }],
      /out of range/,
    ],
    ['leading zero index', { a: [1, 2] }, [{ op: 'remove', path: '/a/01' }], /not an array index/],
    ['no leading slash', { a: 1 }, [{ op: 'remove', path: 'a' }], /does not start with/],
    [
      'unknown op',
      { a: 1 },
      [{ op: 'move', path: '/a' } as unknown as JsonPatchOperation],
      /unsupported operation "move"/,
    ],
    ['add without value', { a: 1 }, [{ op: 'add', path: '/b' }], /has no value/],
    ['into a scalar', { a: 1 }, [{ op: 'add', path: '/a/b', value: 1 }], /does not exist/],
  ]
  for (const [name, doc, patch, message] of errors) {
    void it(`error: ${name}`, () => {
      assert.throws(
        () => applyJsonPatch(doc, patch),
        (e: unknown) => e instanceof JsonPatchError && message.test(e.message),
      )
    })
  }

  void it('a __proto__ key is data, never a prototype', () => {
    const out = applyJsonPatch<Record<string, unknown>>({}, [
      { op: 'add', path: '/__proto__', value: { polluted: true } },
    ])
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.deepEqual(Object.keys(out), ['__proto__'])
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
    const parsed = JSON.parse('{"__proto__":{"x":1}}') as unknown
    assert.deepEqual(diffJson({}, parsed), [{ op: 'add', path: '/__proto__', value: { x: 1 } }])
  })
})

void describe('diffJson', () => {
  void it('fine-grained ops, additions at the end, removals from the end', () => {
    assert.deepEqual(
      diffJson(
        { a: [1, 2, 3], b: 1, c: { d: 1 } },
        { a: [1, 5], b: 1, c: { d: 1, e: 2 }, f: null },
      ),
      [
        { op: 'replace', path: '/a/1', value: 5 },
        { op: 'remove', path: '/a/2' },
        { op: 'add', path: '/c/e', value: 2 },
        { op: 'add', path: '/f', value: null },
      ],
    )
    assert.deepEqual(diffJson({ a: 1 }, { a: 1 }), [])
    assert.deepEqual(diffJson({ a: { b: 1 } }, { a: [1] }), [
      { op: 'replace', path: '/a', value: [1] },
    ])
  })

  void it('property: applying diff(a, b) to a gives b', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        // JSON round trip normalises -0 and the like, as the wire does.
        const from = JSON.parse(JSON.stringify(a)) as unknown
        const to = JSON.parse(JSON.stringify(b)) as unknown
        assert.deepEqual(applyJsonPatch(from, diffJson(from, to)), to)
      }),
      { numRuns: 500 },
    )
  })
})
