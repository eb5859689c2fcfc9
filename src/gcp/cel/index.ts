/**
 * @module gcp/cel
 * CEL for workload identity federation's attribute mappings and conditions, on @bufbuild/cel (a maintained,
 * conformance-tested CEL implementation; test/conformance/cel.test.ts runs the cel-spec suites for the
 * features Google's conditions use through this module). `compile` once per provider definition,
 * `evaluate` per exchange.
 *
 * What Google adds or fixes (https://cloud.google.com/iam/docs/workload-identity-federation#conditions and
 * #mapping): the variables `assertion`, `google` and `attribute`; the `extract` function; the string
 * extensions (`lowerAscii`, `split`, …); conditions of at most 4096 characters that must produce a bool; and
 * token claims are JSON, so their numbers are CEL doubles (https://github.com/google/cel-spec/blob/master/doc/langdef.md#json-data-conversion).
 */
import {
  CelScalar,
  celEnv,
  celMethod,
  isCelError,
  isCelList,
  isCelMap,
  isCelUint,
  parse as parseCel,
  plan,
  type CelInput,
  type CelValue,
} from '@bufbuild/cel'
import { strings } from '@bufbuild/cel/ext'
import { CelError } from './errors.ts'

export { CelError, type CelErrorCode } from './errors.ts'
export type { CelValue } from '@bufbuild/cel'

/** The longest expression Google accepts (attribute condition: 4096 characters). */
export const MAX_EXPRESSION_LENGTH = 4096
/** Deepest nesting accepted; bounds the parser's and the evaluator's recursion. */
const MAX_DEPTH = 100

/** The variables a mapping (`assertion`) or a condition (`assertion`, `google`, `attribute`) sees. */
export type Activation = Readonly<Record<string, CelInput>>

/** A parsed and planned expression. */
export interface CelProgram {
  readonly source: string
  /** Runs the expression; throws `CelError('CEL_EVAL')` when it fails (missing key, no overload). */
  evaluate(activation: Activation): CelValue
}

/**
 * Google's `extract` extension: the part of `value` between the literal text before and after the single
 * `{name}` placeholder of `template`, or `''` when the prefix (or a non-empty suffix) is absent, e.g.
 * `'arn:aws:sts::1:assumed-role/app/s'.extract('assumed-role/{role}/') == 'app'`.
 */
export function extract(value: string, template: string): string {
  const match = /^([^{}]*)\{[A-Za-z_][A-Za-z0-9_]*\}([^{}]*)$/.exec(template)
  if (match === null) {
    throw new CelError('CEL_EVAL', "extract template needs exactly one '{name}' placeholder")
  }
  const prefix = match[1]!
  const suffix = match[2]!
  const start = value.indexOf(prefix)
  if (start < 0) return ''
  const rest = value.slice(start + prefix.length)
  if (suffix === '') return rest
  const end = rest.indexOf(suffix)
  return end < 0 ? '' : rest.slice(0, end)
}

const env = celEnv({
  funcs: [
    ...strings,
    celMethod('extract', CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (t) {
      return extract(this, t)
    }),
  ],
})

type ParsedExpr = ReturnType<typeof parseCel>

/** Depth of the parsed tree, walked without recursion. */
function depthOf(root: ParsedExpr): number {
  let max = 0
  const stack: [unknown, number][] = [[root.expr, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (depth > max) max = depth
    if (typeof node !== 'object' || node === null) continue
    const kind = (node as { exprKind?: { case?: string; value?: Record<string, unknown> } })
      .exprKind
    const v = kind?.value
    if (v === undefined) continue
    const children: unknown[] = []
    switch (kind?.case) {
      case 'selectExpr':
        children.push(v['operand'])
        break
      case 'callExpr':
        children.push(v['target'], ...(v['args'] as unknown[]))
        break
      case 'listExpr':
        children.push(...(v['elements'] as unknown[]))
        break
      case 'structExpr':
        for (const e of v['entries'] as { mapKey?: unknown; value?: unknown }[])
          children.push(e.mapKey, e.value)
        break
      case 'comprehensionExpr':
        children.push(v['iterRange'], v['accuInit'], v['loopCondition'], v['loopStep'], v['result'])
        break
    }
    for (const c of children) if (c !== undefined) stack.push([c, depth + 1])
  }
  return max
}

/**
 * Parses and plans one expression. Throws `CelError('CEL_SYNTAX')` naming the offset of the first
 * problem (or the length or nesting limit exceeded).
 *
 * @example compile("assertion['kubernetes.io']['namespace'] in ['a', 'b']")
 */
export function compile(source: string): CelProgram {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new CelError(
      'CEL_SYNTAX',
      `expression is longer than ${MAX_EXPRESSION_LENGTH} characters`,
    )
  }
  let parsed: ParsedExpr
  try {
    parsed = parseCel(source)
  } catch (err) {
    if (err instanceof RangeError)
      throw new CelError('CEL_SYNTAX', 'expression is nested too deeply')
    const e = err as {
      rawMessage?: string
      message?: string
      location?: { start?: { offset?: number } }
    }
    const message = e.rawMessage ?? String(e.message ?? err).replace(/^<input>:\d+:\d+: /, '')
    throw new CelError('CEL_SYNTAX', message, e.location?.start?.offset)
  }
  // The parser recurses with the nesting too: checked right after it, before the evaluator sees it.
  if (depthOf(parsed) > MAX_DEPTH)
    throw new CelError('CEL_SYNTAX', 'expression is nested too deeply')
  const run = plan(env, parsed)
  return {
    source,
    evaluate(activation) {
      let result: ReturnType<typeof run>
      try {
        result = run(activation as Record<string, CelInput>)
      } catch (err) {
        throw new CelError('CEL_EVAL', err instanceof Error ? err.message : String(err))
      }
      if (isCelError(result)) throw new CelError('CEL_EVAL', result.message)
      return result
    },
  }
}

/** Evaluates to a bool or throws: the contract of an attribute condition. */
export function evaluateCondition(program: CelProgram, activation: Activation): boolean {
  const value = program.evaluate(activation)
  if (typeof value !== 'boolean') {
    throw new CelError('CEL_EVAL', `condition must evaluate to a bool, got ${typeName(value)}`)
  }
  return value
}

/** The CEL type name of a value, for messages. */
export function typeName(value: CelValue): string {
  if (value === null) return 'null_type'
  switch (typeof value) {
    case 'string':
      return 'string'
    case 'bigint':
      return 'int'
    case 'number':
      return 'double'
    case 'boolean':
      return 'bool'
  }
  if (isCelList(value)) return 'list'
  if (isCelMap(value)) return 'map'
  if (isCelUint(value)) return 'uint'
  if (value instanceof Uint8Array) return 'bytes'
  return 'object'
}

/** A string, or a list of strings, as JavaScript strings; `undefined` for anything else. */
export function asStrings(value: CelValue): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (!isCelList(value)) return undefined
  const out: string[] = []
  for (const item of value) {
    if (typeof item !== 'string') return undefined
    out.push(item)
  }
  return out
}
