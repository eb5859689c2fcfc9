/**
 * @module gcp/cel/evaluate
 * Evaluates a parsed CEL-subset expression over an activation (`assertion`, `google`, `attribute`). Pure.
 * Follows CEL semantics where they matter for conditions: missing map keys are errors (not null), `&&` and
 * `||` absorb an error when the other side decides the result (cel-spec langdef.md "Logical Operators"),
 * `!`, `?:`, `&&`, `||` need booleans, and there are no implicit conversions.
 */
import { CelError } from './errors.ts'
import type { CelValue, Expr } from './parser.ts'

export type Activation = Readonly<Record<string, CelValue>>

const MAX_REGEX_LENGTH = 1024

/**
 * Evaluates `expr`; throws `CelError('CEL_EVAL')` when the expression fails (missing key, wrong type).
 *
 * @example evaluate(parse('assertion.sub.startsWith("system:")'), { assertion: { sub: 'system:x' } })
 */
export function evaluate(expr: Expr, activation: Activation): CelValue {
  switch (expr.type) {
    case 'literal':
      return expr.value
    case 'ident': {
      if (!Object.hasOwn(activation, expr.name)) {
        throw evalError(`undeclared reference to '${expr.name}'`)
      }
      return activation[expr.name]!
    }
    case 'select':
      return selectField(evaluate(expr.operand, activation), expr.field)
    case 'index':
      return indexValue(evaluate(expr.operand, activation), evaluate(expr.index, activation))
    case 'list':
      return expr.items.map((item) => evaluate(item, activation))
    case 'map': {
      const out: Record<string, CelValue> = {}
      for (const entry of expr.entries) {
        const key = evaluate(entry.key, activation)
        if (typeof key !== 'string') throw evalError('map keys must be strings in this subset')
        if (Object.hasOwn(out, key)) throw evalError(`duplicate map key '${key}'`)
        out[key] = evaluate(entry.value, activation)
      }
      return out
    }
    case 'unary': {
      const value = evaluate(expr.operand, activation)
      if (expr.op === '!') return !requireBool(value, '!')
      if (typeof value !== 'number') throw evalError(`no such overload: -${typeName(value)}`)
      return -value
    }
    case 'cond': {
      const test = requireBool(evaluate(expr.test, activation), '?:')
      return evaluate(test ? expr.then : expr.otherwise, activation)
    }
    case 'binary':
      return binary(expr, activation)
    case 'call':
      return call(expr, activation)
  }
}

/** Evaluates to a bool or throws: the contract of an attribute condition. */
export function evaluateCondition(expr: Expr, activation: Activation): boolean {
  const value = evaluate(expr, activation)
  if (typeof value !== 'boolean') {
    throw evalError(`condition must evaluate to a bool, got ${typeName(value)}`)
  }
  return value
}

function evalError(message: string): CelError {
  return new CelError('CEL_EVAL', message)
}

export function typeName(value: CelValue): string {
  if (value === null) return 'null_type'
  if (Array.isArray(value)) return 'list'
  switch (typeof value) {
    case 'string':
      return 'string'
    case 'number':
      return Number.isInteger(value) ? 'int' : 'double'
    case 'boolean':
      return 'bool'
    default:
      return 'map'
  }
}

