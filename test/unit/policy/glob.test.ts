import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileGlob, globMatch } from '../../../src/policy/glob.ts'

const reference = (pattern: string, s: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[\\s\\S]*')
      .replace(/\?/g, '[\\s\\S]')}$`,
  ).test(s)

void test('glob table', () => {
  const rows: [string, string, boolean][] = [
    ['*', '', true],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false],
    ['a?c', 'abc', true],
    ['a?c', 'abbc', false],
    ['BUCKET/*/test/*', 'BUCKET//test/object.jpg', true],
    ['BUCKET/*/test/*', 'BUCKET/test/object.jpg', false],
    ['*?', '', false],
    ['??', 'ab', true],
  ]
  for (const [p, s, expected] of rows)
    assert.equal(globMatch(compileGlob(p), s), expected, `${p} ~ ${s}`)
})

void test('the linear glob agrees with a regular-expression reference', () => {
  const chars = fc.constantFrom('a', 'b', '/', ':')
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('a', 'b', '*', '?', '/'), { maxLength: 8 }),
      fc.array(chars, { maxLength: 10 }),
      (p, s) => {
        const pattern = p.join('')
        const str = s.join('')
        assert.equal(
          globMatch(compileGlob(pattern), str),
          reference(pattern, str),
          `${pattern} ~ ${str}`,
        )
      },
    ),
    { numRuns: 2000 },
  )
})
