/**
 * @module gcp/cel/lexer
 * Tokenizer for the CEL subset Google's workload identity federation accepts in attribute mappings and
 * attribute conditions (https://github.com/google/cel-spec/blob/master/doc/langdef.md#syntax).
 * Pure: string in, tokens out; throws `CelError('CEL_SYNTAX')` with the offending offset.
 */
import { CelError } from './errors.ts'

export type TokenKind = 'ident' | 'string' | 'int' | 'double' | 'punct' | 'eof'

export interface Token {
  kind: TokenKind
  /** For `string`: the decoded value; for `punct`: the operator; for `ident`: the name. */
  value: string
  /** Offset of the token's first character in the source. */
  pos: number
}

// Longest operators first, so `==` is not read as `=` `=`.
const PUNCTUATION = [
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '.',
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '?',
  ':',
] as const

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '?': '?',
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < source.length) {
    const ch = source[i]!
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i += 1
      continue
    }
    // CEL line comments.
    if (ch === '/' && source[i + 1] === '/') {
      const nl = source.indexOf('\n', i)
      i = nl < 0 ? source.length : nl + 1
      continue
    }
    if (isIdentStart(ch)) {
      let j = i + 1
      while (j < source.length && isIdentPart(source[j]!)) j += 1
      const word = source.slice(i, j)
      // Raw string literals: r'...' / R"...".
      if ((word === 'r' || word === 'R') && (source[j] === "'" || source[j] === '"')) {
        const { value, end } = readString(source, j, true)
        tokens.push({ kind: 'string', value, pos: i })
        i = end
        continue
      }
      tokens.push({ kind: 'ident', value: word, pos: i })
      i = j
      continue
    }
    if (isDigit(ch) || (ch === '.' && isDigit(source[i + 1] ?? ''))) {
      const { token, end } = readNumber(source, i)
      tokens.push(token)
      i = end
      continue
    }
    if (ch === "'" || ch === '"') {
      const { value, end } = readString(source, i, false)
      tokens.push({ kind: 'string', value, pos: i })
      i = end
      continue
    }
    const op = PUNCTUATION.find((p) => source.startsWith(p, i))
    if (op === undefined) throw new CelError('CEL_SYNTAX', `unexpected character '${ch}'`, i)
    tokens.push({ kind: 'punct', value: op, pos: i })
    i += op.length
  }
  tokens.push({ kind: 'eof', value: '', pos: source.length })
  return tokens
}

function isIdentStart(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_'
}

function isIdentPart(ch: string): boolean {
  return isIdentStart(ch) || isDigit(ch)
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9'
}

function readNumber(source: string, start: number): { token: Token; end: number } {
  let i = start
  if (source.startsWith('0x', i) || source.startsWith('0X', i)) {
    i += 2
    while (i < source.length && /[0-9a-fA-F]/.test(source[i]!)) i += 1
    if (i === start + 2) throw new CelError('CEL_SYNTAX', 'malformed hex literal', start)
    if (source[i] === 'u' || source[i] === 'U') i += 1
    return {
      token: { kind: 'int', value: String(parseInt(source.slice(start + 2, i), 16)), pos: start },
      end: i,
    }
  }
  let isDouble = false
  while (i < source.length && isDigit(source[i]!)) i += 1
  if (source[i] === '.' && isDigit(source[i + 1] ?? '')) {
    isDouble = true
    i += 1
    while (i < source.length && isDigit(source[i]!)) i += 1
  }
  if (source[i] === 'e' || source[i] === 'E') {
    let j = i + 1
    if (source[j] === '+' || source[j] === '-') j += 1
    if (!isDigit(source[j] ?? '')) throw new CelError('CEL_SYNTAX', 'malformed exponent', i)
    while (j < source.length && isDigit(source[j]!)) j += 1
    isDouble = true
    i = j
  }
  const text = source.slice(start, i)
  // Unsigned suffix: the subset treats uint as int.
  if (!isDouble && (source[i] === 'u' || source[i] === 'U')) i += 1
  return { token: { kind: isDouble ? 'double' : 'int', value: text, pos: start }, end: i }
}

function readString(source: string, start: number, raw: boolean): { value: string; end: number } {
  const quote = source[start]!
  const triple = source.startsWith(quote.repeat(3), start)
  const delimiter = triple ? quote.repeat(3) : quote
  let i = start + delimiter.length
  let value = ''
  while (i < source.length) {
    if (source.startsWith(delimiter, i)) return { value, end: i + delimiter.length }
    const ch = source[i]!
    if (!triple && (ch === '\n' || ch === '\r')) {
      throw new CelError('CEL_SYNTAX', 'newline in string literal', i)
    }
    if (ch === '\\' && !raw) {
      const next = source[i + 1]
      if (next === undefined) break
      const simple = SIMPLE_ESCAPES[next]
      if (simple !== undefined) {
        value += simple
        i += 2
        continue
      }
      const hexLength = next === 'x' || next === 'X' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0
      if (hexLength > 0) {
        const hex = source.slice(i + 2, i + 2 + hexLength)
        if (hex.length !== hexLength || !/^[0-9a-fA-F]+$/.test(hex)) {
          throw new CelError('CEL_SYNTAX', 'malformed escape sequence', i)
        }
        value += String.fromCodePoint(parseInt(hex, 16))
        i += 2 + hexLength
        continue
      }
      if (next >= '0' && next <= '3') {
        const oct = source.slice(i + 1, i + 4)
        if (!/^[0-7]{3}$/.test(oct))
          throw new CelError('CEL_SYNTAX', 'malformed escape sequence', i)
        value += String.fromCodePoint(parseInt(oct, 8))
        i += 4
        continue
      }
      throw new CelError('CEL_SYNTAX', `unknown escape sequence '\\${next}'`, i)
    }
    value += ch
    i += 1
  }
  throw new CelError('CEL_SYNTAX', 'unterminated string literal', start)
}