function isMap(value: CelValue): value is { [key: string]: CelValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function requireBool(value: CelValue, op: string): boolean {
  if (typeof value !== 'boolean') throw evalError(`no such overload: ${op} on ${typeName(value)}`)
  return value
}

function requireString(value: CelValue, what: string): string {
  if (typeof value !== 'string') throw evalError(`${what} expects a string, got ${typeName(value)}`)
  return value
}

function selectField(operand: CelValue, field: string): CelValue {
  if (!isMap(operand)) throw evalError(`no such field '${field}' on ${typeName(operand)}`)
  if (!Object.hasOwn(operand, field)) throw evalError(`no such key: '${field}'`)
  return operand[field]!
}

function indexValue(operand: CelValue, index: CelValue): CelValue {
  if (Array.isArray(operand)) {
    if (typeof index !== 'number' || !Number.isInteger(index)) {
      throw evalError(`list index must be an int, got ${typeName(index)}`)
    }
    if (index < 0 || index >= operand.length) throw evalError(`index out of range: ${index}`)
    return operand[index]!
  }
  if (isMap(operand)) {
    if (typeof index !== 'string')
      throw evalError(`map key must be a string, got ${typeName(index)}`)
    if (!Object.hasOwn(operand, index)) throw evalError(`no such key: '${index}'`)
    return operand[index]!
  }
  throw evalError(`cannot index ${typeName(operand)}`)
}

export function celEquals(a: CelValue, b: CelValue): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => celEquals(item, b[i]!))
  }
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a)
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && celEquals(a[k]!, b[k]!))
    )
  }
  return false
}

function binary(expr: Extract<Expr, { type: 'binary' }>, activation: Activation): CelValue {
  if (expr.op === '&&' || expr.op === '||') return logical(expr, activation)
  const left = evaluate(expr.left, activation)
  const right = evaluate(expr.right, activation)
  switch (expr.op) {
    case '==':
      return celEquals(left, right)
    case '!=':
      return !celEquals(left, right)
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(expr.op, left, right)
    case 'in':
      if (Array.isArray(right)) return right.some((item) => celEquals(item, left))
      if (isMap(right)) {
        return typeof left === 'string' && Object.hasOwn(right, left)
      }
      throw evalError(`no such overload: in ${typeName(right)}`)
    case '+':
      if (typeof left === 'string' && typeof right === 'string') return left + right
      if (typeof left === 'number' && typeof right === 'number') return left + right
      if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right]
      throw evalError(`no such overload: ${typeName(left)} + ${typeName(right)}`)
    case '-':
    case '*':
    case '/':
    case '%':
      return arithmetic(expr.op, left, right)
  }
}

function logical(expr: Extract<Expr, { type: 'binary' }>, activation: Activation): boolean {
  // The short-circuit value: false for &&, true for ||. Either side producing it decides, even when the
  // other side errors (CEL's commutative logical operators).
  const decisive = expr.op === '||'
  let firstError: unknown
  for (const side of [expr.left, expr.right]) {
    try {
      const value = requireBool(evaluate(side, activation), expr.op)
      if (value === decisive) return decisive
    } catch (err) {
      firstError ??= err
    }
  }
  if (firstError !== undefined) throw firstError
  return !decisive
}

function compare(op: '<' | '<=' | '>' | '>=', left: CelValue, right: CelValue): boolean {
  let order: number
  if (typeof left === 'number' && typeof right === 'number') order = left - right
  else if (typeof left === 'string' && typeof right === 'string') {
    order = left < right ? -1 : left > right ? 1 : 0
  } else if (typeof left === 'boolean' && typeof right === 'boolean') {
    order = Number(left) - Number(right)
  } else throw evalError(`no such overload: ${typeName(left)} ${op} ${typeName(right)}`)
  switch (op) {
    case '<':
      return order < 0
    case '<=':
      return order <= 0
    case '>':
      return order > 0
    case '>=':
      return order >= 0
  }
}

function arithmetic(op: '-' | '*' | '/' | '%', left: CelValue, right: CelValue): number {
  if (typeof left !== 'number' || typeof right !== 'number') {
    throw evalError(`no such overload: ${typeName(left)} ${op} ${typeName(right)}`)
  }
  const integers = Number.isInteger(left) && Number.isInteger(right)
  switch (op) {
    case '-':
      return left - right
    case '*':
      return left * right
    case '/':
      if (integers && right === 0) throw evalError('division by zero')
      return integers ? Math.trunc(left / right) : left / right
    case '%':
      if (!integers) throw evalError('no such overload: % on double')
      if (right === 0) throw evalError('modulus by zero')
      return left % right
  }
}

