/**
 * Parses kube-apiserver flags with the rules its flag library (spf13/pflag) applies: `--name=value` or
 * `--name value`; a bool flag alone means true and takes a value only after `=`; stringArray flags
 * accumulate one value per occurrence (no comma splitting); stringSlice flags split each value as a CSV
 * record and accumulate; a plain string flag given twice keeps the last value; an unknown flag is an error.
 * Types are those kube-apiserver declares for these flags
 * (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/).
 */
type FlagType = 'string' | 'stringArray' | 'stringSlice' | 'duration' | 'bool'

export const KUBE_APISERVER_FLAG_TYPES: Record<string, FlagType> = {
  'service-account-issuer': 'stringArray',
  'service-account-key-file': 'stringArray',
  'service-account-signing-key-file': 'string',
  'service-account-jwks-uri': 'string',
  'api-audiences': 'stringSlice',
  'service-account-max-token-expiration': 'duration',
  'service-account-extend-token-expiration': 'bool',
}

export const KUBE_CONTROLLER_MANAGER_FLAG_TYPES: Record<string, FlagType> = {
  'service-account-private-key-file': 'string',
}

/** Go's time.ParseDuration for the units kube-apiserver users write (h, m, s), in seconds. */
function parseDuration(v: string): number {
  const re = /(\d+(?:\.\d+)?)(h|m|s)/gy
  let total = 0
  let m: RegExpExecArray | null
  let consumed = 0
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1 }[m[2] as 'h' | 'm' | 's']
    consumed = re.lastIndex
  }
  if (consumed !== v.length || v === '') throw new Error(`invalid duration "${v}"`)
  return total
}

/** CSV split as pflag's stringSlice does (encoding/csv: quotes allowed, commas separate). */
function csv(v: string): string[] {
  if (v === '') return []
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!
    if (quoted) {
      if (c === '"' && v[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') quoted = false
      else cur += c
    } else if (c === '"' && cur === '') quoted = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  if (quoted) throw new Error(`bare quote in "${v}"`)
  out.push(cur)
  return out
}

export type ParsedFlags = Map<string, string[] | string | number | boolean>

export function parsePflags(args: readonly string[], types: Record<string, FlagType>): ParsedFlags {
  const out: ParsedFlags = new Map()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith('--') || arg === '--') throw new Error(`not a long flag: ${arg}`)
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const type = types[name]
    if (type === undefined) throw new Error(`unknown flag: --${name}`)
    let value: string
    if (eq >= 0) value = arg.slice(eq + 1)
    else if (type === 'bool') value = 'true'
    else {
      const next = args[i + 1]
      if (next === undefined) throw new Error(`flag needs an argument: --${name}`)
      value = next
      i++
    }
    switch (type) {
      case 'string':
        out.set(name, value)
        break
      case 'stringArray':
        out.set(name, [...((out.get(name) as string[] | undefined) ?? []), value])
        break
      case 'stringSlice':
        out.set(name, [...((out.get(name) as string[] | undefined) ?? []), ...csv(value)])
        break
      case 'duration':
        out.set(name, parseDuration(value))
        break
      case 'bool':
        if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(value))
          throw new Error(`invalid bool "${value}" for --${name}`)
        out.set(name, /^(1|t|T|TRUE|true|True)$/.test(value))
        break
    }
  }
  return out
}
