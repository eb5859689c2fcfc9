/**
 * @module config/schema
 * Small validators every config section uses, so each error names the path of the offending value and
 * unknown keys are rejected (a typo must fail, not be ignored).
 *
 * @example
 * const o = object(value, 'roles[0]', { required: ['name'], optional: ['path', 'tags'] })
 * const name = string(o['name'], 'roles[0].name', { pattern: /^[\w+=,.@-]{1,64}$/ })
 */
import { invalidAt } from './errors.ts'

export function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return `a ${typeof value}`
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path === '' ? key : `${path}.${key}`
}

/** A mapping with only the allowed keys, and all the required ones. */
export function object(
  value: unknown,
  path: string,
  keys: { required?: readonly string[]; optional?: readonly string[] } = {},
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidAt(path, `expected a mapping, got ${typeName(value)}`)
  }
  const o = value as Record<string, unknown>
  const allowed = new Set([...(keys.required ?? []), ...(keys.optional ?? [])])
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      throw invalidAt(
        join(path, k),
        `unknown key \`${k}\``,
        `allowed keys: ${[...allowed].join(', ') || '(none)'}`,
      )
    }
  }
  for (const k of keys.required ?? []) {
    if (o[k] === undefined || o[k] === null) throw invalidAt(join(path, k), 'is required')
  }
  return o
}

export function list(value: unknown, path: string, options: { max?: number } = {}): unknown[] {
  if (!Array.isArray(value)) throw invalidAt(path, `expected a list, got ${typeName(value)}`)
  if (options.max !== undefined && value.length > options.max) {
    throw invalidAt(path, `has ${value.length} entries; at most ${options.max} allowed`)
  }
  return value
}

export function string(
  value: unknown,
  path: string,
  options: { pattern?: RegExp; min?: number; max?: number; oneOf?: readonly string[] } = {},
): string {
  if (typeof value !== 'string') throw invalidAt(path, `expected a string, got ${typeName(value)}`)
  if (options.min !== undefined && value.length < options.min)
    throw invalidAt(
      path,
      options.min === 1 ? 'must not be empty' : `must be at least ${options.min} characters`,
    )
  if (options.max !== undefined && value.length > options.max)
    throw invalidAt(path, `must be at most ${options.max} characters`)
  if (options.oneOf !== undefined && !options.oneOf.includes(value)) {
    throw invalidAt(path, `must be one of ${options.oneOf.map((v) => `\`${v}\``).join(', ')}`)
  }
  if (options.pattern !== undefined && !options.pattern.test(value)) {
    throw invalidAt(
      path,
      `\`${value.length > 80 ? `${value.slice(0, 80)}…` : value}\` does not match ${options.pattern}`,
    )
  }
  return value
}

/**
 * A string, or a number written without quotes (`accountId: 123456789012`, `projectNumber: 42`) as its
 * decimal text; a number YAML cannot hold exactly must be quoted.
 */
export function scalarString(
  value: unknown,
  path: string,
  options: { pattern?: RegExp; min?: number; max?: number } = {},
): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw invalidAt(path, 'is too large for a YAML number: quote it')
    return string(String(value), path, options)
  }
  return string(value, path, options)
}

/** An optional list: absent (or null) is the empty list. */
export function optionalList(
  value: unknown,
  path: string,
  options: { max?: number } = {},
): unknown[] {
  return value === undefined || value === null ? [] : list(value, path, options)
}

export function integer(
  value: unknown,
  path: string,
  options: { min?: number; max?: number } = {},
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidAt(path, `expected an integer, got ${typeName(value)}`)
  }
  if (options.min !== undefined && value < options.min)
    throw invalidAt(path, `must be at least ${options.min}`)
  if (options.max !== undefined && value > options.max)
    throw invalidAt(path, `must be at most ${options.max}`)
  return value
}

export function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean')
    throw invalidAt(path, `expected true or false, got ${typeName(value)}`)
  return value
}

/** A map of string → string (tags, labels). */
export function stringMap(
  value: unknown,
  path: string,
  options: { max?: number } = {},
): Record<string, string> {
  const o = object(value, path, { optional: Object.keys((value ?? {}) as object) })
  const entries = Object.entries(o)
  if (options.max !== undefined && entries.length > options.max) {
    throw invalidAt(path, `has ${entries.length} entries; at most ${options.max} allowed`)
  }
  for (const [k, v] of entries) string(v, join(path, k))
  return o as Record<string, string>
}

/** undefined stays undefined; anything else goes through `parse`. */
export function optional<T>(value: unknown, parse: (v: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value)
}
