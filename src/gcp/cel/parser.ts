/**
 * @module gcp/cel/parser
 * A recursive-descent parser for the CEL subset used by workload identity federation: literals, lists and
 * maps, field and index access, function and method calls, the macros `has`, `exists`, `all`,
 * `exists_one`, `map`, `filter`, unary `!`/`-`, arithmetic, comparison, `in`, `&&`, `||` and `?:`.
 * Precedence follows the CEL grammar (cel-spec langdef.md "Syntax"): conditional < or < and < relation
 * < addition < multiplication < unary < member.
 */
import { CelError } from './errors.ts'
import { tokenize, type Token } from './lexer.ts'

export type CelValue = string | number | boolean | null | CelValue[] | { [key: string]: CelValue }

export type Expr =
  | { type: 'literal'; value: CelValue; pos: number }
  | { type: 'ident'; name: string; pos: number }
  | { type: 'select'; operand: Expr; field: string; pos: number }
  | { type: 'index'; operand: Expr; index: Expr; pos: number }
  | { type: 'call'; target: Expr | undefined; name: string; args: Expr[]; pos: number }
  | { type: 'unary'; op: '!' | '-'; operand: Expr; pos: number }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: number }
  | { type: 'cond'; test: Expr; then: Expr; otherwise: Expr; pos: number }
  | { type: 'list'; items: Expr[]; pos: number }
  | { type: 'map'; entries: { key: Expr; value: Expr }[]; pos: number }

export type BinaryOp =
  '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | '+' | '-' | '*' | '/' | '%'

/** The longest expression Google accepts (attribute condition: 4096 characters). */
export const MAX_EXPRESSION_LENGTH = 4096
const MAX_DEPTH = 100

const RESERVED = new Set([
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
])

const RELATIONS = new Set(['==', '!=', '<', '<=', '>', '>='])

/**
 * Parses one CEL expression. Throws `CelError('CEL_SYNTAX')` naming the offset of the first problem.
 *
 * @example parse("assertion['kubernetes.io']['namespace'] in ['a', 'b']")
 */
export function parse(source: string): Expr {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new CelError('CEL_SYNTAX', `expression longer than ${MAX_EXPRESSION_LENGTH} characters`)
  }
  const parser = new Parser(tokenize(source))
  const expr = parser.expression()
  parser.expectEnd()
  return expr
}

class Parser {
  private readonly tokens: Token[]
  private index = 0
  private depth = 0

  constructor(tokens: Token[]) {
    this.tokens = tokens
  }

  private peek(): Token {
    return this.tokens[this.index]!
  }

  private next(): Token {
    const token = this.tokens[this.index]!
    if (token.kind !== 'eof') this.index += 1
    return token
  }

  private isPunct(value: string): boolean {
    const token = this.peek()
    return token.kind === 'punct' && token.value === value
  }

  private accept(value: string): boolean {
    if (!this.isPunct(value)) return false
    this.index += 1
    return true
  }

  private expect(value: string): Token {
    const token = this.peek()
    if (token.kind !== 'punct' || token.value !== value) {
      throw new CelError(
        'CEL_SYNTAX',
        `expected '${value}' but found ${describe(token)}`,
        token.pos,
      )
    }
    return this.next()
  }

  expectEnd(): void {
    const token = this.peek()
    if (token.kind !== 'eof') {
      throw new CelError('CEL_SYNTAX', `unexpected ${describe(token)}`, token.pos)
    }
  }

  expression(): Expr {
    this.depth += 1
    if (this.depth > MAX_DEPTH) {
      throw new CelError('CEL_SYNTAX', 'expression nested too deeply', this.peek().pos)
    }
    try {
      const test = this.or()
      if (!this.isPunct('?')) return test
      const pos = this.next().pos
      const then = this.or()
      this.expect(':')
      const otherwise = this.expression()
      return { type: 'cond', test, then, otherwise, pos }
    } finally {
      this.depth -= 1
    }
  }

  private or(): Expr {
    let left = this.and()
    while (this.isPunct('||')) {
      const pos = this.next().pos
      left = { type: 'binary', op: '||', left, right: this.and(), pos }
    }
    return left
  }

  private and(): Expr {
    let left = this.relation()
    while (this.isPunct('&&')) {
      const pos = this.next().pos
      left = { type: 'binary', op: '&&', left, right: this.relation(), pos }
    }
    return left
  }

  private relation(): Expr {
    let left = this.addition()
    for (;;) {
      const token = this.peek()
      const isRelation = token.kind === 'punct' && RELATIONS.has(token.value)
      const isIn = token.kind === 'ident' && token.value === 'in'
      if (!isRelation && !isIn) return left
      this.next()
      left = {
        type: 'binary',
        op: token.value as BinaryOp,
        left,
        right: this.addition(),
        pos: token.pos,
      }
    }
  }

