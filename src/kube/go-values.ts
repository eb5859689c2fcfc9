/**
 * @module kube/go-values
 * Flag values written the way the reference webhooks (Go, spf13/pflag) accept them, so their Deployment
 * arguments work unchanged: `strconv.ParseBool` booleans and `time.ParseDuration` durations.
 */

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** Go's `strconv.ParseBool`: undefined when `value` is none of its twelve spellings. */
export function parseGoBool(value: string): boolean | undefined {
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  return undefined
}

/** Milliseconds per unit of Go's `time.ParseDuration`. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/**
 * Go's `time.ParseDuration` (`300ms`, `2s`, `1m30s`, `1.5h`; a bare `0`), in milliseconds; undefined when
 * the text is not a duration. Negative durations are refused here: no flag of the webhook takes one.
 *
 * @example parseGoDuration('1m30s') // 90000
 */
export function parseGoDuration(value: string): number | undefined {
  if (value === '0' || value === '+0') return 0
  let rest = value.startsWith('+') ? value.slice(1) : value
  if (rest === '') return undefined
  let total = 0
  while (rest !== '') {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest)
    if (m === null) return undefined
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN)
    rest = rest.slice(m[0].length)
  }
  return Number.isFinite(total) ? total : undefined
}
