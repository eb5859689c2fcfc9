/**
 * @module mutation/warnings
 * AdmissionResponse `warnings`: what a pod or its ServiceAccount asks for that cannot work as written
 * (a mistyped annotation key is the most common silent failure: the webhooks ignore unknown keys, see
 * docs/webhook.md). Warnings never change
 * the mutation. The API server shows them to `kubectl` users; each is kept short (it truncates long ones).
 */

/** Per warning, in characters. */
export const MAX_WARNING_LENGTH = 256
/** Per admission. */
export const MAX_WARNINGS = 16

export class Warnings {
  readonly #list: string[] = []

  add(message: string): void {
    const text =
      message.length > MAX_WARNING_LENGTH ? `${message.slice(0, MAX_WARNING_LENGTH - 1)}…` : message
    if (this.#list.length < MAX_WARNINGS && !this.#list.includes(text)) this.#list.push(text)
  }

  get list(): string[] {
    return [...this.#list]
  }
}

/** `key` for a message: quoted, cut to 80 characters. */
export function quoteKey(key: string): string {
  return `"${key.length > 80 ? `${key.slice(0, 80)}…` : key}"`
}

/** Optimal-string-alignment distance, or Infinity once it exceeds `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return Infinity
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i < rows; i++) {
    let rowMin = Infinity
    const row = d[i] as number[]
    const prev = d[i - 1] as number[]
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1)
      }
      row[j] = v
      rowMin = Math.min(rowMin, v)
    }
    if (rowMin > limit) return Infinity
  }
  return (d[rows - 1] as number[])[cols - 1] as number
}

const normalize = (s: string): string => s.toLowerCase().replace(/[-_. ]/g, '')

function commonPrefix(a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

/** The known name `name` most likely mistypes (case, separators, ≤ 2 edits, or a long shared stem). */
export function lookalike(name: string, known: readonly string[]): string | undefined {
  if (name.length > 80) return undefined
  const n = normalize(name)
  let best: string | undefined
  let bestScore = Infinity
  for (const candidate of known) {
    if (candidate === name) return undefined
    const c = normalize(candidate)
    let score = n === c ? 0 : distance(n, c, 2)
    if (score === Infinity && commonPrefix(n, c) >= 8) score = 3
    if (score < bestScore) {
      bestScore = score
      best = candidate
    }
  }
  return best
}

/** Annotation domain (before the last `/`) and name; domain '' when the key has none. */
function splitKey(key: string): [string, string] {
  const slash = key.lastIndexOf('/')
  return slash === -1 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)]
}

export interface AnnotationVocabulary {
  /** The annotation domain, e.g. `eks.amazonaws.com`. */
  prefix: string
  /** Names read on this object. */
  here: readonly string[]
  /** Names read only on the other object, and what that object is called. */
  elsewhere: readonly string[]
  object: 'pod' | 'ServiceAccount'
  other: 'pod' | 'ServiceAccount'
  /** Names in the domain that are valid but not in `here` (left alone). */
  ignore?: (name: string) => boolean
}

/**
 * Warnings for annotation keys in (or one typo away from) `vocabulary.prefix` that the webhook will not
 * read: a lookalike of a known name, a known name on the wrong object, or a mistyped domain
 * (`eks.amazon.com/role-arn`, issue aws/amazon-eks-pod-identity-webhook#200).
 */
export function annotationKeyWarnings(
  keys: Iterable<string>,
  vocabulary: AnnotationVocabulary,
): string[] {
  const out: string[] = []
  const all = [...vocabulary.here, ...vocabulary.elsewhere]
  for (const key of keys) {
    const [domain, name] = splitKey(key)
    if (domain === vocabulary.prefix) {
      if (vocabulary.here.includes(name) || vocabulary.ignore?.(name) === true) continue
      if (vocabulary.elsewhere.includes(name)) {
        out.push(
          `annotation ${quoteKey(key)} is read on the ${vocabulary.other}, not on the ${vocabulary.object}; it has no effect here`,
        )
        continue
      }
      const guess = lookalike(name, all)
      if (guess !== undefined) {
        out.push(
          `unknown annotation ${quoteKey(key)}: did you mean "${vocabulary.prefix}/${guess}"?`,
        )
      }
      continue
    }
    if (domain === '' || domain.length > 80) continue
    if (distance(normalize(domain), normalize(vocabulary.prefix), 3) === Infinity) continue
    const guess = vocabulary.here.includes(name) ? name : lookalike(name, vocabulary.here)
    if (guess !== undefined) {
      out.push(
        `annotation ${quoteKey(key)} is not read (domain "${domain.slice(0, 80)}"): did you mean "${vocabulary.prefix}/${guess}"?`,
      )
    }
  }
  return out
}
