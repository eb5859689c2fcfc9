/**
 * @module analysis/inputs/json-path
 * Reading exported JSON with errors that name the file and the path inside it (`fics.json: [2].audiences: …`).
 */
import { ScanInputError } from './gaad.ts'

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export class JsonReader {
  readonly source: string
  constructor(source: string) {
    this.source = source
  }

  fail(path: string, problem: string, hint?: string): never {
    throw new ScanInputError(`${this.source}: ${path === '' ? '' : `${path}: `}${problem}`, hint)
  }

  /** The items of a list output: a bare array, or the array under one of `keys` (ARM and Graph use `value`). */
  items(json: unknown, keys: string[], what: string): { item: unknown; path: string }[] {
    if (Array.isArray(json)) return json.map((item, i) => ({ item, path: `[${i}]` }))
    if (isObject(json)) {
      for (const k of keys)
        if (Array.isArray(json[k]))
          return (json[k] as unknown[]).map((item, i) => ({ item, path: `${k}[${i}]` }))
      return [{ item: json, path: '' }]
    }
    return this.fail('', `expected ${what} (an object or an array), got ${typeName(json)}`)
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `expected an array, got ${typeName(v)}`)
    return v as unknown[]
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (!isObject(v)) this.fail(path, `expected an object, got ${typeName(v)}`)
    return v
  }

  /** A required string field. */
  string(obj: Record<string, unknown>, key: string, path: string): string {
    const v = obj[key]
    if (typeof v !== 'string' || v === '')
      this.fail(
        join(path, key),
        v === undefined ? 'missing' : `expected a string, got ${typeName(v)}`,
      )
    return v
  }

  optionalString(obj: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = obj[key]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'string') this.fail(join(path, key), `expected a string, got ${typeName(v)}`)
    return v
  }

  strings(obj: Record<string, unknown>, key: string, path: string, required = false): string[] {
    const v = obj[key]
    if (v === undefined || v === null) {
      if (required) this.fail(join(path, key), 'missing')
      return []
    }
    if (!Array.isArray(v))
      this.fail(join(path, key), `expected an array of strings, got ${typeName(v)}`)
    return v.map((s, i) => {
      if (typeof s !== 'string')
        this.fail(`${join(path, key)}[${i}]`, `expected a string, got ${typeName(s)}`)
      return s
    })
  }
}

export const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`)

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60)
}