type Call = Extract<Expr, { type: 'call' }>

const MACROS = new Set(['exists', 'all', 'exists_one', 'map', 'filter'])

function call(expr: Call, activation: Activation): CelValue {
  if (expr.target === undefined && expr.name === 'has') return hasMacro(expr, activation)
  if (expr.target !== undefined && MACROS.has(expr.name)) return comprehension(expr, activation)
  const receiver = expr.target === undefined ? undefined : evaluate(expr.target, activation)
  const args = expr.args.map((arg) => evaluate(arg, activation))
  const fn = FUNCTIONS[expr.name]
  if (fn === undefined) throw evalError(`undeclared reference to function '${expr.name}'`)
  return fn(receiver, args)
}

function hasMacro(expr: Call, activation: Activation): boolean {
  const arg = expr.args[0]
  if (expr.args.length !== 1 || arg === undefined || arg.type !== 'select') {
    throw evalError('has() expects one field selection, e.g. has(assertion.groups)')
  }
  const operand = evaluate(arg.operand, activation)
  if (!isMap(operand)) throw evalError(`has() on ${typeName(operand)}`)
  return Object.hasOwn(operand, arg.field)
}

function comprehension(expr: Call, activation: Activation): CelValue {
  const variable = expr.args[0]
  if (variable?.type !== 'ident' || expr.args.length !== 2) {
    throw evalError(`${expr.name}() expects a variable name and an expression`)
  }
  const body = expr.args[1]!
  const range = evaluate(expr.target!, activation)
  const items = Array.isArray(range) ? range : isMap(range) ? Object.keys(range) : undefined
  if (items === undefined) throw evalError(`${expr.name}() on ${typeName(range)}`)
  const run = (item: CelValue): CelValue => evaluate(body, { ...activation, [variable.name]: item })
  switch (expr.name) {
    case 'exists':
      return items.some((item) => requireBool(run(item), 'exists'))
    case 'all':
      return items.every((item) => requireBool(run(item), 'all'))
    case 'exists_one':
      return items.filter((item) => requireBool(run(item), 'exists_one')).length === 1
    case 'map':
      return items.map(run)
    default:
      return items.filter((item) => requireBool(run(item), 'filter'))
  }
}

type Fn = (receiver: CelValue | undefined, args: CelValue[]) => CelValue

function method(name: string, arity: number, fn: (self: string, args: CelValue[]) => CelValue): Fn {
  return (receiver, args) => {
    if (receiver === undefined) throw evalError(`'${name}' must be called as a method`)
    if (args.length !== arity) throw evalError(`'${name}' expects ${arity} argument(s)`)
    return fn(requireString(receiver, name), args)
  }
}

function global(name: string, fn: (arg: CelValue) => CelValue): Fn {
  return (receiver, args) => {
    const all = receiver === undefined ? args : [receiver, ...args]
    if (all.length !== 1) throw evalError(`'${name}' expects 1 argument`)
    return fn(all[0]!)
  }
}

