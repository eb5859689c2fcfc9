/**
 * @module generate/hcl
 * A small HCL (Terraform native syntax) writer for the values the generators emit: blocks, attributes,
 * strings, numbers, booleans, lists, maps, references and heredocs. Writing is ten-odd lines per value kind,
 * so no library; what matters is escaping, and the tests parse every output with HashiCorp's own parser
 * (@cdktf/hcl2json) to prove it. HCL normalizes string literals to Unicode NFC, so text is written as NFC. Syntax: https://developer.hashicorp.com/terraform/language/syntax/configuration
 */

/** A raw expression written as is: a reference (`aws_iam_role.app.arn`) or a function call. */
export class Expr {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** A multi-line string written as an indented heredoc (`<<-EOT`), e.g. a JSON policy document. */
export class Heredoc {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

export type HclValue =
  | string
  | number
  | boolean
  | Expr
  | Heredoc
  | readonly HclValue[]
  | { readonly [key: string]: HclValue }

export interface HclBlock {
  readonly type: string
  readonly labels: readonly string[]
  readonly body: readonly HclItem[]
}

export type HclItem =
  HclBlock | { readonly attribute: string; readonly value: HclValue } | { readonly comment: string }

export const expr = (text: string): Expr => new Expr(text)

export function block(type: string, labels: readonly string[], body: readonly HclItem[]): HclBlock {
  return { type, labels, body }
}

export function attr(attribute: string, value: HclValue | undefined): HclItem[] {
  return value === undefined ? [] : [{ attribute, value }]
}

/** A string literal: quotes, backslashes and control characters escaped, and `${`/`%{` so nothing interpolates. */
export function quote(value: string): string {
  const escaped = value
    .normalize('NFC')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
    .replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return `"${escapeTemplate(escaped)}"`
}

function escapeTemplate(text: string): string {
  // A function replacer: in a replacement string `$$` would mean one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{')
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : quote(name)
}

function value(v: HclValue, indent: string): string {
  if (typeof v === 'string') return quote(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (v instanceof Expr) return v.text
  if (v instanceof Heredoc) {
    const inner = `${indent}  `
    const delimiter = v.text.includes('EOT') ? 'EOT_POLICY' : 'EOT'
    const lines = escapeTemplate(v.text.replace(/\n$/, ''))
      .split('\n')
      .map((l) => (l === '' ? '' : `${inner}${l}`))
    return `<<-${delimiter}\n${lines.join('\n')}\n${inner}${delimiter}`
  }
  if (Array.isArray(v)) {
    const items = v as readonly HclValue[]
    if (items.length === 0) return '[]'
    const simple = items.every((i) => typeof i !== 'object' || i instanceof Expr)
    if (simple) return `[${items.map((i) => value(i, indent)).join(', ')}]`
    return `[\n${items.map((i) => `${indent}  ${value(i, `${indent}  `)},`).join('\n')}\n${indent}]`
  }
  const entries = Object.entries(v as Record<string, HclValue>)
  if (entries.length === 0) return '{}'
  const width = Math.max(...entries.map(([k]) => key(k).length))
  return `{\n${entries.map(([k, i]) => `${indent}  ${key(k).padEnd(width)} = ${value(i, `${indent}  `)}`).join('\n')}\n${indent}}`
}

function item(i: HclItem, indent: string): string {
  if ('comment' in i)
    return i.comment
      .split('\n')
      .map((l) => `${indent}# ${l}`.trimEnd())
      .join('\n')
  if ('attribute' in i) return `${indent}${i.attribute} = ${value(i.value, indent)}`
  const head = [i.type, ...i.labels.map(quote)].join(' ')
  if (i.body.length === 0) return `${indent}${head} {}`
  return `${indent}${head} {\n${i.body.map((b) => item(b, `${indent}  `)).join('\n')}\n${indent}}`
}

/** Renders top-level items, separated by blank lines. */
export function renderHcl(items: readonly HclItem[]): string {
  return `${items.map((i) => item(i, '')).join('\n\n')}\n`
}

/** A Terraform resource/data name from any text: `[A-Za-z_][A-Za-z0-9_-]*`. */
export function terraformName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]/g, '_')
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}
