/**
 * @module mutation/parse
 * The Go parsers the reference webhooks apply to annotation values, reproduced exactly: `strconv.ParseInt`
 * (base 10, 64-bit, with its error texts, which the Azure webhook returns to the user), `strconv.ParseBool`
 * and the first record of `encoding/csv` (AWS `skip-containers`).
 */

/** Longest user value quoted back in a message; longer ones are cut (messages stay bounded). */
const MAX_QUOTED = 128

/** Go's `%q`-style quoting, cut to a bounded length. */
export function quoteValue(value: string): string {
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value
  return JSON.stringify(cut)
}

export type ParsedInt = { ok: true; value: bigint } | { ok: false; error: string }

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** `strconv.ParseInt(s, 10, 64)`: optional sign then ASCII digits; errors worded as Go's. */
export function parseGoInt64(text: string): ParsedInt {
  if (!/^[+-]?[0-9]+$/.test(text)) {
    return { ok: false, error: `strconv.ParseInt: parsing ${quoteValue(text)}: invalid syntax` }
  }
  const value = BigInt(text)
  if (value < INT64_MIN || value > INT64_MAX) {
    return { ok: false, error: `strconv.ParseInt: parsing ${quoteValue(text)}: value out of range` }
  }
  return { ok: true, value }
}

/** `strconv.ParseBool`; undefined where Go returns an error. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/**
 * The first record of Go's `encoding/csv` reader with its defaults (comma separator, no space trimming,
 * strict quotes, empty lines skipped). Undefined where Go's `Read()` returns an error (including EOF on
 * empty input), in which case the reference skips no container.
 */
export function goCsvFirstRecord(text: string): string[] | undefined {
  const input = text.replace(/\r\n/g, '\n')
  let i = 0
  // Leading empty lines are skipped.
  while (input[i] === '\n') i++
  if (i >= input.length) return undefined
  const fields: string[] = []
  for (;;) {
    if (input[i] === '"') {
      // Quoted field: "" is a quote; the closing quote must be followed by a comma or the end of the line.
      let field = ''
      i++
      for (;;) {
        if (i >= input.length) return undefined // extraneous or missing " in quoted-field
        const ch = input[i] as string
        if (ch === '"') {
          if (input[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += ch
        i++
      }
      fields.push(field)
      if (i >= input.length || input[i] === '\n') return fields
      if (input[i] !== ',') return undefined
      i++
      continue
    }
    let end = i
    while (end < input.length && input[end] !== ',' && input[end] !== '\n') end++
    const field = input.slice(i, end)
    if (field.includes('"')) return undefined // bare " in non-quoted-field
    fields.push(field)
    if (end >= input.length || input[end] === '\n') return fields
    i = end + 1
  }
}
