/**
 * @module policy/context
 * The request context: condition keys are case-insensitive (IAM User Guide, "Condition element"), so the map is
 * keyed by the lower-cased name once per request. A key given as a one-element list holds one value, and "the
 * difference between single-valued and multivalued context keys depends on the number of values in the request
 * context, not the number of values in the policy condition" (IAM User Guide, "Single-valued vs. multivalued
 * context keys": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html),
 * so it is stored as that one value: operators without a set qualifier and policy variables then see it.
 */
export type ContextValue = string | string[]
export type Context = ReadonlyMap<string, ContextValue>

export function normalizeContext(context: Record<string, ContextValue> | undefined): Context {
  const out = new Map<string, ContextValue>()
  if (context === undefined || context === null || typeof context !== 'object') return out
  for (const key of Object.keys(context)) {
    const value = context[key]
    if (typeof value === 'string') out.set(key.toLowerCase(), value)
    else if (Array.isArray(value)) {
      const values = value.filter((v) => typeof v === 'string')
      out.set(key.toLowerCase(), values.length === 1 ? (values[0] as string) : values)
    } else if (typeof value === 'number' || typeof value === 'boolean')
      out.set(key.toLowerCase(), String(value))
  }
  return out
}
