/**
 * @module gateway/audit
 * Every gateway decision as a CloudTrail data event ("CloudTrail record contents",
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html;
 * data events for S3 and SQS: `eventCategory: "Data"`, `resources` with ARN, accountId and type). Request
 * parameters are bounded: a few known fields, each value cut to `MAX_VALUE` characters; never a body, a
 * signature or a token.
 */
import type { AuditEvent } from '../audit/types.ts'
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
    ...(input.errorMessage === undefined ? {} : { errorMessage: input.errorMessage.slice(0, 1024) }),
    requestID: input.requestId,
    eventID: input.eventId,
    readOnly: input.readOnly,
    resources: input.resources,
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: input.recipientAccountId,
    eventCategory: 'Data',
    ...(input.additionalEventData === undefined ? {} : { additionalEventData: input.additionalEventData }),
  }
}
