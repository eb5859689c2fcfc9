/**
 * @module gateway/audit
 * Every gateway decision as a CloudTrail data event ("CloudTrail record contents",
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html;
 * data events for S3 and SQS: `eventCategory: "Data"`, `resources` with ARN, accountId and type). Request
 * parameters are bounded: a few known fields, each value cut to `MAX_VALUE` characters; never a body, a
 * signature or a token.
 */
import type { AuditEvent, AuditSink } from '../audit/types.ts'
import { redact } from '../audit/redact.ts'

export interface DataEvent extends AuditEvent {
  eventCategory: 'Data'
  resources: { ARN?: string; accountId?: string; type: string }[]
  managementEvent: false
}

const MAX_VALUE = 256
const MAX_FIELDS = 16

export function boundParameters(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let n = 0
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue
    if (++n > MAX_FIELDS) break
    if (typeof v === 'string') out[k] = v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}…` : v
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v
    else out[k] = '[omitted]'
  }
  return redact(out) as Record<string, unknown>
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function dataEvent(input: {
  now: Date
  eventSource: 's3.amazonaws.com' | 'sqs.amazonaws.com'
  eventName: string
  region: string
  sourceIp: string
  userAgent: string
  userIdentity: AuditEvent['userIdentity']
  requestParameters: Record<string, unknown>
  resources: DataEvent['resources']
  requestId: string
  eventId: string
  readOnly: boolean
  recipientAccountId: string
  errorCode?: string
  errorMessage?: string
  additionalEventData?: Record<string, unknown>
}): DataEvent {
  return {
    eventVersion: '1.08',
    eventTime: isoSeconds(input.now),
    eventSource: input.eventSource,
    eventName: input.eventName,
    awsRegion: input.region,
    sourceIPAddress: input.sourceIp,
    userAgent: input.userAgent.slice(0, 512),
    userIdentity: input.userIdentity,
    requestParameters: boundParameters(input.requestParameters),
    responseElements: null,
    ...(input.errorCode === undefined ? {} : { errorCode: input.errorCode }),
    ...(input.errorMessage === undefined
      ? {}
      : { errorMessage: input.errorMessage.slice(0, 1024) }),
    requestID: input.requestId,
    eventID: input.eventId,
    readOnly: input.readOnly,
    resources: input.resources,
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: input.recipientAccountId,
    eventCategory: 'Data',
    ...(input.additionalEventData === undefined
      ? {}
      : { additionalEventData: input.additionalEventData }),
  }
}

export interface DataEventBuffer {
  /** Queues an allowed call's event; it is written with the others of the same window. */
  add(event: DataEvent): void
  /** Writes everything queued; resolves when durable. */
  flush(): Promise<void>
}

/**
 * Allowed calls' data events are written in batches (every `delayMs`, or at `max` events): one commit, one
 * fsync, for many calls, so durability never sits on the data path (measured in bench/gateway: a commit per
 * call cost more than the rest of the gateway together). Denied calls are recorded at once and awaited
 * before the error goes out. CloudTrail itself delivers data events minutes after the call.
 */
export function createDataEventBuffer(
  sink: AuditSink,
  onError: (err: unknown) => void,
  options: { delayMs?: number; max?: number } = {},
): DataEventBuffer {
  const delayMs = options.delayMs ?? 200
  const max = options.max ?? 500
  let queued: DataEvent[] = []
  let timer: NodeJS.Timeout | undefined
  const inFlight = new Set<Promise<void>>()
  const write = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const batch = queued
    queued = []
    // Recorded in one tick: the audit log writes them in one group commit.
    const done = Promise.all(batch.map((e) => sink.record(e)))
      .then(() => undefined)
      .catch(onError)
    inFlight.add(done)
    void done.finally(() => inFlight.delete(done))
    return done
  }
  return {
    add(event) {
      queued.push(event)
      if (queued.length >= max) void write()
      else if (timer === undefined) {
        timer = setTimeout(() => void write(), delayMs)
        timer.unref()
      }
    },
    async flush() {
      if (queued.length > 0) void write()
      await Promise.all([...inFlight])
    },
  }
}
