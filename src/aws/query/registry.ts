/**
 * @module aws/query/registry
 * The awsQuery services' shape and their lookup table: STS and IAM (and any later query service) export a
 * `QueryService`; the composition root hands the list to `createAwsQueryModule`, which builds one table per
 * app instance; the dispatcher (`dispatch.ts`) routes each request by SigV4 service name + `Action`. Handlers throw `AwsError`
 * and return a plain object tree rendered as `<ActionResponse><ActionResult>…`.
 *
 * The dispatcher authenticates (SigV4) every action not listed in `unsignedActions` and records one audit
 * event per request (success or error) with secrets redacted, so handlers do not record their own events;
 * they may add detail through `request.audit`.
 */
import type { AppContext } from '../../app/context.ts'
import type { RequestFacts } from '../../identity/context.ts'
import type { Caller } from '../../identity/types.ts'
import type { XmlValue } from '../xml.ts'
import { AwsError, constraintProblem, validationError } from '../errors.ts'

export interface QueryRequest {
  action: string
  version: string | undefined
  /** The decoded form (body and query string merged; body wins). */
  params: Record<string, string>
  /** The authenticated caller; undefined only for unsigned actions. */
  caller: Caller | undefined
  requestId: string
  /**
   * The request facts every authorization's context starts from: the peer's source IP, TLS
   * (`aws:SecureTransport`), the User-Agent and the Region (the SigV4 credential scope's once
   * authenticated and validated, else the server's). Spread them into the request-context builder's input.
   */
  facts: RequestFacts
  /** The SigV4 signing name the request was dispatched by. */
  service: string
  /** What the handler wants in its audit event (merged into the dispatcher's event). */
  audit: {
    userIdentity?: Record<string, unknown>
    additionalEventData?: Record<string, unknown>
    /** Overrides the redacted echo of the response in `responseElements`. */
    responseElements?: Record<string, unknown> | null
    recipientAccountId?: string
  }
}

export type QueryResult = { [name: string]: XmlValue } | undefined

export type QueryHandler = (request: QueryRequest, ctx: AppContext) => Promise<QueryResult>

export interface QueryService {
  /** SigV4 signing name: 'sts' | 'iam'. */
  signingName: string
  /** API version (`2011-06-15`), also used to route unsigned requests. */
  version: string
  xmlns: string
  actions: Record<string, QueryHandler>
  /** Actions AWS accepts without a signature (STS: AssumeRoleWithWebIdentity, AssumeRoleWithSAML). */
  unsignedActions?: string[]
  /** CloudTrail eventSource; default `<signingName>.amazonaws.com`. */
  eventSource?: string
  /**
   * A global service (IAM): requests are signed for `us-east-1` (or the server's own region), whatever Region
   * the client is in. https://docs.aws.amazon.com/general/latest/gr/sigv4_elements.html
   */
  globalService?: boolean
  /** Read-only actions (audit `readOnly`); default: names starting with Get/List/Describe/Decode. */
  readOnlyActions?: string[]
}

/** The services of one app instance, by signing name. */
export interface QueryServiceTable {
  get(signingName: string): QueryService | undefined
  /** For unsigned requests: the service by `Version`, else the one that accepts `action` unsigned. */
  forUnsigned(action: string, version: string | undefined): QueryService | undefined
}

/**
 * Builds the lookup table. Two services with one signing name merge their actions (two modules may
 * contribute to one service).
 */
export function createQueryServiceTable(list: readonly QueryService[]): QueryServiceTable {
  const services = new Map<string, QueryService>()
  for (const service of list) {
    const existing = services.get(service.signingName)
    services.set(
      service.signingName,
      existing === undefined || existing === service
        ? service
        : {
            ...existing,
            ...service,
            actions: { ...existing.actions, ...service.actions },
            unsignedActions: [
              ...(existing.unsignedActions ?? []),
              ...(service.unsignedActions ?? []),
            ],
          },
    )
  }
  const all = [...services.values()]
  return {
    get: (signingName) => services.get(signingName),
    forUnsigned(action, version) {
      if (version !== undefined) {
        const byVersion = all.find((s) => s.version === version)
        if (byVersion !== undefined) return byVersion
      }
      return (
        all.find((s) => s.unsignedActions?.includes(action)) ?? all.find((s) => action in s.actions)
      )
    },
  }
}

// ---- parameter helpers ----------------------------------------------------------------------------------

/** An optional scalar parameter. */
export function param(request: QueryRequest, name: string): string | undefined {
  return request.params[name]
}

/** A required scalar: absent → `ValidationError … Value null at '<member>' failed to satisfy constraint: Member must not be null`. */
export function requiredParam(request: QueryRequest, name: string): string {
  const value = request.params[name]
  if (value === undefined)
    throw validationError([constraintProblem(null, lowerFirst(name), 'not be null')])
  return value
}

export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

/**
 * `Name.member.1=a&Name.member.2=b` → `['a','b']`; `Name=` (botocore's empty list) → `[]`; absent → undefined.
 * Members are ordered by index; gaps are ignored.
 */
export function memberList(params: Record<string, string>, name: string): string[] | undefined {
  const prefix = `${name}.member.`
  const found: [number, string][] = []
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith(prefix)) continue
    const rest = key.slice(prefix.length)
    if (!/^\d+$/.test(rest)) continue
    found.push([Number(rest), value])
  }
  if (found.length === 0) return params[name] === undefined ? undefined : []
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
}

/** `Name.member.N.Field=…` → `[{Field: …}]` ordered by N; `Name=` → `[]`; absent → undefined. */
export function structList(
  params: Record<string, string>,
  name: string,
): Record<string, string>[] | undefined {
  const prefix = `${name}.member.`
  const byIndex = new Map<number, Record<string, string>>()
  for (const [key, value] of Object.entries(params)) {
    if (!key.startsWith(prefix)) continue
    const match = /^(\d+)\.(.+)$/.exec(key.slice(prefix.length))
    if (match === null) continue
    const index = Number(match[1])
    const entry = byIndex.get(index) ?? {}
    entry[match[2] as string] = value
    byIndex.set(index, entry)
  }
  if (byIndex.size === 0) return params[name] === undefined ? undefined : []
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v)
}

/** `Tags.member.N.Key/Value` → `[{key, value}]` (a missing Value is the empty string). */
export function tagList(
  params: Record<string, string>,
  name = 'Tags',
): { key: string; value: string }[] | undefined {
  const list = structList(params, name)
  if (list === undefined) return undefined
  return list.map((entry) => {
    if (entry['Key'] === undefined)
      throw new AwsError(
        'MissingParameter',
        `The request must contain the parameter ${name}.member.Key`,
      )
    return { key: entry['Key'], value: entry['Value'] ?? '' }
  })
}