  private addition(): Expr {
    let left = this.multiplication()
    while (this.isPunct('+') || this.isPunct('-')) {
      const token = this.next()
      left = {
        type: 'binary',
        op: token.value as BinaryOp,
        left,
        right: this.multiplication(),
        pos: token.pos,
      }
    }
    return left
  }

  private multiplication(): Expr {
    let left = this.unary()
    while (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) {
      const token = this.next()
      left = {
        type: 'binary',
        op: token.value as BinaryOp,
        left,
        right: this.unary(),
        pos: token.pos,
      }
    }
    return left
  }

  private unary(): Expr {
    if (this.isPunct('!') || this.isPunct('-')) {
      const token = this.next()
      this.depth += 1
      if (this.depth > MAX_DEPTH)
        throw new CelError('CEL_SYNTAX', 'expression nested too deeply', token.pos)
      try {
        const operand = this.unary()
        // Fold negative number literals so `-1` is a literal, as CEL's parser does.
        if (
          token.value === '-' &&
          operand.type === 'literal' &&
          typeof operand.value === 'number'
        ) {
          return { type: 'literal', value: -operand.value, pos: token.pos }
        }
        return { type: 'unary', op: token.value as '!' | '-', operand, pos: token.pos }
      } finally {
        this.depth -= 1
      }
    }
    return this.member()
  }

  private member(): Expr {
    let expr = this.primary()
    for (;;) {
      if (this.isPunct('.')) {
        const dot = this.next()
        const name = this.next()
        if (name.kind !== 'ident') {
          throw new CelError(
            'CEL_SYNTAX',
            `expected a field name after '.' but found ${describe(name)}`,
            name.pos,
          )
        }
        if (this.isPunct('(')) {
          this.next()
          const args = this.arguments(')')
          expr = { type: 'call', target: expr, name: name.value, args, pos: dot.pos }
        } else {
          expr = { type: 'select', operand: expr, field: name.value, pos: dot.pos }
        }
      } else if (this.isPunct('[')) {
        const open = this.next()
        const index = this.expression()
        this.expect(']')
        expr = { type: 'index', operand: expr, index, pos: open.pos }
      } else {
        return expr
      }
    }
  }

  private primary(): Expr {
    const token = this.next()
    switch (token.kind) {
      case 'string':
        return { type: 'literal', value: token.value, pos: token.pos }
      case 'int':
      case 'double':
        return { type: 'literal', value: Number(token.value), pos: token.pos }
      case 'ident':
        return this.identifier(token)
      case 'punct':
        if (token.value === '(') {
          const inner = this.expression()
          this.expect(')')
          return inner
        }
        if (token.value === '[') return { type: 'list', items: this.arguments(']'), pos: token.pos }
        if (token.value === '{') return this.mapLiteral(token.pos)
        if (token.value === '.') {
          // Leading-dot qualified identifiers (`.assertion`) resolve from the root scope.
          const name = this.next()
          if (name.kind === 'ident') return this.identifier(name)
        }
        throw new CelError('CEL_SYNTAX', `unexpected ${describe(token)}`, token.pos)
      case 'eof':
        throw new CelError('CEL_SYNTAX', 'unexpected end of expression', token.pos)
    }
  }

  private identifier(token: Token): Expr {
    const name = token.value
    if (name === 'true' || name === 'false') {
      return { type: 'literal', value: name === 'true', pos: token.pos }
    }
    if (name === 'null') return { type: 'literal', value: null, pos: token.pos }
    if (name === 'in' || RESERVED.has(name)) {
      throw new CelError('CEL_SYNTAX', `reserved word '${name}'`, token.pos)
    }
    if (this.isPunct('(')) {
      this.next()
      return { type: 'call', target: undefined, name, args: this.arguments(')'), pos: token.pos }
    }
    return { type: 'ident', name, pos: token.pos }
  }

  private arguments(close: ')' | ']'): Expr[] {
    const items: Expr[] = []
    if (this.accept(close)) return items
    for (;;) {
      items.push(this.expression())
      if (this.accept(close)) return items
      this.expect(',')
      // CEL allows a trailing comma in list literals.
      if (close === ']' && this.accept(close)) return items
    }
  }

  private mapLiteral(pos: number): Expr {
    const entries: { key: Expr; value: Expr }[] = []
    if (this.accept('}')) return { type: 'map', entries, pos }
    for (;;) {
      const key = this.expression()
      this.expect(':')
      entries.push({ key, value: this.expression() })
      if (this.accept('}')) return { type: 'map', entries, pos }
      this.expect(',')
      if (this.accept('}')) return { type: 'map', entries, pos }
    }
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of expression'
    case 'string':
      return 'a string literal'
    case 'int':
    case 'double':
      return `number ${token.value}`
    default:
      return `'${token.value}'`
  }
}