const FUNCTIONS: Record<string, Fn> = {
  size: global('size', (value) => {
    if (typeof value === 'string') return [...value].length
    if (Array.isArray(value)) return value.length
    if (isMap(value)) return Object.keys(value).length
    throw evalError(`no such overload: size(${typeName(value)})`)
  }),
  startsWith: method('startsWith', 1, (s, [prefix]) =>
    s.startsWith(requireString(prefix!, 'startsWith')),
  ),
  endsWith: method('endsWith', 1, (s, [suffix]) => s.endsWith(requireString(suffix!, 'endsWith'))),
  contains: method('contains', 1, (s, [part]) => s.includes(requireString(part!, 'contains'))),
  matches: method('matches', 1, (s, [pattern]) =>
    compileRegex(requireString(pattern!, 'matches')).test(s),
  ),
  lowerAscii: method('lowerAscii', 0, (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase())),
  upperAscii: method('upperAscii', 0, (s) => s.replace(/[a-z]/g, (c) => c.toUpperCase())),
  trim: method('trim', 0, (s) => s.trim()),
  split: method('split', 1, (s, [separator]) => s.split(requireString(separator!, 'split'))),
  replace: method('replace', 2, (s, [from, to]) =>
    s.split(requireString(from!, 'replace')).join(requireString(to!, 'replace')),
  ),
  extract: method('extract', 1, (s, [template]) => extract(s, requireString(template!, 'extract'))),
  join: (receiver, args) => {
    if (!Array.isArray(receiver)) throw evalError("'join' must be called on a list")
    const separator = args.length === 0 ? '' : requireString(args[0]!, 'join')
    return receiver.map((item) => requireString(item, 'join')).join(separator)
  },
  string: global('string', (value) => {
    if (typeof value === 'string') return value
    if (typeof value === 'number' || typeof value === 'boolean') return String(value)
    throw evalError(`no such overload: string(${typeName(value)})`)
  }),
  int: global('int', (value) => {
    if (typeof value === 'number') return Math.trunc(value)
    if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) return Number(value)
    throw evalError(`cannot convert ${typeName(value)} to int`)
  }),
  bool: global('bool', (value) => {
    if (typeof value === 'boolean') return value
    if (value === 'true' || value === 'false') return value === 'true'
    throw evalError(`cannot convert ${typeName(value)} to bool`)
  }),
}

const regexCache = new Map<string, RegExp>()

/**
 * CEL's `matches` uses RE2 with search (not full-match) semantics. JavaScript's engine accepts RE2's
 * syntax for everything but a few features; the RE2-only ones are rejected so a condition never silently
 * means something else here than at Google.
 */
function compileRegex(pattern: string): RegExp {
  const cached = regexCache.get(pattern)
  if (cached !== undefined) return cached
  if (pattern.length > MAX_REGEX_LENGTH) throw evalError('regular expression too long')
  // Backreferences and lookaround do not exist in RE2.
  if (/\\[1-9]|\(\?[=!<]/.test(pattern)) throw evalError('unsupported regular expression construct')
  // RE2's leading flag group (`(?i)`, `(?s)`, `(?is)`…) becomes JavaScript flags; `m` and `U` are refused.
  const flagGroup = /^\(\?([a-zA-Z]+)\)/.exec(pattern)
  let flags = 'u'
  let source = pattern
  if (flagGroup !== null) {
    for (const f of flagGroup[1]!) {
      if (f !== 'i' && f !== 's') throw evalError(`unsupported regular expression flag '${f}'`)
      if (!flags.includes(f)) flags += f
    }
    source = pattern.slice(flagGroup[0].length)
  }
  let regex: RegExp
  try {
    regex = new RegExp(source, flags)
  } catch {
    throw evalError('invalid regular expression')
  }
  if (regexCache.size > 256) regexCache.clear()
  regexCache.set(pattern, regex)
  return regex
}

/**
 * Google's `extract` extension: the part of `value` between the literal text before and after the single
 * `{name}` placeholder of `template`, or `''` when the prefix (or a non-empty suffix) is absent, e.g.
 * `'arn:aws:sts::1:assumed-role/app/s'.extract('assumed-role/{role}/') == 'app'`.
 */
export function extract(value: string, template: string): string {
  const match = /^([^{}]*)\{[A-Za-z_][A-Za-z0-9_]*\}([^{}]*)$/.exec(template)
  if (match === null) throw evalError("extract template needs exactly one '{name}' placeholder")
  const prefix = match[1]!
  const suffix = match[2]!
  const start = value.indexOf(prefix)
  if (start < 0) return ''
  const rest = value.slice(start + prefix.length)
  if (suffix === '') return rest
  const end = rest.indexOf(suffix)
  return end < 0 ? '' : rest.slice(0, end)
}
