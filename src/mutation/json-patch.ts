/**
 * @module mutation/json-patch
 * RFC 6902 for the three operations the webhooks emit (`add`, `replace`, `remove`): a diff of two JSON
 * documents (the Azure webhook's patch is such a diff, like gomodules/jsonpatch `CreatePatch`) and an
 * applier (`podtrust webhook mutate` prints the patched pod; tests re-admit it). Pure, no dependencies.
 * Hand-written on purpose: the Azure webhook's patch must equal gomodules/jsonpatch's `CreatePatch` op for
 * op, and fast-json-patch's `compare` emits another order (it walks the old keys last to first).
 */
import { PodtrustError } from '../errors.ts'
import { cloneJson, isRecord } from './pod.ts'
import type { JsonPatchOperation } from './types.ts'

export type JsonPatchErrorCode = 'PATCH_INVALID_OPERATION' | 'PATCH_PATH_NOT_FOUND'

export class JsonPatchError extends PodtrustError<JsonPatchErrorCode> {}

/** RFC 6901 §3: `~` → `~0`, `/` → `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1')
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) {
    throw new JsonPatchError(
      'PATCH_INVALID_OPERATION',
      `path ${JSON.stringify(pointer)} does not start with "/"`,
    )
  }
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function arrayIndex(token: string, length: number, allowEnd: boolean, path: string): number {
  if (allowEnd && token === '-') return length
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new JsonPatchError(
      'PATCH_PATH_NOT_FOUND',
      `path ${JSON.stringify(path)}: "${token}" is not an array index`,
    )
  }
  const index = Number(token)
  if (index > length || (!allowEnd && index === length)) {
    throw new JsonPatchError(
      'PATCH_PATH_NOT_FOUND',
      `path ${JSON.stringify(path)}: index ${index} is out of range`,
    )
  }
  return index
}

/** Sets an own data property, so a `__proto__` key stays data and never touches a prototype. */
function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  })
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/**
 * Applies `patch` to a copy of `document` and returns the copy; `document` is not modified.
 *
 * @throws JsonPatchError when an operation is unknown or its path does not resolve (RFC 6902 §5: the
 *   whole patch fails).
 * @example applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }]) // { a: [1, 2] }
 */
export function applyJsonPatch<T>(document: T, patch: readonly JsonPatchOperation[]): T {
  let root: unknown = document === undefined ? undefined : cloneJson<unknown>(document)
  for (const operation of patch) {
    const { op, path } = operation
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new JsonPatchError(
        'PATCH_INVALID_OPERATION',
        `unsupported operation ${JSON.stringify(op)}`,
      )
    }
    if ((op === 'add' || op === 'replace') && !hasOwn(operation, 'value')) {
      throw new JsonPatchError(
        'PATCH_INVALID_OPERATION',
        `${op} ${JSON.stringify(path)} has no value`,
      )
    }
    const value: unknown =
      operation.value === undefined ? undefined : cloneJson<unknown>(operation.value)
    const tokens = parsePointer(path)
    if (tokens.length === 0) {
      if (op === 'remove')
        throw new JsonPatchError('PATCH_INVALID_OPERATION', 'cannot remove the whole document')
      root = value
      continue
    }
    let parent: unknown = root
    for (const token of tokens.slice(0, -1)) {
      if (Array.isArray(parent)) parent = parent[arrayIndex(token, parent.length, false, path)]
      else if (isRecord(parent) && hasOwn(parent, token)) parent = parent[token]
      else
        throw new JsonPatchError(
          'PATCH_PATH_NOT_FOUND',
          `path ${JSON.stringify(path)} does not exist`,
        )
    }
    const last = tokens[tokens.length - 1] as string
    if (Array.isArray(parent)) {
      const index = arrayIndex(last, parent.length, op === 'add', path)
      if (op === 'add') parent.splice(index, 0, value)
      else if (op === 'replace') parent[index] = value
      else parent.splice(index, 1)
    } else if (isRecord(parent)) {
      if (op !== 'add' && !hasOwn(parent, last)) {
        throw new JsonPatchError(
          'PATCH_PATH_NOT_FOUND',
          `path ${JSON.stringify(path)} does not exist`,
        )
      }
      if (op === 'remove') delete parent[last]
      else defineKey(parent, last, value)
    } else {
      throw new JsonPatchError(
        'PATCH_PATH_NOT_FOUND',
        `path ${JSON.stringify(path)} does not exist`,
      )
    }
  }
  return root as T
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a)
    return (
      ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && jsonEqual(a[k], b[k]))
    )
  }
  return false
}

function diffInto(from: unknown, to: unknown, path: string, out: JsonPatchOperation[]): void {
  if (jsonEqual(from, to)) return
  if (isRecord(from) && isRecord(to)) {
    for (const key of Object.keys(from)) {
      if (!hasOwn(to, key)) out.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` })
    }
    for (const key of Object.keys(to)) {
      const at = `${path}/${escapePointerToken(key)}`
      if (hasOwn(from, key)) diffInto(from[key], to[key], at, out)
      else out.push({ op: 'add', path: at, value: to[key] })
    }
    return
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const common = Math.min(from.length, to.length)
    for (let i = 0; i < common; i++) diffInto(from[i], to[i], `${path}/${i}`, out)
    for (let i = common; i < to.length; i++)
      out.push({ op: 'add', path: `${path}/${i}`, value: to[i] })
    for (let i = from.length - 1; i >= to.length; i--)
      out.push({ op: 'remove', path: `${path}/${i}` })
    return
  }
  out.push({ op: 'replace', path, value: to })
}

/**
 * The RFC 6902 operations that turn `from` into `to`: objects key by key, arrays element by element with
 * additions at the end, anything else replaced. Applying the result to `from` yields `to`.
 */
export function diffJson(from: unknown, to: unknown): JsonPatchOperation[] {
  const out: JsonPatchOperation[] = []
  diffInto(from, to, '', out)
  return out
}
