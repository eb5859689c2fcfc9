/**
 * @module policy/context
 * The request context: condition keys are case-insensitive (IAM User Guide, "Condition element"), so the map is
 * keyed by the lower-cased name once per request.
 */
export type ContextValue = string | string[]
export type Context = ReadonlyMap<string, ContextValue>

export function normalizeContext(context: Record<string, ContextValue> | undefined): Context {
  const out = new Map<string, ContextValue>()
  if (context === undefined || context === null || typeof context !== 'object') return out
  for (const key of Object.keys(context)) {
    const value = context[key]
    if (typeof value === 'string') out.set(key.toLowerCase(), value)
    else if (Array.isArray(value))
      out.set(
        key.toLowerCase(),
        value.filter((v) => typeof v === 'string'),
      )
    else if (typeof value === 'number' || typeof value === 'boolean')
      out.set(key.toLowerCase(), String(value))
  }
  return out
}
