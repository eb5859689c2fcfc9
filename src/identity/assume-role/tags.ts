/**
 * @module identity/assume-role/tags
 * Session tags and transitive tags (IAM User Guide, "Passing session tags in AWS STS":
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html): tag keys are case-insensitive and
 * unique; every transitive key names a requested tag; a chained session inherits the caller's transitive
 * tags and may not set a tag with one of their keys.
 */
import { AssumeRoleError } from './errors.ts'
import type { RoleSessionInfo, SessionTag } from '../types.ts'

export const DUPLICATE_TAG_KEYS_MESSAGE =
  'Duplicate tag keys found. Please note that Tag keys are case insensitive.'
export const TRANSITIVE_NOT_IN_TAGS_MESSAGE =
  'The specified transitive tag key must be included in the requested tags.'
export const TRANSITIVE_CONFLICT_MESSAGE =
  "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."

export function duplicateTagKeys(tags: readonly { key: string }[]): boolean {
  const seen = new Set<string>()
  for (const t of tags) {
    const k = t.key.toLowerCase()
    if (seen.has(k)) return true
    seen.add(k)
  }
  return false
}

/** The tags of `source` whose keys are transitive (what a chained session inherits). */
export function transitiveTagsOf(source: {
  tags: readonly SessionTag[]
  transitiveTagKeys: readonly string[]
}): SessionTag[] {
  const transitive = new Set(source.transitiveTagKeys.map((k) => k.toLowerCase()))
  return source.tags.filter((t) => transitive.has(t.key.toLowerCase()))
}

export interface ResolvedSessionTags {
  /** The tags the request sets. */
  tags: SessionTag[]
  transitiveTagKeys: string[]
  /** Transitive tags inherited from the calling session (role chaining). */
  inherited: SessionTag[]
  /** Inherited then requested: what `aws:RequestTag/*` and `sts:TagSession` see. */
  all: SessionTag[]
  /** Requested transitive keys, then inherited ones: `sts:TransitiveTagKeys`. */
  contextTransitiveKeys: string[]
}

export function resolveSessionTags(input: {
  tags: readonly SessionTag[]
  transitiveTagKeys: readonly string[]
  callerSession?: RoleSessionInfo | undefined
}): ResolvedSessionTags {
  const tags = [...input.tags]
  const transitiveTagKeys = [...input.transitiveTagKeys]
  if (duplicateTagKeys(tags))
    throw new AssumeRoleError('DUPLICATE_TAG_KEYS', DUPLICATE_TAG_KEYS_MESSAGE)
  const requested = new Set(tags.map((t) => t.key.toLowerCase()))
  if (transitiveTagKeys.some((k) => !requested.has(k.toLowerCase())))
    throw new AssumeRoleError('TRANSITIVE_KEY_NOT_IN_TAGS', TRANSITIVE_NOT_IN_TAGS_MESSAGE)
  const inherited = input.callerSession === undefined ? [] : transitiveTagsOf(input.callerSession)
  if (input.callerSession !== undefined) {
    const transitive = new Set(input.callerSession.transitiveTagKeys.map((k) => k.toLowerCase()))
    if (tags.some((t) => transitive.has(t.key.toLowerCase())))
      throw new AssumeRoleError('TRANSITIVE_KEY_CONFLICT', TRANSITIVE_CONFLICT_MESSAGE)
  }
  return {
    tags,
    transitiveTagKeys,
    inherited,
    all: [...inherited, ...tags],
    contextTransitiveKeys: [...transitiveTagKeys, ...inherited.map((t) => t.key)],
  }
}
