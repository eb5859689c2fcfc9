/**
 * @module kube/manifests
 * Kubernetes manifests from YAML or JSON text: several documents per file, `kind: List` (and `*List`)
 * expanded into their items. Duplicate keys are accepted, last one winning, as Go's sigs.k8s.io/yaml does
 * (the reference fixtures have one). Errors name the file and line.
 */
import { parseAllDocuments } from 'yaml'
import { WebhookError } from './errors.ts'

/** Larger manifest files are refused (a ServiceAccount is well under 1 KiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

export function parseManifests(text: string, file: string): Record<string, unknown>[] {
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
    throw new WebhookError(
      'SOURCE_INVALID',
      `\`${file}\` is larger than ${MAX_MANIFEST_BYTES} bytes`,
    )
  }
  const docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: true })
  const out: Record<string, unknown>[] = []
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const error = doc.errors[0]
    if (error !== undefined) {
      const line = error.linePos?.[0]?.line
      throw new WebhookError(
        'SOURCE_INVALID',
        `\`${file}\`${line === undefined ? '' : ` line ${line}`}: ${error.message.split('\n')[0] ?? ''}`,
      )
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (err) {
      // yaml refuses excessive alias expansion (a "billion laughs" document).
      throw new WebhookError('SOURCE_INVALID', `\`${file}\`: ${(err as Error).message}`)
    }
    if (value === null || value === undefined) continue
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new WebhookError('SOURCE_INVALID', `\`${file}\`: a document is not a Kubernetes object`)
    }
    const obj = value as Record<string, unknown>
    if (
      typeof obj['kind'] === 'string' &&
      obj['kind'].endsWith('List') &&
      Array.isArray(obj['items'])
    ) {
      for (const item of obj['items'] as unknown[]) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          throw new WebhookError('SOURCE_INVALID', `\`${file}\`: a List item is not an object`)
        }
        out.push(item as Record<string, unknown>)
      }
    } else out.push(obj)
  }
  return out
}
